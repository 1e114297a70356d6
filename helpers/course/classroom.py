"""Classroom editions: list a notebook's nbgrader exercises, lint their format, write student editions.

    python -m helpers.course.classroom student [OUT]        # every notebook's student edition (default build/student/)
    python -m helpers.course.classroom lint [NOTEBOOK ...]  # the exercise format (notebooks/AUTHORING.md); exit 1 on problems
    python -m helpers.course.classroom list [NOTEBOOK ...]  # solution, grade and open-question cells per notebook

The repository's notebooks are the instructor edition. The student edition is made by nbgrader's own
preprocessors, those of `nbgrader generate_assignment` that need no course database (solutions replaced
by stubs, outputs cleared, hidden tests and mark schemes removed, cells locked, checksums computed).
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
# generate_assignment's preprocessors that read or write the course database, or need course files
NEEDS_COURSE = ("IncludeHeaderFooter", "InstantiateTests", "SaveCells")


def _read(nb):
    """A NotebookNode from a path, a NotebookNode or a notebook dict."""
    import nbformat
    if isinstance(nb, (str, Path)):
        return nbformat.read(str(nb), as_version=4)
    return nbformat.from_dict(nb)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def exercises(nb) -> list[dict]:
    """The nbgrader cells of a notebook: [{index, kind: solution|grade|answer, grade_id, points}] in order."""
    found = []
    for i, cell in enumerate(_read(nb).cells):
        m = _meta(cell)
        if not (m.get("solution") or m.get("grade")):
            continue
        if m.get("solution") and m.get("grade"):
            kind = "answer"  # open question: a graded solution cell (markdown), graded by hand
        elif m.get("solution"):
            kind = "solution"
        else:
            kind = "grade"
        found.append({"index": i, "kind": kind, "cell_type": cell.get("cell_type"),
                      "grade_id": m.get("grade_id"), "points": m.get("points")})
    return found


def _stubbed(source: str) -> str:
    """The source as ClearSolutions leaves it in the student edition."""
    import nbformat
    from nbgrader.preprocessors import ClearSolutions
    cell = nbformat.v4.new_code_cell(source)
    ClearSolutions()._replace_solution_region(cell, "python")
    return cell.source


def _top_level_raises(tree: ast.AST) -> list[int]:
    """Line numbers of `raise` statements that run when the cell runs (outside any function body)."""
    lines = []

    def visit(node, in_function):
        if isinstance(node, ast.Raise) and not in_function:
            lines.append(node.lineno)
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return lines


def _lint_solution(where: str, source: str) -> list[str]:
    """Problems of a code solution cell: its stubbed form must parse and must not raise when run."""
    if BEGIN not in source or END not in source:
        return [f"{where}: a solution cell needs its answer between '### {BEGIN}' and '### {END}' "
                "inside a function body"]
    try:
        stub = _stubbed(source)
    except RuntimeError as e:  # nested or unclosed markers: ClearSolutions' own complaint
        return [f"{where}: {e}"]
    try:
        tree = ast.parse(stub)
    except SyntaxError as e:
        return [f"{where}: the student edition (stubbed) does not parse: {e.msg} at line {e.lineno}; "
                "put the solution region inside a function body"]
    if _top_level_raises(tree):
        return [f"{where}: the stub `raise NotImplementedError()` would run at top level (line "
                f"{_top_level_raises(tree)[0]} of the stubbed cell): put '### {BEGIN}' ... '### {END}' "
                "inside a function body, so the student edition runs to the end"]
    return []


def _lint_grade(where: str, source: str) -> list[str]:
    """Problems of a grade cell: exactly one call, no assert, no trailing semicolon (its value is the grade)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [f"{where}: does not parse: {e.msg}"]
    if source.strip().endswith(";"):
        return [f"{where}: remove the trailing ';' (it hides the Score that nbgrader reads as the grade)"]
    if len(tree.body) != 1 or not (isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Call)):
        return [f"{where}: a grade cell is exactly one checker call, e.g. "
                "`checks_topic.check_name(my_function)` (no assert, no other statements)"]
    return []


