"""Execute every notebook in quick mode with papermill and assert what it records."""
import importlib.util
import json
from pathlib import Path

import pytest

from helpers.run import execute, list_notebooks

ROOT = Path(__file__).resolve().parent.parent
EXPECT_DIR = Path(__file__).parent / "expect"
NOTEBOOKS = list_notebooks()


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


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_and_teaches(nb, tmp_path):
    assert nb.stem in EXPECT, f"add tests/expect/nbNN.py with NOTEBOOK = {nb.stem!r} and check(results)"
    row = execute(nb, tmp_path, quick=True, threads=None, timeout=600)
    assert row["status"] == "ok", f"{nb.name} failed in quick mode: {row['error']}"
    assert row["results"], f"{nb.name} recorded no results"
    EXPECT[nb.stem](row["results"])


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_is_clean(nb):
    doc = json.loads(nb.read_text(encoding="utf-8"))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert code and "parameters" in code[0].get("metadata", {}).get("tags", []), \
        "the first code cell must be tagged 'parameters' (papermill)"
    src0 = "".join(code[0]["source"])
    for name in ("QUICK", "SEED", "DEVICE"):
        assert f"{name} =" in src0, f"parameters cell lacks {name}"
    for i, c in enumerate(code):
        checked = "NBVAL_CHECK_OUTPUT" in "".join(c["source"])
        assert c.get("execution_count") is None, f"code cell {i} has an execution count committed"
        assert checked or not c.get("outputs"), \
            f"code cell {i} has outputs committed; run python -m helpers.nbclean {nb}"
    assert doc["metadata"].get("kernelspec", {}).get("name") == "python3"
    text = "".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "markdown")
    assert "Glossary" in text and "Exercise" in text, "every notebook ends with exercises and a glossary"
