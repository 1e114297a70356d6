"""Execute the curriculum headless with papermill and write build/report.json and build/report.html.

    python -m helpers.course.run                 # every notebook, full mode, one at a time
    python -m helpers.course.run --quick -j 2    # quick mode, two notebooks at once (one thread each)
    python -m helpers.course.run --quick notebooks/01_backpropagation_by_hand.ipynb
    python -m helpers.course.run --quick --avx2  # as an AVX2-only CPU: NumPy, PyTorch, oneDNN take their AVX2 kernels

The terminal gets one line per notebook and, while they run, the running notebooks' cell n of N, time
so far and the previous run's time (one line, rewritten; a line a minute when output is not a terminal);
what the kernel and papermill print (TensorFlow's C++ log,
ipykernel's warnings, tracebacks) goes to build/logs[-quick]/NN_name.log, linked from the report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..device import avx2_env, cpu_kind, set_threads
from ..record import read_results
from .report import write_report

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


@contextmanager
def output_to(log: Path):
    """Within the block, send fds 1 and 2 (which the kernel inherits) and papermill's log to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pm_logger = logging.getLogger("papermill")
    level = pm_logger.level
    with open(log, "w", buffering=1, encoding="utf-8") as f:
        saved = os.dup(1), os.dup(2)
        handler = logging.StreamHandler(f)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        pm_logger.addHandler(handler)
        pm_logger.setLevel(logging.INFO)
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield f
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
            pm_logger.removeHandler(handler)
            pm_logger.setLevel(level)


