"""The seed sweep: every notebook's quick mode for several seeds, each run checked as the suite checks it.

    python -m helpers.course.seeds                        # seeds 0-4, every notebook, 2 at a time
    python -m helpers.course.seeds --seeds 1 2 --avx2     # as an AVX2-only CPU (NumPy, PyTorch, oneDNN)
    python -m helpers.course.seeds --seeds 3 notebooks/10_case_visual_quality_inspection.ipynb

A quick-mode assert must hold for any seed, not only for the one the suite runs: a margin that one
lucky run meets is a bug. Each run passes `SEED` as a papermill parameter, then must end without an
error (the notebook's own asserts) and pass its expectations (tests/expect/nbNN.py). The table that
ends the sweep has a row per notebook and a column per seed: ok, or the assert that failed. It is also
written to build/seeds[-avx2]/seeds.json; the executed notebooks and kernel logs lie beside it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
import traceback
from pathlib import Path

from ..device import avx2_env
from .run import execute, list_notebooks, run_tasks

ROOT = Path(__file__).resolve().parents[2]
EXPECT_DIR = ROOT / "tests" / "expect"
SEEDS = (0, 1, 2, 3, 4)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ARROW = re.compile(r"^\s*-+>\s*\d+\s(.*)$")


def load_expectations(folder: Path = EXPECT_DIR) -> dict:
    """{notebook stem: check(results)} from the suite's tests/expect/nb*.py."""
    checks = {}
    for f in sorted(folder.glob("nb*.py")):
        spec = importlib.util.spec_from_file_location(f"expect_{f.stem}", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        checks[mod.NOTEBOOK] = mod.check
    return checks


def failing_line(executed: Path) -> str:
    """The source line a failed notebook stopped at (IPython's '---> N' line in its error output)."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                lines = [ANSI.sub("", ln) for tb in out.get("traceback", []) for ln in tb.splitlines()]
                arrows = [m.group(1).strip() for m in map(ARROW.match, lines) if m]
                return arrows[-1] if arrows else ""
    return ""


def check_expectations(check, results: dict) -> str | None:
    """None when check(results) passes, else the failing assert's line and message."""
    try:
        check(results)
    except Exception as e:      # an AssertionError, or a KeyError for a result not recorded
        frame = traceback.extract_tb(e.__traceback__)[-1]
        return f"tests/expect line {frame.lineno}: {frame.line} {type(e).__name__}: {e}".strip()
    return None


def verdict(row: dict, checks: dict) -> str:
    """'ok', or what failed: the notebook's own assert (with its line) or its expectations."""
    if row["status"] != "ok":
        line = failing_line(Path(row["output"]))
        return f"notebook: {line}  [{row['error'][:200]}]" if line else f"notebook: {row['error'][:300]}"
    check = checks.get(row["notebook"])
    if check is None:
        return f"no tests/expect file names {row['notebook']}"
    return check_expectations(check, row["results"]) or "ok"


def _run(args):
    """One (notebook, seed) run in a worker: its report row with the seed."""
    nb, seed, out, threads, timeout, env = args
    folder = out / f"seed-{seed}"
    row = execute(nb, folder, quick=True, threads=threads, timeout=timeout, extra_params={"SEED": seed},
                  log_dir=folder, env=env)
    row["seed"] = seed                          # execute() has read the recorded results already
    return row


def table(verdicts: dict, notebooks: list[str], seeds: list[int]) -> str:
    """Notebook x seed: ok or FAIL, then each failure's text below."""
    lines = [f"{'notebook':<40}" + "".join(f"{'seed ' + str(s):>9}" for s in seeds)]
    for nb in notebooks:
        cells = ["ok" if verdicts.get((nb, s)) == "ok" else "FAIL" if (nb, s) in verdicts else "-" for s in seeds]
        lines.append(f"{nb:<40}" + "".join(f"{c:>9}" for c in cells))
    failures = [(nb, s, v) for (nb, s), v in sorted(verdicts.items()) if v != "ok"]
    for nb, s, v in failures:
        lines.append(f"\n{nb} seed {s}: {v}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.course.seeds", description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", help="notebooks to sweep (default: all, in order)")
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds (default 0 1 2 3 4)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="runs at once; each worker gets 1 thread")
    p.add_argument("--avx2", action="store_true", help="run as an AVX2-only CPU (helpers.device.AVX2_ENV)")
    p.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    p.add_argument("--build", type=Path, default=ROOT / "build", help="output folder (default build/)")
    p.add_argument("--expect", type=Path, default=EXPECT_DIR, help="folder of nbNN.py expectations (tests/expect)")
    a = p.parse_args(argv)
    nbs = list_notebooks(a.notebooks)
    env = avx2_env() if a.avx2 else None
    out = a.build / ("seeds-avx2" if a.avx2 else "seeds")
    jobs = max(1, min(a.jobs, len(nbs) * len(a.seeds)))
    threads = 1 if jobs > 1 else None
    checks = load_expectations(a.expect)
    kind = f"as an AVX2-only CPU ({env or 'this CPU is one already'})" if a.avx2 else "on this CPU's own kernels"
    print(f"seed sweep: {len(nbs)} notebook(s) x seeds {a.seeds}, quick mode, {kind}, {jobs} at a time -> {out}",
          flush=True)
    tasks = [(nb, s, out, threads, a.timeout, env) for s in a.seeds for nb in nbs]
    verdicts, t0 = {}, time.perf_counter()

    def show(row):
        v = verdict(row, checks)
        verdicts[(row["notebook"], row["seed"])] = v
        mark = "ok  " if v == "ok" else "FAIL"
        print(f"[{len(verdicts)}/{len(tasks)}] {mark} seed {row['seed']} {row['notebook']:<40} "
              f"{row['duration_s']:>6.1f} s" + ("" if v == "ok" else f"  {v[:300]}  (log: {row['log']})"),
              flush=True)

    run_tasks(_run, tasks, jobs, show)
    names = [nb.stem for nb in nbs]
    text = table(verdicts, names, a.seeds)
    failed = sum(v != "ok" for v in verdicts.values())
    wall = round(time.perf_counter() - t0, 1)
    print(f"\n{text}\n\n{len(verdicts) - failed}/{len(verdicts)} runs passed in {wall} s ({kind})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(json.dumps(
        {"seeds": a.seeds, "avx2": a.avx2, "wall_s": wall,
         "runs": [{"notebook": nb, "seed": s, "verdict": v} for (nb, s), v in sorted(verdicts.items())]},
        indent=1), encoding="utf-8")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
