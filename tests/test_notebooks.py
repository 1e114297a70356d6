"""Execute every notebook once in quick mode (papermill), then check what it records (tests/expect/),
compare its `# NBVAL_CHECK_OUTPUT` cells with the committed outputs (nbval's comparison) and read its
exercises' grade cells as nbgrader's autograder does (every one PASS, grade 1.0); its student edition
must run on to the end with every grade cell saying "not implemented yet" (grade 0.0).

One kernel runs both editions (helpers.course.classroom.both_editions): the instructor edition, then the
student edition's cells from its first changed one, so the teaching cells the two share run once.

CPU kinds. Every notebook runs on this CPU's own kernels. On a CPU with more than AVX2 (AVX-512,
VNNI, BF16) the notebooks whose numbers depend on the CPU's kernels (those with checked outputs or a
precision policy, CPU_SENSITIVE) run once more as an AVX2-only CPU: NumPy, PyTorch and oneDNN
switched to their AVX2 kernels (helpers.device.AVX2_ENV), and the same checks apply. ONNX Runtime
has no switch: notebook 10's int8 models also run under an emulated Haswell (qemu-user).
DLC_TEST_CPU=native skips the AVX2 runs; DLC_TEST_CPU=avx2 runs every notebook as an AVX2 CPU only.

All checks of one run read the same execution: a session cache keyed by (notebook, CPU kind), and an
xdist group per pair so that `pytest -n N --dist loadgroup` sends every test of a run to one worker.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.course import classroom
from helpers.models import edge
from helpers.device import avx2_env
from helpers.course.nbclean import compare_checked
from helpers.record import read_results
from helpers.course.run import execute, list_notebooks
from helpers.course.seeds import load_expectations

import site_run  # noqa: E402  (tests/site_run.py)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = list_notebooks()
NB10 = "10_case_visual_quality_inspection"
QEMU = shutil.which("qemu-x86_64")
# The classroom edition: every notebook follows the exercise format (notebooks/AUTHORING.md);
# 01-12 have at least MIN_CHECKED checked exercises each, and their student editions run end to end.
CLASSROOM = NOTEBOOKS
MIN_CHECKED = 3


def cpu_sensitive(nb: Path) -> bool:
    """Whether a notebook's numbers depend on the CPU's kernels: it has checked outputs or a precision policy (AMP)."""
    code = ["".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]
    return "AMP =" in code[0] or any("# NBVAL_CHECK_OUTPUT" in src for src in code)


CPU_SENSITIVE = [nb for nb in NOTEBOOKS if cpu_sensitive(nb)]
TEST_CPU = os.environ.get("DLC_TEST_CPU", "both")
if TEST_CPU not in ("both", "native", "avx2"):
    raise ValueError(f"DLC_TEST_CPU={TEST_CPU!r}: use 'both' (the default), 'native' or 'avx2'")
AVX2_ENV = avx2_env()          # {} on an AVX2-only CPU: its native run is the AVX2 run
RUNS = []                      # (notebook, CPU kind) pairs executed by this test session
for _nb in NOTEBOOKS:
    if TEST_CPU != "avx2" or not AVX2_ENV:
        RUNS.append((_nb, "native"))
    if AVX2_ENV and (TEST_CPU == "avx2" or (TEST_CPU == "both" and _nb in CPU_SENSITIVE)):
        RUNS.append((_nb, "avx2"))
PER_RUN = [pytest.param(nb, kind, id=f"{nb.stem}-{kind}",
                        marks=[pytest.mark.notebook, pytest.mark.xdist_group(f"{nb.stem}-{kind}")])
           for nb, kind in RUNS]
WITH_EXERCISES = [p for p in PER_RUN if p.values[0].name[:2] >= "01"]


EXPECT = load_expectations()


def _has_error(doc) -> bool:
    """Whether a cell of `doc` holds an error output (papermill stops at the first)."""
    return any(out.get("output_type") == "error" for cell in doc.cells for out in cell.get("outputs", []))


def run_both_editions(nb: Path, out: Path, kind: str) -> dict:
    """Execute nb's both_editions notebook once (quick mode) and split the result into the two editions' rows."""
    combined, _ = classroom.both_editions(nb)
    src = out / "both" / nb.name
    src.parent.mkdir(parents=True)
    nbformat.write(combined, str(src))
    params = {"MODEL_DIR": str(out / "models")} if nb.stem == NB10 else None
    row = execute(src, out / "executed", quick=True, threads=None, timeout=600, extra_params=params,
                  env=AVX2_ENV if kind == "avx2" else None, cwd=nb.parent)
    row.update(notebook=nb.stem, kind=kind, student_status="not run", student_error=None, student_output=None)
    if not Path(row["output"]).exists():
        return row
    teacher, student = classroom.split_executed(row["output"])
    row["output"], row["student_output"] = str(out / nb.name), str(out / f"student_{nb.name}")
    nbformat.write(teacher, row["output"])
    nbformat.write(student, row["student_output"])
    row["results"] = read_results(row["output"])
    if row["status"] == "ok":
        row["student_status"] = "ok"
    elif _has_error(student) and not _has_error(teacher):       # the instructor edition ran to its end
        row["student_status"], row["student_error"] = "failed", row["error"]
        row["status"], row["error"] = "ok", None
    else:
        row["student_error"] = "the instructor edition failed before the student edition's cells ran"
    return row


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """executed(nb, kind) -> the report row of nb's one quick-mode run on `kind` ('native' or 'avx2')."""
    runs = {}

    def get(nb: Path, kind: str = "native") -> dict:
        """Execute nb the first time it is asked for; hand back the same run afterwards."""
        if (nb, kind) not in runs:
            runs[(nb, kind)] = run_both_editions(nb, tmp_path_factory.mktemp(f"{nb.stem}-{kind}"), kind)
            if kind == "native":                                  # the website test builds from these
                site_run.publish(runs[(nb, kind)], site_run.shared_folder(tmp_path_factory))
        return runs[(nb, kind)]

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


