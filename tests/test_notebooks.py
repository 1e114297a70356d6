"""Execute every notebook once in quick mode (papermill), then check what it records (tests/expect/)
and compare its `# NBVAL_CHECK_OUTPUT` cells with the committed outputs (nbval's comparison).

Both checks read the same execution: a session cache keyed by notebook, and an xdist group per
notebook so that `pytest -n N --dist loadgroup` sends both tests of a notebook to one worker.
"""
import importlib.util
import json
from pathlib import Path

import pytest

from helpers.nbclean import compare_checked
from helpers.run import execute, list_notebooks

ROOT = Path(__file__).resolve().parent.parent
EXPECT_DIR = Path(__file__).parent / "expect"
NOTEBOOKS = list_notebooks()
PER_NOTEBOOK = [pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(nb.stem)) for nb in NOTEBOOKS]


def load_expectations() -> dict:
    """{notebook stem: check function} from tests/expect/nb*.py."""
    checks = {}
    for f in sorted(EXPECT_DIR.glob("nb*.py")):
        spec = importlib.util.spec_from_file_location(f"expect_{f.stem}", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        checks[mod.NOTEBOOK] = mod.check
    return checks


EXPECT = load_expectations()


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """executed(nb) -> the report row of nb's one quick-mode execution in this test process."""
    runs = {}

    def get(nb: Path) -> dict:
        """Execute nb the first time it is asked for; hand back the same run afterwards."""
        if nb not in runs:
            out = tmp_path_factory.mktemp(nb.stem)
            runs[nb] = execute(nb, out, quick=True, threads=None, timeout=600)
        return runs[nb]

    return get


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("nb", PER_NOTEBOOK)
def test_notebook_runs_and_teaches(nb, executed):
    assert nb.stem in EXPECT, f"add tests/expect/nbNN.py with NOTEBOOK = {nb.stem!r} and check(results)"
    row = executed(nb)
    assert row["status"] == "ok", f"{nb.name} failed in quick mode: {row['error']}\nkernel log: {row['log']}"
    assert row["results"], f"{nb.name} recorded no results"
    EXPECT[nb.stem](row["results"])


@pytest.mark.parametrize("nb", PER_NOTEBOOK)
def test_checked_outputs_match_committed(nb, executed):
    row = executed(nb)
    assert row["status"] == "ok", f"{nb.name} not compared: it failed in quick mode: {row['error']}"
    committed = json.loads(nb.read_text(encoding="utf-8"))
    problems = compare_checked(committed, json.loads(Path(row["output"]).read_text(encoding="utf-8")))
    if problems:
        pytest.fail(f"{nb.name}: # NBVAL_CHECK_OUTPUT cell(s) differ from the committed output\n\n"
                    + "\n\n".join(problems)
                    + f"\n\nIf the new output is right: python -m helpers.nbclean --from-executed "
                      f"{row['output']} {nb}", pytrace=False)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_is_clean(nb):
    doc = json.loads(nb.read_text(encoding="utf-8"))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert code and "parameters" in code[0].get("metadata", {}).get("tags", []), \
        "the first code cell must be tagged 'parameters' (papermill)"
    src0 = "".join(code[0]["source"])
    for name in ("QUICK", "SEED", "DEVICE"):
        assert f"{name} =" in src0, f"parameters cell lacks {name}"
    assert "QUICK = False" in src0 and "DLC_QUICK" not in src0, \
        "QUICK enters a notebook one way: the parameters cell says QUICK = False, tests pass -p QUICK True"
    for i, c in enumerate(code):
        checked = "NBVAL_CHECK_OUTPUT" in "".join(c["source"])
        assert c.get("execution_count") is None, f"code cell {i} has an execution count committed"
        assert checked or not c.get("outputs"), \
            f"code cell {i} has outputs committed; run python -m helpers.nbclean {nb}"
    assert doc["metadata"].get("kernelspec", {}).get("name") == "python3"
    text = "".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "markdown")
    assert "Glossary" in text and "Exercise" in text, "every notebook ends with exercises and a glossary"
