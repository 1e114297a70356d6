"""What a notebook's page on the course website shows: the lesson's outputs, not the run's bookkeeping.

Records (`helpers.record`) are data for the run report, not output for a reader: they leave the page,
as does stderr (warnings and progress bars). Consecutive prints of a cell merge into one block. Papermill's injected-parameters cell (a test run's
temporary folders) leaves. The class edition shows nbgrader's student edition from the first exercise
on (stubs in place of solutions, no outputs there). A banner under the title says which run the
outputs come from, and a notebook that failed says so there, with the line it stopped at.
"""
from __future__ import annotations

import copy
import re

from helpers.record import MIME

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EDITIONS = ("class", "instructor")


def lesson_outputs(outputs) -> list:
    """A cell's outputs without records and stderr (warnings, progress), consecutive prints merged into one."""
    kept = []
    for out in outputs:
        if MIME in out.get("data", {}) or (out.get("output_type") == "stream" and out.get("name") == "stderr"):
            continue
        prev = kept[-1] if kept else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            prev["text"] = "".join(prev["text"]) + "".join(out["text"])
            continue
        kept.append(copy.deepcopy(out))
    return kept


def failure(doc, row: dict) -> str:
    """What stopped a failed notebook, in words: the error and the source line the traceback points at."""
    error = (row.get("error") or "an error").strip()
    for cell in doc.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                lines = [ANSI.sub("", line) for tb in out.get("traceback", []) for line in tb.splitlines()]
                arrows = [line.split("-->", 1)[1].strip() for line in lines if "-->" in line]
                if arrows:
                    where = re.sub(r"^\d+\s*", "", arrows[-1])
                    return f"{error.rstrip(':')} at `{where}`"
    return error


def class_edition(doc):
    """The notebook from its first exercise on as the student edition (nbgrader's stubs, no outputs); a new notebook."""
    from .classroom import exercises, student_edition
    found = exercises(doc)
    doc = copy.deepcopy(doc)
    if not found:
        return doc
    first = found[0]["index"]
    student = student_edition(doc)
    doc.cells = doc.cells[:first] + student.cells[first:]
    return doc


def run_date(meta: dict) -> str:
    """When a run finished, to the minute ('2026-12-07 01:02'), or '' where it was not recorded."""
    return str(meta.get("finished", ""))[:16].replace("T", " ")


def banner(meta: dict, row: dict, doc) -> str:
    """The Markdown admonition under a page's title: the run the outputs come from, and a failure if there was one."""
    mode = meta.get("mode", "quick")
    when = run_date(meta)
    where = ", ".join(str(x) for x in (meta.get("machine"), f"CPU kind {meta.get('cpu_kind')}" if meta.get("cpu_kind")
                                       else None, row.get("device")) if x)
    text = (f"Outputs from a **{mode}-mode run** on {where or 'an unnamed machine'}, {when or 'date not recorded'}. ")
    if mode == "quick":
        text += ("Quick mode shrinks the data and the training to test the notebook in seconds: its numbers are "
                 "smaller than the full-mode results the text describes (`make run` gives those).")
    else:
        text += "Full mode: the sizes and results the text describes."
    out = f"```{{admonition}} About these outputs\n:class: run-banner\n\n{text}\n```\n"
    if row.get("status", "ok") != "ok":
        out += (f"\n```{{admonition}} This notebook stopped with an error in this run\n:class: error run-failed\n\n"
                f"It stopped at {failure(doc, row)}. The outputs below end where it stopped.\n```\n")
    return out


def page(doc, meta: dict, row: dict, edition: str = "class"):
    """The notebook as its page shows it (a new notebook): see the module's docstring."""
    import nbformat
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    shown = class_edition(doc) if edition == "class" else copy.deepcopy(doc)
    shown.cells = [c for c in shown.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in shown.cells:
        if cell.cell_type == "code":
            cell.outputs = lesson_outputs(cell.get("outputs", []))
    note = banner(meta, row, doc)
    first = next((c for c in shown.cells if c.cell_type == "markdown" and re.match(r"#\s", c.source)), None)
    if first is None:
        shown.cells.insert(0, nbformat.v4.new_markdown_cell(note))
    else:                                               # right under the title line
        head, _, rest = first.source.partition("\n")
        first.source = f"{head}\n\n{note}\n{rest}"
    return shown
