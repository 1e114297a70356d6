"""The seed sweep: each (notebook, seed) run checked by the notebook's own asserts and its expectations,
a table of notebook x seed naming each failing assert, a non-zero exit when any run fails."""
import json

from notebook_util import write_notebook as _nb

from helpers.course import seeds


def test_sweep_names_each_failing_assert(tmp_path, capsys):
    lucky = _nb(tmp_path / "01_lucky.ipynb", "from helpers import record\nrecord('quick', QUICK)\nrecord('seed', SEED)",
                "assert SEED != 2, 'a margin only seed 2 misses'")
    fine = _nb(tmp_path / "02_fine.ipynb", "from helpers import record\nrecord('quick', QUICK)\nrecord('seed', SEED)")
    expect = tmp_path / "expect"
    expect.mkdir()
    (expect / "nb01.py").write_text("NOTEBOOK = '01_lucky'\ndef check(r):\n    assert r['quick'] is True\n")
    (expect / "nb02.py").write_text("NOTEBOOK = '02_fine'\ndef check(r):\n    assert r['quick'] is True\n"
                                    "    assert r['seed'] < 1, 'expectation broken by seed 1'\n")
    build = tmp_path / "build"
    code = seeds.main([str(lucky), str(fine), "--seeds", "0", "1", "2", "-j", "2", "--build", str(build),
                       "--expect", str(expect)])
    assert code == 1, "a failing run must make the sweep exit non-zero"
    out = capsys.readouterr().out
    runs = {(r["notebook"], r["seed"]): r["verdict"] for r in json.loads((build / "seeds" / "seeds.json").read_text())["runs"]}
    assert runs[("01_lucky", 0)] == runs[("01_lucky", 1)] == runs[("02_fine", 0)] == "ok"
    assert "assert SEED != 2" in runs[("01_lucky", 2)] and "only seed 2 misses" in runs[("01_lucky", 2)]
    assert "expectation broken by seed 1" in runs[("02_fine", 1)] and "r['seed'] < 1" in runs[("02_fine", 1)]
    table = out[out.index("notebook "):].split("\n\n")[0]          # the grid, before the failures' texts
    row = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert row["01_lucky"] == ["ok", "ok", "FAIL"] and row["02_fine"] == ["ok", "FAIL", "FAIL"]
    assert "3/6 runs passed" in out
    assert (build / "seeds" / "seed-2" / "01_lucky.ipynb").exists()


def test_expectations_of_the_suite_are_found():
    checks = seeds.load_expectations()
    assert "10_case_visual_quality_inspection" in checks and len(checks) >= 13