@pytest.mark.parametrize("nb,kind", PER_RUN)
def test_notebook_runs_and_teaches(nb, kind, executed):
    assert nb.stem in EXPECT, f"add tests/expect/nbNN.py with NOTEBOOK = {nb.stem!r} and check(results)"
    row = executed(nb, kind)
    assert row["status"] == "ok", \
        f"{nb.name} failed in quick mode ({kind} CPU): {row['error']}\nkernel log: {row['log']}"
    assert row["results"], f"{nb.name} recorded no results"
    EXPECT[nb.stem](row["results"])


@pytest.mark.parametrize("nb,kind", PER_RUN)
def test_checked_outputs_match_committed(nb, kind, executed):
    row = executed(nb, kind)
    assert row["status"] == "ok", f"{nb.name} not compared: it failed in quick mode: {row['error']}"
    committed = json.loads(nb.read_text(encoding="utf-8"))
    problems = compare_checked(committed, json.loads(Path(row["output"]).read_text(encoding="utf-8")))
    if problems:
        pytest.fail(f"{nb.name} ({kind} CPU): # NBVAL_CHECK_OUTPUT cell(s) differ from the committed output\n\n"
                    + "\n\n".join(problems)
                    + f"\n\nIf the new output is right: python -m helpers.course.nbclean --from-executed "
                      f"{row['output']} {nb}", pytrace=False)


@pytest.mark.parametrize("nb,kind", PER_RUN)
def test_every_checker_passes_in_the_instructor_edition(nb, kind, executed):
    row = executed(nb, kind)
    assert row["status"] == "ok", f"{nb.name} not graded: it failed in quick mode: {row['error']}"
    assert_grades(nbformat.read(row["output"], as_version=4), 1.0, "PASS", nb.name)


@pytest.mark.parametrize("nb", CLASSROOM, ids=[nb.stem for nb in CLASSROOM])
def test_exercises_follow_the_format(nb):
    problems = classroom.lint(nb)
    assert not problems, f"{nb.name}: exercise format (notebooks/AUTHORING.md):\n" + "\n".join(problems)
    if nb.name[:2] >= "01":
        n = len(grade_cells(nbformat.read(nb, as_version=4)))
        assert n >= MIN_CHECKED, f"{nb.name} has {n} checked exercise(s) (grade cells); it needs {MIN_CHECKED}"


