"""The main job: papermill execution, report files, carrying on past a failure, exit status, quiet output."""
import json
import re
from pathlib import Path

from notebook_util import write_notebook as _nb

from helpers.course import run

# Written by the kernel straight to its file descriptor 2, as TensorFlow's C++ logging is.
NOISE = "import os\nos.write(2, b'FD2-NOISE from the kernel\\n')"


def _assert_quiet(captured):
    """Only the runner's own lines reach the terminal: no kernel or TensorFlow chatter."""
    for noise in ("FD2-NOISE", "without encryption", "oneDNN", "cuInit", "Passed unknown parameter"):
        assert noise not in captured.out + captured.err, f"{noise!r} reached the terminal"
    assert captured.err == ""


def test_run_reports_and_carries_on_past_failure(tmp_path, capfd):
    bad = _nb(tmp_path / "01_bad.ipynb", NOISE, "raise ValueError('boom at cell 2')")
    good = _nb(tmp_path / "02_good.ipynb", NOISE,
               "import os\nfrom helpers import record\nrecord('quick', QUICK)\n"
               "record('threads', os.environ.get('OMP_NUM_THREADS'))\nrecord('device', 'cpu')")
    build = tmp_path / "build"
    code = run.main([str(bad), str(good), "--quick", "-j", "2", "--build", str(build)])
    assert code == 1, "a failing notebook must make the job exit non-zero"
    report = json.loads((build / "report.json").read_text())
    rows = {r["notebook"]: r for r in report["notebooks"]}
    assert [r["notebook"] for r in report["notebooks"]] == ["01_bad", "02_good"], "report keeps course order"
    assert rows["01_bad"]["status"] == "failed" and "boom at cell 2" in rows["01_bad"]["error"]
    assert rows["02_good"]["status"] == "ok"
    assert rows["02_good"]["results"] == {"quick": True, "threads": "1", "device": "cpu"}
    assert rows["02_good"]["device"] == "cpu" and rows["02_good"]["duration_s"] > 0
    assert report["meta"]["passed"] == 1 and report["meta"]["total"] == 2
    html = (build / "report.html").read_text()
    assert "02_good" in html and "boom at cell 2" in html
    assert (build / "executed-quick" / "02_good.ipynb").exists()
    for name in ("01_bad", "02_good"):
        log = build / "logs-quick" / f"{name}.log"
        assert rows[name]["log"] == str(log), "report.json names each notebook's log"
        assert "FD2-NOISE from the kernel" in log.read_text(), "the kernel's stderr goes to its log"
        assert f"href='logs-quick/{name}.log'" in html, "report.html links each log"
    assert "boom at cell 2" in (build / "logs-quick" / "01_bad.log").read_text()
    captured = capfd.readouterr()
    _assert_quiet(captured)
    lines = captured.out.splitlines()
    assert len(lines) == 4, f"header, one line per notebook, footer; got {lines}"
    assert lines[0].startswith("running 2 notebook(s), quick mode, 2 at a time")
    progress = sorted(lines[1:3], key=lambda line: "02_good" in line)
    assert re.match(r"\[[12]/2\] FAIL 01_bad +\d+\.\d s  ValueError: boom at cell 2", progress[0])
    assert progress[0].endswith(f"(log: {build / 'logs-quick' / '01_bad.log'})")
    assert re.match(r"\[[12]/2\] ok   02_good +\d+\.\d s$", progress[1])
    assert lines[3].startswith("1/2 notebooks passed in ")


def test_run_all_ok_exits_zero_quietly(tmp_path, capfd):
    good = _nb(tmp_path / "03_ok.ipynb", NOISE, "from helpers import record\nrecord('x', 1)")
    assert run.main([str(good), "--build", str(tmp_path / "b")]) == 0
    rows = json.loads((tmp_path / "b" / "report.json").read_text())["notebooks"]
    assert rows[0]["results"] == {"x": 1} and rows[0]["status"] == "ok"
    assert "FD2-NOISE from the kernel" in (tmp_path / "b" / "logs" / "03_ok.log").read_text()
    captured = capfd.readouterr()
    _assert_quiet(captured)
    assert re.search(r"^\[1/1\] ok   03_ok +\d+\.\d s$", captured.out, re.M)
    print("after the run")  # the terminal is ours again once the run is over
    assert capfd.readouterr().out == "after the run\n"


def test_list_notebooks_in_course_order():
    names = [p.name for p in run.list_notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")


def test_execute_gives_the_kernel_an_environment_and_restores_ours(tmp_path, monkeypatch):
    monkeypatch.delenv("DLC_PROBE", raising=False)
    monkeypatch.setenv("DLC_PROBE_KEPT", "ours")
    nb = _nb(tmp_path / "04_env.ipynb", "import os\nfrom helpers import record\n"
             "record('probe', os.environ.get('DLC_PROBE'))\nrecord('kept', os.environ.get('DLC_PROBE_KEPT'))")
    row = run.execute(nb, tmp_path / "out", quick=True, threads=None, timeout=120,
                      env={"DLC_PROBE": "avx2", "DLC_PROBE_KEPT": "theirs"})
    assert row["status"] == "ok" and row["results"] == {"probe": "avx2", "kept": "theirs"}
    import os
    assert "DLC_PROBE" not in os.environ and os.environ["DLC_PROBE_KEPT"] == "ours"


def test_progress_shows_cell_n_of_n_and_the_last_runs_time(tmp_path):
    import io
    import json as _json

    from helpers.course.run import Progress, cell_progress, previous_times
    cells = [{"cell_type": "code", "metadata": {"papermill": {"status": s}}, "source": "", "outputs": []}
             for s in ("completed", "running", "pending")] + [{"cell_type": "markdown", "metadata": {}, "source": ""}]
    out = tmp_path / "05_x.ipynb"
    out.write_text(_json.dumps({"cells": cells}))
    assert cell_progress(out) == (2, 3)
    (tmp_path / "report.json").write_text(_json.dumps({"meta": {"mode": "full"},
                                                       "notebooks": [{"notebook": "05_x", "duration_s": 65.0}]}))
    previous = previous_times(tmp_path, "full")
    assert previous == {"05_x": 65.0} and previous_times(tmp_path, "quick") == {}
    p = Progress(tmp_path, [Path("05_x.ipynb"), Path("06_y.ipynb")], previous, io.StringIO(), tty=False)
    p.started -= 10                                      # the output was written after the run started
    line = p.line()
    assert "05_x cell 2/3" in line and "(last run 1:05)" in line and "06_y" not in line
    p.finished("05_x")
    assert p.line() == ""
