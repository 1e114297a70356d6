"""Suite-time benchmark: each notebook's quick-run time, run one at a time and N at a time.

    python bench/suite_time.py            # -j 1 and -j <cores>
    python bench/suite_time.py --jobs 2   # only -j 2

Prints a table and writes build/bench/suite_time.json. Numbers, not tests.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(jobs: int) -> dict:
    build = ROOT / "build" / "bench" / f"suite-j{jobs}"
    t0 = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "helpers.run", "--quick", "-j", str(jobs),
                            "--build", str(build)], cwd=ROOT)
    wall = time.perf_counter() - t0
    rows = json.loads((build / "report.json").read_text())["notebooks"]
    return {"jobs": jobs, "exit": code, "wall_s": round(wall, 1),
            "notebooks": {r["notebook"]: r["duration_s"] for r in rows}}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, nargs="*", default=None)
    a = p.parse_args()
    jobs = a.jobs or sorted({1, os.cpu_count() or 1})
    runs = [run(j) for j in jobs]
    names = list(runs[0]["notebooks"])
    print(f"\n{'notebook':<40}" + "".join(f"{'-j ' + str(r['jobs']):>10}" for r in runs))
    for n in names:
        print(f"{n:<40}" + "".join(f"{r['notebooks'].get(n, float('nan')):>10.1f}" for r in runs))
    print(f"{'wall clock (s)':<40}" + "".join(f"{r['wall_s']:>10.1f}" for r in runs))
    out = ROOT / "build" / "bench" / "suite_time.json"
    out.write_text(json.dumps({"cpus": os.cpu_count(), "runs": runs}, indent=2))
    print(f"written {out}")
    return max(r["exit"] for r in runs)


if __name__ == "__main__":
    sys.exit(main())