@pytest.mark.parametrize("nb,kind", WITH_EXERCISES)
def test_student_edition_runs_and_scores_zero(nb, kind, executed):
    row = executed(nb, kind)
    assert row["student_status"] == "ok", \
        f"the student edition of {nb.name} crashed in quick mode: {row['student_error']}\nkernel log: {row['log']}"
    doc = nbformat.read(row["student_output"], as_version=4)
    assert grade_cells(doc), f"the student edition of {nb.name} has no grade cells"
    assert_grades(doc, 0.0, "not implemented yet", f"student edition of {nb.name}")


def test_both_editions_run_the_student_cells_on_a_state_without_the_solutions():
    nb = next(n for n in NOTEBOOKS if n.stem == NB10)
    combined, at = classroom.both_editions(nb)
    student = classroom.student_edition(nbformat.read(nb, as_version=4))
    sep, rest = combined.cells[at], combined.cells[at + 1:]
    assert sep.source.startswith(classroom.STUDENT_PART)
    assert [c.source for c in rest] == [c.source for c in student.cells[len(student.cells) - len(rest):]]
    assert rest[0].metadata["nbgrader"].get("solution"), "the student part starts at the first stubbed solution"
    forgotten = sep.source.split("in ", 1)[1]
    assert "'gradcam_gap'" in forgotten and "'model'" not in forgotten


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
            f"code cell {i} has outputs committed; run python -m helpers.course.nbclean {nb}"
    assert doc["metadata"].get("kernelspec", {}).get("name") == "python3"
    text = "".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "markdown")
    assert "Glossary" in text and "Exercise" in text, "every notebook ends with exercises and a glossary"


@pytest.mark.notebook
@pytest.mark.xdist_group(f"{NB10}-{RUNS[0][1]}")
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="emulates an x86 CPU")
def test_int8_models_agree_on_an_emulated_avx2_cpu(executed):
    """Notebook 10's fp32 and int8 ONNX files, run through helpers.models.edge under qemu's Haswell (AVX2, no VNNI)."""
    if not AVX2_ENV and not edge.int8_instructions()["vnni"]:
        pytest.skip("this CPU is itself AVX2 without VNNI: notebook 10's own acceptance test ran its int8 model "
                    "on this kind")
    if QEMU is None:
        pytest.skip("qemu-x86_64 is not installed: the int8 models were not run as an AVX2 CPU without VNNI "
                    "[needs: qemu-user]")
    nb = next(n for n in NOTEBOOKS if n.stem == NB10)
    kind = RUNS[0][1]                 # the run the group above belongs to: native, or avx2 with DLC_TEST_CPU=avx2
    row = executed(nb, kind)
    assert row["status"] == "ok", f"{nb.name} failed in quick mode: {row['error']}"
    folder = Path(row["output"]).parent / "models"
    cmd = [QEMU, "-cpu", "Haswell", sys.executable, "-m", "helpers.models.edge", "check", str(folder)]
    env = {k: v for k, v in os.environ.items() if k not in AVX2_ENV}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}"
    res = json.loads(done.stdout.strip().splitlines()[-1])
    assert res["cpu"]["kind"] == "x86-avx2" and not res["cpu"]["vnni"], f"not emulated as Haswell: {res['cpu']}"
    native = row["results"]["int8_agreement"]
    assert res["fp32"]["agreement"] > 0.99, res
    # 7-bit weights: the 16-bit pair sums are exact, so the AVX2 path agrees as well as the native one did
    # (a few images of rounding apart); saturated sums would lose many more
    assert res["int8"]["agreement"] >= max(0.7, native - 0.03), (
        f"on an AVX2 CPU without VNNI the int8 model picks the float model's class for only "
        f"{res['int8']['agreement']:.1%} of {res['n']} images (natively {native:.1%}): its int16 sums saturate; "
        f"quantize with reduce_range=True (7-bit weights)")
