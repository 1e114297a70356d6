"""The main job: papermill execution, report files, carrying on past a failure, exit status."""
import json

import nbformat

from helpers import run


def _nb(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_code_cell("QUICK = False\nSEED = 0\nDEVICE = 'auto'")]
    cells[0].metadata["tags"] = ["parameters"]
    nb.cells = cells + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_run_reports_and_carries_on_past_failure(tmp_path, capsys):
    bad = _nb(tmp_path / "01_bad.ipynb", "raise ValueError('boom at cell 2')")
    good = _nb(tmp_path / "02_good.ipynb",
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
    out = capsys.readouterr().out
    assert "FAIL" in out and "1/2 notebooks passed" in out


def test_run_all_ok_exits_zero(tmp_path):
    good = _nb(tmp_path / "03_ok.ipynb", "from helpers import record\nrecord('x', 1)")
    assert run.main([str(good), "--build", str(tmp_path / "b")]) == 0
    rows = json.loads((tmp_path / "b" / "report.json").read_text())["notebooks"]
    assert rows[0]["results"] == {"x": 1} and rows[0]["status"] == "ok"


def test_list_notebooks_in_course_order():
    names = [p.name for p in run.list_notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")
