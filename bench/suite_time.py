"""Suite-time benchmark: the quick run of every notebook (helpers.course.run) and the notebook tests (pytest).

    python bench/suite_time.py                 # helpers.course.run --quick at -j 1 and -j <cores>
    python bench/suite_time.py --jobs 2        # only -j 2
    python bench/suite_time.py --tests -j 2    # also pytest -n 2 --dist loadgroup tests/test_notebooks.py
    python bench/suite_time.py -j 2 --avx2     # the notebooks as an AVX2-only CPU (helpers.course.run --avx2)

Prints a table and writes build/bench/suite_time.json. Numbers, not tests.
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(jobs: int, avx2: bool = False) -> dict:
    """Time `helpers.course.run --quick -j jobs` and return its wall clock and each notebook's duration."""
    build = ROOT / "build" / "bench" / f"suite-j{jobs}{'-avx2' if avx2 else ''}"
    t0 = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "helpers.course.run", "--quick", "-j", str(jobs),
                            "--build", str(build)] + (["--avx2"] if avx2 else []), cwd=ROOT)
    wall = time.perf_counter() - t0
    rows = json.loads((build / "report.json").read_text())["notebooks"]
    return {"jobs": jobs, "exit": code, "wall_s": round(wall, 1),
            "notebooks": {r["notebook"]: r["duration_s"] for r in rows}}


def run_tests(jobs: int) -> dict:
    """Time the notebook tests as `make test` runs them (each notebook executed once), on `jobs` workers."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_notebooks.py"]
    if jobs > 1:
        cmd += ["-n", str(jobs), "--dist", "loadgroup"]
    t0 = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT)
    return {"jobs": jobs, "exit": code, "wall_s": round(time.perf_counter() - t0, 1)}


def main():
    """Run the requested timings, print the table, write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-j", "--jobs", type=int, nargs="*", default=None)
    p.add_argument("--tests", action="store_true", help="also time tests/test_notebooks.py under pytest")
    p.add_argument("--avx2", action="store_true", help="run the notebooks as an AVX2-only CPU")
    a = p.parse_args()
    jobs = a.jobs or sorted({1, os.cpu_count() or 1})
    runs = [run(j, a.avx2) for j in jobs]
    names = list(runs[0]["notebooks"])
    print(f"\n{'notebook':<40}" + "".join(f"{'-j ' + str(r['jobs']):>10}" for r in runs))
    for n in names:
        print(f"{n:<40}" + "".join(f"{r['notebooks'].get(n, float('nan')):>10.1f}" for r in runs))
    print(f"{'wall clock (s)':<40}" + "".join(f"{r['wall_s']:>10.1f}" for r in runs))
    tests = [run_tests(j) for j in jobs] if a.tests else []
    if tests:
        print(f"{'pytest tests/test_notebooks.py (s)':<40}" + "".join(f"{t['wall_s']:>10.1f}" for t in tests))
    out = ROOT / "build" / "bench" / "suite_time.json"
    hd = importlib.import_module("helpers.device")       # framework-free (helpers.device is also a function)
    kind = "x86-avx2 (switched)" if a.avx2 and hd.avx2_env() else hd.cpu_kind()
    print(f"CPU kind: {kind}, {os.cpu_count()} cores")
    out.write_text(json.dumps({"cpus": os.cpu_count(), "cpu_kind": kind, "runs": runs, "tests": tests}, indent=2))
    print(f"written {out}")
    return max(r["exit"] for r in runs + tests)


if __name__ == "__main__":
    sys.exit(main())
