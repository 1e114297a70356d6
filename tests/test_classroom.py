"""helpers.course.classroom on small synthetic notebooks (exercise listing, the format lint, student editions),
both editions executed, and nbgrader's own generate_assignment + autograde on notebook 01."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from helpers.course import classroom
from helpers.course.run import execute, list_notebooks

SOLUTION = '''def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
'''
GRADE = "checks.check_double(double)"


def _solution(source=SOLUTION, gid="nb99-ex1-solution"):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "solution": True, "locked": False, "task": False, "schema_version": 3, "grade_id": gid}})


def _grade(source=GRADE, gid="nb99-ex1-check", points=1, locked=True):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": locked, "points": points, "task": False, "schema_version": 3,
        "grade_id": gid}})


def _answer(text="Because the gradient vanishes.", gid="nb99-ex2-answer"):
    return nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {
        "grade": True, "solution": True, "locked": False, "task": False, "points": 1, "schema_version": 3,
        "grade_id": gid}})


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    params = nbformat.v4.new_code_cell("QUICK = False", metadata={"tags": ["parameters"]})
    nb.cells = [params, nbformat.v4.new_markdown_cell("**Exercise 1.** Write `double`."), *cells]
    return nb


def _good():
    return _nb(_solution(), _grade(), nbformat.v4.new_markdown_cell("**Exercise 2.** (open question) Why?"), _answer())


def _problems(nb):
    return "\n".join(classroom.lint(nb))


def test_exercises_lists_solution_grade_and_answer_cells():
    found = classroom.exercises(_good())
    assert [(e["kind"], e["grade_id"], e["points"]) for e in found] == [
        ("solution", "nb99-ex1-solution", None), ("grade", "nb99-ex1-check", 1), ("answer", "nb99-ex2-answer", 1)]
    assert [e["index"] for e in found] == [2, 3, 5]
    assert classroom.exercises(_nb()) == []


def test_a_well_formed_notebook_has_no_lint_problems():
    assert classroom.lint(_good()) == []


def test_lint_reads_a_path_too(tmp_path):
    path = tmp_path / "99_x.ipynb"
    nbformat.write(_nb(_solution(), _grade(points=2)), str(path))
    assert "points must be 1" in _problems(path)


def test_lint_solution_without_its_grade_cell():
    assert "followed at once by its grade cell" in _problems(_nb(_solution()))
    # a markdown cell in between breaks the pairing too
    assert "followed at once" in _problems(_nb(_solution(), nbformat.v4.new_markdown_cell("x"), _grade()))


def test_lint_duplicate_grade_ids():
    nb = _nb(_solution(), _grade(), _solution(gid="nb99-ex2-solution"), _grade(gid="nb99-ex1-check"))
    assert "grade_id 'nb99-ex1-check' already used by cell 3" in _problems(nb)


def test_lint_markers_outside_a_solution_cell():
    nb = _nb(_solution(), _grade(), nbformat.v4.new_code_cell(SOLUTION))
    assert "markers outside a solution cell" in _problems(nb)


def test_lint_solution_region_at_top_level():
    top = "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n"
    assert "would run at top level" in _problems(_nb(_solution(top), _grade()))
    # inside an `if` at top level still runs when the cell runs
    nested = "if True:\n    ### BEGIN SOLUTION\n    answer = 42\n    ### END SOLUTION\n"
    assert "would run at top level" in _problems(_nb(_solution(nested), _grade()))


def test_lint_solution_region_must_parse_when_stubbed():
    # the region swallows the return statement's continuation: the stub leaves a dangling expression
    broken = "def f(x):\n    return (x +\n    ### BEGIN SOLUTION\n        1)\n    ### END SOLUTION\n"
    assert "does not parse" in _problems(_nb(_solution(broken), _grade()))


def test_lint_solution_cell_without_markers_or_unclosed():
    assert "needs its answer between" in _problems(_nb(_solution("def f():\n    return 1\n"), _grade()))
    assert "needs its answer between" in _problems(
        _nb(_solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n"), _grade()))


def test_lint_grade_cell_is_one_call_locked_one_point():
    assert "exactly one checker call" in _problems(_nb(_solution(), _grade("assert checks.check_double(double)")))
    assert "exactly one checker call" in _problems(_nb(_solution(), _grade("x = 1\nchecks.check_double(double)")))
    assert "trailing ';'" in _problems(_nb(_solution(), _grade("checks.check_double(double);")))
    assert "must be locked" in _problems(_nb(_solution(), _grade(locked=False)))
    assert "points must be 1 (is 2)" in _problems(_nb(_solution(), _grade(points=2)))
    answer = _answer()
    answer.metadata["nbgrader"]["points"] = 3
    assert "points must be 1 (is 3)" in _problems(_nb(answer))


def test_lint_answer_cell_must_not_carry_the_glossary():
    assert "holds a heading" in _problems(_nb(_answer("Because.\n\n## Glossary\n\n| a | b |")))
    assert not _problems(_nb(_answer("Because **this** matters.")))


def test_student_edition_stubs_solutions_and_blanks_answers():
    nb = _good()
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="out\n")]
    student = classroom.student_edition(nb)
    sol, grade, answer = student.cells[2], student.cells[3], student.cells[5]
    assert "return 2 * x" not in sol.source and "raise NotImplementedError()" in sol.source
    assert sol.source.startswith('def double(x):\n    """Twice x."""\n    # YOUR CODE HERE')
    assert sol.outputs == [], "outputs are cleared"
    assert grade.source == GRADE and grade.metadata["editable"] is False, "grade cells stay, locked"
    assert answer.source == "YOUR ANSWER HERE", "the open question's model answer is blanked"
    assert "checksum" in grade.metadata["nbgrader"]
    assert "tags" in student.cells[0].metadata, "the papermill parameters cell keeps its tag"
    assert "return 2 * x" in nb.cells[2].source, "the instructor edition is not modified"
    # the stubbed cell runs (defines the function) and the function raises NotImplementedError
    scope = {}
    exec(sol.source, scope)
    with pytest.raises(NotImplementedError):
        scope["double"](1)


def test_write_student_copies_notebooks_without_exercises_clean(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    plain = _nb(nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", text="1\n")]))
    nbformat.write(plain, str(src / "00_plain.ipynb"))
    nbformat.write(_good(), str(src / "01_ex.ipynb"))
    written = classroom.write_student(sorted(src.glob("*.ipynb")), tmp_path / "out")
    assert [p.name for p in written] == ["00_plain.ipynb", "01_ex.ipynb"]
    copied = nbformat.read(str(tmp_path / "out" / "00_plain.ipynb"), as_version=4)
    assert [c.source for c in copied.cells] == [c.source for c in plain.cells]
    assert all(not c.get("outputs") for c in copied.cells)


def test_write_student_refuses_a_broken_notebook_but_writes_the_others(tmp_path):
    nbformat.write(_good(), str(tmp_path / "01_ok.ipynb"))
    nbformat.write(_nb(_solution()), str(tmp_path / "02_bad.ipynb"))
    with pytest.raises(ValueError, match=r"02_bad.ipynb: not written(.|\n)*followed at once(.|\n)*1 other"):
        classroom.write_student([tmp_path / "01_ok.ipynb", tmp_path / "02_bad.ipynb"], tmp_path / "out")
    assert (tmp_path / "out" / "01_ok.ipynb").exists() and not (tmp_path / "out" / "02_bad.ipynb").exists()
    # lax: what nbgrader accepts is written; markers in a plain cell nbgrader itself refuses
    classroom.write_student([tmp_path / "02_bad.ipynb"], tmp_path / "lax", strict=False)
    nbformat.write(_nb(nbformat.v4.new_code_cell(SOLUTION)), str(tmp_path / "03_markers.ipynb"))
    with pytest.raises(ValueError, match="nbgrader: Solution region detected in a non-solution cell"):
        classroom.write_student([tmp_path / "03_markers.ipynb"], tmp_path / "lax", strict=False)


def test_cli_student_lint_and_list(tmp_path, capsys):
    good, bad = tmp_path / "01_ok.ipynb", tmp_path / "02_bad.ipynb"
    nbformat.write(_good(), str(good))
    nbformat.write(_nb(_solution()), str(bad))
    assert classroom.main(["student", str(tmp_path / "out"), "--notebooks", str(good)]) == 0
    assert "(1 exercise(s) stubbed)" in capsys.readouterr().out
    assert classroom.main(["lint", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "02_bad.ipynb: cell 2 (nb99-ex1-solution): a solution cell must be followed" in out
    assert "1/2 notebook(s) follow the exercise format" in out
    assert classroom.main(["list", str(good)]) == 0
    assert "nb99-ex2-answer" in capsys.readouterr().out
    assert classroom.main(["lint", str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


# ----------------------------------------------------------------------------- executed editions and nbgrader

ROOT = Path(__file__).resolve().parent.parent
# The notebook nbgrader grades end to end: the fastest one with exercises.
NBGRADER_NOTEBOOK = "01_backpropagation_by_hand"

# A checker built the way helpers/checks*.py build theirs (the _checker plumbing gives the Score and the
# "not implemented yet" line), so this test does not depend on any one public checker.
CHECKER = """from helpers.checks import _checker, _Fail