def lint(nb) -> list[str]:
    """Problems with a notebook's exercise format (empty list when it follows notebooks/AUTHORING.md)."""
    cells = _read(nb).cells
    problems, seen = [], {}
    for i, cell in enumerate(cells):
        m, src = _meta(cell), _src(cell)
        where = f"cell {i}" + (f" ({m['grade_id']})" if m.get("grade_id") else "")
        has_markers = BEGIN in src or END in src
        if not m.get("solution") and has_markers:
            problems.append(f"{where}: '### {BEGIN}/{END}' markers outside a solution cell; set its nbgrader "
                            "metadata solution=true or remove the markers")
        if not (m.get("solution") or m.get("grade")):
            continue
        gid = m.get("grade_id")
        if not gid:
            problems.append(f"{where}: nbgrader cell without a grade_id")
        elif gid in seen:
            problems.append(f"{where}: grade_id {gid!r} already used by cell {seen[gid]}; grade_ids are unique")
        else:
            seen[gid] = i
        if m.get("grade") and m.get("points") != 1:
            problems.append(f"{where}: points must be 1 (is {m.get('points')!r})")
        code = cell.get("cell_type") == "code"
        if m.get("solution") and not m.get("grade") and code:
            problems += _lint_solution(where, src)
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            nm = _meta(nxt) if nxt is not None else {}
            if not (nxt is not None and nxt.get("cell_type") == "code" and nm.get("grade") and not nm.get("solution")):
                problems.append(f"{where}: a solution cell must be followed at once by its grade cell "
                                "(a locked code cell with grade=true calling the checker)")
        elif m.get("grade") and not m.get("solution") and code:
            problems += _lint_grade(where, src)
            if not m.get("locked"):
                problems.append(f"{where}: a grade cell must be locked (nbgrader metadata locked=true)")
        elif m.get("solution") and m.get("grade") and code:
            problems.append(f"{where}: a code cell that is both solution and grade is not used here: a solution "
                            "cell with a function, then a grade cell calling the checker")
        elif m.get("solution") and not code and re.search(r"^#{1,3} ", src, re.M):
            problems.append(f"{where}: an open-question answer cell holds a heading; the student edition blanks "
                            "the whole cell: move what follows the answer (e.g. the glossary) into its own cell")
    return problems


def _preprocessors():
    """nbgrader generate_assignment's preprocessors, less those that need a course (database, header files)."""
    from nbgrader.converters import GenerateAssignment
    return [cls() for cls in GenerateAssignment.class_traits()["preprocessors"].default()
            if cls.__name__ not in NEEDS_COURSE]


def student_edition(nb):
    """The student edition of a notebook (a new NotebookNode): nbgrader's stubs in place of solutions."""
    import copy
    nb = copy.deepcopy(_read(nb))
    resources = {}
    for pp in _preprocessors():
        nb, resources = pp.preprocess(nb, resources)
    return nb


