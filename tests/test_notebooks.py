"""Execute every notebook once in quick mode (papermill), then check what it records (tests/expect/),
compare its `# NBVAL_CHECK_OUTPUT` cells with the committed outputs (nbval's comparison) and read its
exercises' grade cells as nbgrader's autograder does (every one PASS, grade 1.0).

All checks read the same execution: a session cache keyed by notebook, and an xdist group per
notebook so that `pytest -n N --dist loadgroup` sends every test of a notebook to one worker. The
student edition (helpers.classroom) of each classroom notebook runs once more, in the same group.
"""
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from helpers import classroom
from helpers.nbclean import compare_checked
from helpers.run import execute, list_notebooks

ROOT = Path(__file__).resolve().parent.parent
EXPECT_DIR = Path(__file__).parent / "expect"
NOTEBOOKS = list_notebooks()
PER_NOTEBOOK = [pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(nb.stem)) for nb in NOTEBOOKS]
# The classroom edition (issue #8): every notebook follows the exercise format (notebooks/AUTHORING.md);
# 01-12 have at least MIN_CHECKED checked exercises each, and their student editions run end to end.
CLASSROOM = NOTEBOOKS
WITH_EXERCISES = [pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(nb.stem))
                  for nb in CLASSROOM if nb.name[:2] >= "01"]
MIN_CHECKED = 3


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


def grade_cells(doc) -> list:
    """The code grade cells (nbgrader grade=true, solution=false) of a notebook."""
    return [c for c in doc.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def _text(cell, kind) -> str:
    """A cell's stdout ('stdout'), stderr ('stderr') or execute_result text/plain ('result')."""
    if kind == "result":
        return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs
                       if o.output_type == "execute_result")
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == kind)


def assert_grades(doc, expected: float, printed: str, name: str):
    """Every grade cell printed `printed`, returned `expected`, and nbgrader's determine_grade agrees."""
    from nbgrader.utils import determine_grade
    for cell in grade_cells(doc):
        gid = cell.metadata["nbgrader"]["grade_id"]
        where = f"{name} grade cell {gid} ({cell.source.strip()[:70]!r})"
        out = _text(cell, "stdout")
        assert printed in out, f"{where} should print {printed!r}; it printed {out!r}"
        assert _text(cell, "result") == repr(expected), \
            f"{where}: its result must be the Score {expected} (nbgrader reads it as the grade); got {_text(cell, 'result')!r}"
        assert not _text(cell, "stderr"), \
            f"{where} wrote to stderr, which nbgrader grades 0: {_text(cell, 'stderr')[:300]!r}"
        assert determine_grade(cell) == (expected, 1.0), f"{where}: nbgrader grades it {determine_grade(cell)}"


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


@pytest.mark.parametrize("nb", PER_NOTEBOOK)
def test_every_checker_passes_in_the_instructor_edition(nb, executed):
    row = executed(nb)
    assert row["status"] == "ok", f"{nb.name} not graded: it failed in quick mode: {row['error']}"
    assert_grades(nbformat.read(row["output"], as_version=4), 1.0, "PASS", nb.name)


@pytest.mark.parametrize("nb", CLASSROOM, ids=[nb.stem for nb in CLASSROOM])
def test_exercises_follow_the_format(nb):
    problems = classroom.lint(nb)
    assert not problems, f"{nb.name}: exercise format (notebooks/AUTHORING.md):\n" + "\n".join(problems)
    if nb.name[:2] >= "01":
        n = len(grade_cells(nbformat.read(nb, as_version=4)))
        assert n >= MIN_CHECKED, f"{nb.name} has {n} checked exercise(s) (grade cells); it needs {MIN_CHECKED}"


@pytest.mark.parametrize("nb", WITH_EXERCISES)
def test_student_edition_runs_and_scores_zero(nb, tmp_path):
    student = tmp_path / "student"
    classroom.write_student([nb], student)
    row = execute(student / nb.name, tmp_path / "executed", quick=True, threads=None, timeout=600)
    assert row["status"] == "ok", \
        f"the student edition of {nb.name} crashed in quick mode: {row['error']}\nkernel log: {row['log']}"
    doc = nbformat.read(row["output"], as_version=4)
    assert grade_cells(doc), f"the student edition of {nb.name} has no grade cells"
    assert_grades(doc, 0.0, "not implemented yet", f"student edition of {nb.name}")


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