@_checker
def check_double(fn):
    \"\"\"Check fn(x) == 2 x on a few cases.\"\"\"
    for x in (0.5, -3.0, 7.25):
        if abs(fn(x) - 2 * x) > 1e-12:
            raise _Fail("double the input")
    print("PASS double")
    return True
"""


def _runnable(tmp_path) -> Path:
    """A small instructor notebook with one checked exercise and one open question, written to tmp_path."""
    nb = _nb(nbformat.v4.new_code_cell(CHECKER), _solution(), _grade("check_double(double)"),
             nbformat.v4.new_markdown_cell("**Exercise 2.** (open question) Why?"), _answer())
    nb.cells[0].source = "QUICK = False\nSEED = 0"
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, str(path))
    return path


def _grade_outputs(path):
    cells = nbformat.read(str(path), as_version=4).cells
    grade = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    return [("".join(o.get("text", "") for o in c.outputs if o.output_type == "stream"),
             "".join(o.get("data", {}).get("text/plain", "") for o in c.outputs if o.output_type == "execute_result"))
            for c in grade]


def test_instructor_and_student_editions_execute_with_their_grades(tmp_path):
    src = _runnable(tmp_path)
    row = execute(src, tmp_path / "instructor", quick=True, threads=None, timeout=300)
    assert row["status"] == "ok", row["error"]
    [(out, result)] = _grade_outputs(row["output"])
    assert out.startswith("PASS") and result == "1.0"
    classroom.write_student([src], tmp_path / "student")
    row = execute(tmp_path / "student" / src.name, tmp_path / "student-run", quick=True, threads=None, timeout=300)
    assert row["status"] == "ok", f"the student edition must run to the end: {row['error']}"
    [(out, result)] = _grade_outputs(row["output"])
    assert "not implemented yet" in out and result == "0.0"


def autograde(tmp_path: Path, notebook: Path, quick: bool = True) -> dict:
    """Grade `notebook` with nbgrader in a fresh course under tmp_path: {student: submitted notebook grades}.

    The course's source is the instructor edition (QUICK = True set in its parameters cell when quick:
    nbgrader runs notebooks as they are, without papermill parameters). Student "teacher" submits the
    instructor edition, student "learner" the released student edition untouched."""
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'dlc'\n"
        f"c.CourseDirectory.db_url = {db!r}\n"
        "c.Execute.timeout = 600\n")
    doc = nbformat.read(str(notebook), as_version=4)
    if quick:
        params = next(c for c in doc.cells if "parameters" in c.metadata.get("tags", []))
        assert "QUICK = False" in params.source, "the parameters cell must set QUICK = False"
        params.source = params.source.replace("QUICK = False", "QUICK = True")
    nbformat.write(doc, str(course / "source" / "ps1" / notebook.name))

    # nbgrader runs `alembic` from PATH (its database migrations): the venv's bin/ first, activated or not
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    def nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                              text=True, timeout=1200, env={**os.environ, "PATH": path})
        assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    nbgrader("generate_assignment", "ps1", "--force")
    for student, folder in (("teacher", "source"), ("learner", "release")):
        nbgrader("db", "student", "add", student)
        sub = course / "submitted" / student / "ps1"
        sub.mkdir(parents=True)
        (sub / notebook.name).write_bytes((course / folder / "ps1" / notebook.name).read_bytes())
    nbgrader("autograde", "ps1", "--force")
    saved, os.environ["PATH"] = os.environ.get("PATH", ""), path
    try:
        gb = Gradebook(db)
    finally:
        os.environ["PATH"] = saved
    with gb:
        grades = {}
        for student in ("teacher", "learner"):
            s = gb.find_submission_notebook(notebook.stem, "ps1", student)
            code = [g for g in s.grades if g.cell_type == "code"]
            grades[student] = {"code_score": sum(g.auto_score or 0 for g in code),
                               "code_points": sum(g.max_score for g in code), "n_code": len(code),
                               "max_score": s.max_score, "score": s.score, "n_answers": len(s.grades) - len(code)}
    return grades


def _assert_marks(grades, n_min=1):
    teacher, learner = grades["teacher"], grades["learner"]
    assert teacher["n_code"] >= n_min, f"nbgrader found {teacher['n_code']} grade cell(s)"
    assert teacher["code_score"] == teacher["code_points"] == teacher["n_code"], \
        f"the instructor edition must get full marks on every grade cell: {teacher}"
    assert learner["code_score"] == 0 and learner["code_points"] == teacher["code_points"], \
        f"the student edition must get zero: {learner}"


@pytest.mark.notebook
@pytest.mark.xdist_group("test_nbgrader")
def test_nbgrader_full_marks_for_instructor_zero_for_student():
    nb = ROOT / "notebooks" / f"{NBGRADER_NOTEBOOK}.ipynb"
    assert nb in list_notebooks(), f"{nb} is missing; set NBGRADER_NOTEBOOK to a notebook with exercises"
    with tempfile.TemporaryDirectory(prefix="dlc-nbgrader-") as tmp:
        grades = autograde(Path(tmp), nb)
    print(f"nbgrader marks for {nb.stem}: {grades}")
    _assert_marks(grades, n_min=3)
    answers = sum(e["kind"] == "answer" for e in classroom.exercises(nb))
    assert grades["teacher"]["n_answers"] == answers, "open questions are graded by hand, one point each"
    assert grades["teacher"]["max_score"] == grades["teacher"]["code_points"] + answers
    assert grades["learner"]["score"] == 0, "an untouched open question gets 0 automatically (unchanged checksum)"