def list_notebooks(patterns=None) -> list[Path]:
    """The curriculum's notebooks (notebooks/NN_*.ipynb) in order, or those given."""
    if patterns:
        return [Path(p).resolve() for p in patterns]
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@contextmanager
def environment(env: dict | None):
    """Within the block, os.environ has `env` added (the kernel inherits it); restored afterwards."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def machine_line() -> str:
    """The machine a run happened on, as the report and the website name it."""
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"


def execute(nb: Path, out_dir: Path, quick: bool, threads: int | None, timeout: int | None,
            extra_params: dict | None = None, log_dir: Path | None = None, env: dict | None = None,
            cwd: Path | None = None) -> dict:
    """Run one notebook with papermill (in `cwd`, default its folder; its kernel with `env` added) and return its
    report row (never raises on notebook errors)."""
    if threads:
        set_threads(threads)  # env vars, inherited by the kernel before it imports any framework
    out = out_dir / nb.name
    params = dict(extra_params or {})
    if quick:
        params["QUICK"] = True  # the one way QUICK enters a notebook: its papermill parameter
    log = (log_dir or out_dir) / f"{nb.stem}.log"
    row = {"notebook": nb.stem, "output": str(out), "log": str(log), "status": "ok", "error": None}
    t0 = time.perf_counter()
    with output_to(log) as log_file, environment(env):
        try:
            import papermill as pm
            pm.execute_notebook(str(nb), str(out), parameters=params, kernel_name="python3",
                                progress_bar=False, cwd=str(cwd or nb.parent), execution_timeout=timeout,
                                log_output=False)
        except Exception as e:  # PapermillExecutionError and kernel deaths alike
            row["status"] = "failed"
            ename = getattr(e, "ename", type(e).__name__)
            evalue = getattr(e, "evalue", str(e))
            row["error"] = f"{ename}: {evalue}"[:2000]
            log_file.write(f"\n{type(e).__name__}: {e}\n")  # the whole traceback, for the report's link
    row["duration_s"] = round(time.perf_counter() - t0, 1)
    try:
        row["results"] = read_results(out)
    except (OSError, ValueError):
        row["results"] = {}
    row["device"] = row["results"].get("device", "unknown")
    return row


def _worker(args):
    """execute(*args) in a worker process."""
    return execute(*args)


def run_tasks(worker, tasks: list, jobs: int, show) -> None:
    """worker(task) for every task, `jobs` at a time in spawned processes (here when 1); show(row) as each ends."""
    if jobs == 1:
        for t in tasks:
            show(worker(t))
        return
    with mp.get_context("spawn").Pool(jobs) as pool:
        for row in pool.imap_unordered(worker, tasks):
            show(row)


def cell_progress(out: Path) -> tuple[int, int] | None:
    """(code cells finished or running, code cells) of a notebook papermill is writing (it saves at each cell)."""
    try:
        cells = [c for c in json.loads(out.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    except (OSError, ValueError, KeyError):
        return None                                      # not there yet, or caught mid-write
    status = [c.get("metadata", {}).get("papermill", {}).get("status") for c in cells]
    return sum(s in ("running", "completed") for s in status), len(cells)


def clock(seconds: float) -> str:
    """m:ss"""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


class Progress(threading.Thread):
    """The notebooks running now, cell n of N, time so far and the previous run's time: one line, kept fresh."""

    def __init__(self, out_dir: Path, nbs: list[Path], previous: dict, stream, tty: bool):
        """Watch the output notebooks of this run (written after `started`) in out_dir."""
        super().__init__(daemon=True)
        self.out_dir, self.nbs, self.previous, self.stream, self.tty = out_dir, nbs, previous, stream, tty
        self.started, self.seen, self.last, self.done = time.time(), {}, {}, set()
        self.stop = threading.Event()

    def line(self) -> str:
        """'05_cnns_on_cifar10 cell 34/120 4:12 (last run 15:20)' for each running notebook."""
        parts = []
        for nb in self.nbs:
            out = self.out_dir / nb.name
            if nb.stem in self.done or not out.exists() or out.stat().st_mtime < self.started:
                continue
            cells = cell_progress(out) or self.last.get(nb.stem)   # caught mid-write: the last count
            self.last[nb.stem] = cells
            since = time.time() - self.seen.setdefault(nb.stem, time.time())
            last = f" (last run {clock(self.previous[nb.stem])})" if nb.stem in self.previous else ""
            where = f"cell {cells[0]}/{cells[1]}" if cells else "starting"
            parts.append(f"{nb.stem} {where} {clock(since)}{last}")
        return " | ".join(parts)

    def run(self):
        """Every second on a terminal (one line, rewritten); every minute in a log."""
        printed = time.time()
        while not self.stop.wait(1.0):
            text = self.line()                           # (watched every second: start times stay right)
            if text and (self.tty or time.time() - printed >= 60):
                self.stream.write(f"\r\033[K{text[:200]}" if self.tty else f"  ... {text}\n")
                self.stream.flush()
                printed = time.time()

    def finished(self, stem: str):
        """A notebook ended: clear the line (its result line follows)."""
        self.done.add(stem)
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def previous_times(build: Path, mode: str) -> dict:
    """{notebook: seconds} of the last run in this mode (build/report.json), for the estimate."""
    try:
        data = json.loads((build / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("meta", {}).get("mode") != mode:
        return {}
    return {r["notebook"]: r["duration_s"] for r in data.get("notebooks", []) if r.get("duration_s")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.course.run", description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", help="notebooks to run (default: all, in order)")
    p.add_argument("--quick", action="store_true", help="QUICK=True: small sizes, as the tests run them")
    p.add_argument("-j", "--jobs", type=int, default=1, help="notebooks at once; each worker gets 1 thread")
    p.add_argument("--build", type=Path, default=ROOT / "build", help="output folder (default build/)")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    p.add_argument("--avx2", action="store_true",
                   help="run the kernels as an AVX2-only CPU would (NumPy, PyTorch and oneDNN switches)")
    a = p.parse_args(argv)
    nbs = list_notebooks(a.notebooks)
    if not nbs:
        print("no notebooks found", file=sys.stderr)
        return 2
    out_dir = a.build / ("executed-quick" if a.quick else "executed")
    log_dir = a.build / ("logs-quick" if a.quick else "logs")
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(a.jobs, len(nbs)))
    threads = 1 if jobs > 1 else None
    mode = "quick" if a.quick else "full"
    print(f"running {len(nbs)} notebook(s), {mode} mode, {jobs} at a time -> {out_dir}"
          f" (kernel output in {log_dir})", flush=True)
    t0 = time.perf_counter()
    env = avx2_env() if a.avx2 else None
    if a.avx2:
        print(f"as an AVX2-only CPU: {env or 'this CPU is one already'}", flush=True)
    tasks = [(nb, out_dir, a.quick, threads, a.timeout, None, log_dir, env) for nb in nbs]
    rows = []
    terminal = os.fdopen(os.dup(1), "w", buffering=1)  # the kernel's output goes to the logs, not here
    progress = Progress(out_dir, nbs, previous_times(a.build, mode), terminal, terminal.isatty())
    progress.start()

    def show(row):
        progress.finished(row["notebook"])
        rows.append(row)
        mark = "ok  " if row["status"] == "ok" else "FAIL"
        failure = f"  {row['error'][:300]}  (log: {row['log']})" if row["error"] else ""
        print(f"[{len(rows)}/{len(nbs)}] {mark} {row['notebook']:<40} {row['duration_s']:>7.1f} s{failure}",
              flush=True)

    run_tasks(_worker, tasks, jobs, show)
    progress.stop.set()
    order = {nb.stem: i for i, nb in enumerate(nbs)}
    rows.sort(key=lambda r: order[r["notebook"]])
    passed = sum(r["status"] == "ok" for r in rows)
    meta = {"finished": dt.datetime.now().isoformat(timespec="seconds"), "mode": mode, "jobs": jobs,
            "total": len(rows), "passed": passed, "wall_s": round(time.perf_counter() - t0, 1),
            "machine": machine_line(),
            "cpu_kind": cpu_kind() + (" (run with the AVX2 switches)" if a.avx2 else "")}
    js, ht = write_report(rows, meta, a.build)
    print(f"{passed}/{len(rows)} notebooks passed in {meta['wall_s']} s; report: {ht} and {js}")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