def _bound_names(source: str) -> set:
    """Names a cell binds at top level (assignments, defs, classes, imports, loop and with targets), not in functions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:   # IPython magics: nothing to track
        return set()
    names = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if not isinstance(node, ast.Lambda):
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(tree)
    return names


STUDENT_PART = "# The student edition from here on (helpers.course.classroom.both_editions)"


def both_editions(nb):
    """One notebook that runs the instructor edition, then the student edition's cells from its first changed one.

    The two editions share every code cell before the first exercise, so the student edition's run would repeat
    them; here the kernel goes on from the instructor's state, less the names that only the instructor's later
    cells bound (the student edition would not have them). Returns (notebook, index of the separator cell).
    """
    import copy

    import nbformat
    teacher = _read(nb)
    student = student_edition(teacher)
    code = [i for i, c in enumerate(teacher.cells) if c.cell_type == "code"]
    first = next((i for i in code if _src(teacher.cells[i]) != _src(student.cells[i])), None)
    combined = copy.deepcopy(teacher)
    if first is None:                       # no exercise: the editions run the same code
        return combined, len(combined.cells)
    before = set().union(*(_bound_names(_src(teacher.cells[i])) for i in code if i < first))
    after = set().union(*(_bound_names(_src(teacher.cells[i])) for i in code if i >= first))
    forget = sorted(after - before)
    sep = nbformat.v4.new_code_cell(f"{STUDENT_PART}: forget what only the instructor's cells defined\n"
                                    f"for _name in {forget!r}:\n    globals().pop(_name, None)")
    tail = [copy.deepcopy(c) for c in student.cells[first:]]
    for c in tail:                          # cell ids are unique within a notebook
        if "id" in c:
            c["id"] = f"{c['id'][:56]}-student"
    combined.cells = teacher.cells + [sep] + tail
    return combined, len(teacher.cells)


def split_executed(doc):
    """The executed both_editions notebook cut at its separator: (instructor edition, student edition's part)."""
    import copy
    doc = _read(doc)
    at = next((i for i, c in enumerate(doc.cells) if _src(c).startswith(STUDENT_PART)), len(doc.cells))
    teacher, student = copy.deepcopy(doc), copy.deepcopy(doc)
    teacher.cells, student.cells = doc.cells[:at], doc.cells[at + 1:]
    return teacher, student


def write_student(notebooks, out: Path, strict: bool = True) -> list[Path]:
    """Write each notebook's student edition into `out`; one ValueError lists those not written (lint if strict)."""
    import nbformat
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    for nb in map(Path, notebooks):
        problems = lint(nb) if strict else []
        if not problems:
            try:
                edition = student_edition(nb)
            except Exception as e:  # nbgrader's RuntimeError/ValidationError on markers or metadata
                problems = [f"nbgrader: {e}"]
        if problems:
            failed.append(f"{nb.name}: not written, its exercises break the format (notebooks/AUTHORING.md):\n  "
                          + "\n  ".join(problems))
            continue
        dest = out / nb.name
        nbformat.write(edition, str(dest))
        written.append(dest)
    if failed:
        raise ValueError("\n".join(failed) + f"\n({len(written)} other notebook(s) written to {out})")
    return written


def main(argv=None) -> int:
    from .run import list_notebooks
    p = argparse.ArgumentParser(prog="python -m helpers.course.classroom", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("student", help="write student editions (default: every notebook into build/student/)")
    s.add_argument("out", nargs="?", type=Path, default=ROOT / "build" / "student")
    s.add_argument("--notebooks", nargs="+", help="only these notebooks")
    s.add_argument("--lax", action="store_true", help="write notebooks that break the format too, when nbgrader can")
    for name, text in (("lint", "check the exercise format"), ("list", "list exercise cells")):
        sub.add_parser(name, help=text).add_argument("notebooks", nargs="*")
    a = p.parse_args(argv)
    nbs = list_notebooks(a.notebooks)
    missing = [nb for nb in nbs if not nb.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if a.command == "student":
        try:
            for path in write_student(nbs, a.out, strict=not a.lax):
                n = sum(e["kind"] == "solution" for e in exercises(path))
                print(f"{path}  ({n} exercise(s) stubbed)")
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    bad = 0
    for nb in nbs:
        if a.command == "list":
            for e in exercises(nb):
                print(f"{nb.stem}  cell {e['index']:>3}  {e['kind']:<8}  {e['grade_id']}  points={e['points']}")
            continue
        problems = lint(nb)
        bad += bool(problems)
        for msg in problems:
            print(f"{nb.name}: {msg}")
    if a.command == "lint":
        print(f"{len(nbs) - bad}/{len(nbs)} notebook(s) follow the exercise format")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
