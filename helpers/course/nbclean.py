"""The committed outputs of `# NBVAL_CHECK_OUTPUT` cells: keep them when stripping a notebook for git,
and compare them with an executed copy using nbval's own comparison (no second execution).

    python -m helpers.course.nbclean notebooks/*.ipynb
    python -m helpers.course.nbclean --from-executed build/out.ipynb notebooks/NN_name.ipynb
"""
from __future__ import annotations

import argparse
import copy
import difflib
import json
from pathlib import Path
from types import SimpleNamespace

CHECK = "NBVAL_CHECK_OUTPUT"
MIME_DROP = ("application/vnd.dlc.record+json",)
# Every notebook names the kernel "python3": run from the course's .venv (make lab, papermill, the tests,
# nbgrader) that is ipykernel's own kernel of the venv's Python, and VS Code runs it with the interpreter
# selected for the workspace (.vscode/settings.json: .venv/bin/python). The display name is ipykernel's,
# so that saving in JupyterLab does not change the file.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# notebook metadata that only records where it was last run (Python version, widget state)
META_DROP = ("papermill", "language_info", "widgets")
# nbval 0.11's IPyNbFile.skip_compare (without --nbdime), plus the recorded-results MIME nbclean drops.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg") + MIME_DROP


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def is_checked(cell) -> bool:
    """True for a code cell whose output nbval compares (its source has '# NBVAL_CHECK_OUTPUT')."""
    return cell.get("cell_type") == "code" and CHECK in _src(cell)


def _keep_outputs(outputs):
    kept = []
    for out in outputs:
        out = dict(out)
        if "data" in out:
            out["data"] = {k: v for k, v in out["data"].items() if k not in MIME_DROP}
            if not out["data"]:
                continue
        if "execution_count" in out:
            out["execution_count"] = None
        kept.append(out)
    return kept


def clean(doc: dict, executed: dict | None = None) -> dict:
    """Return `doc` without outputs, execution counts and run metadata (NBVAL cells keep outputs), kernel python3."""
    fresh = {}
    if executed is not None:
        fresh = {_src(c): c.get("outputs", []) for c in executed["cells"] if is_checked(c)}
    for cell in doc["cells"]:
        meta = cell.get("metadata", {})
        for key in ("papermill", "execution", "ExecuteTime", "collapsed", "scrolled"):
            meta.pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        cell["execution_count"] = None
        if is_checked(cell):
            cell["outputs"] = _keep_outputs(fresh.get(_src(cell), cell.get("outputs", [])))
        else:
            cell["outputs"] = []
    doc["cells"] = [c for c in doc["cells"]
                    if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    meta = doc.setdefault("metadata", {})
    for key in META_DROP:
        meta.pop(key, None)
    meta["kernelspec"] = dict(KERNELSPEC)
    return doc


def _unified_diff(config, op, left, right):
    """Stand-in for pytest's assertrepr hook that nbval calls: a unified diff of two texts."""
    if not (isinstance(left, str) and isinstance(right, str)):
        return []
    diff = difflib.unified_diff(left.splitlines(), right.splitlines(), "committed", "executed", lineterm="")
    return [["committed != executed (- committed, + executed):", *diff]]


def _nbval_checker():
    """An object on which nbval's IPyNbCell comparison methods run without a kernel or a pytest item."""
    from nbval.plugin import IPyNbCell, nocolors

    class Checker:
        compare_outputs = IPyNbCell.compare_outputs
        format_output_compare = IPyNbCell.format_output_compare
        sanitize = IPyNbCell.sanitize
        colors = nocolors
        config = None
        parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns={})
        ihook = SimpleNamespace(pytest_assertrepr_compare=_unified_diff)

    return Checker()


def compare_checked(committed: dict, executed: dict) -> list[str]:
    """Compare every `# NBVAL_CHECK_OUTPUT` cell's committed outputs with the executed copy's, as nbval does.

    Returns one readable report per mismatching cell (empty when all match)."""
    import nbformat
    from nbval.plugin import coalesce_streams

    checker = _nbval_checker()
    # nbformat's reader joins multi-line sources and texts, as nbval's own reading does
    committed, executed = (nbformat.reads(json.dumps(d), as_version=4) for d in (committed, executed))
    ref_cells = [(i, c) for i, c in enumerate(committed["cells"]) if is_checked(c)]
    run_cells = [c for c in executed["cells"] if is_checked(c)]
    if len(ref_cells) != len(run_cells):
        return [f"{len(ref_cells)} checked cell(s) committed but {len(run_cells)} in the executed copy"]
    problems = []
    for (i, ref), run in zip(ref_cells, run_cells):
        lines = [ln for ln in _src(ref).splitlines() if ln.strip() and CHECK not in ln] or [CHECK]
        title = f"cell {i} ({lines[0].strip()[:60]!r})"
        if _src(ref) != _src(run):
            problems.append(f"{title}: the executed copy's source differs from the committed one")
            continue
        ref_outs = coalesce_streams(copy.deepcopy(ref.get("outputs", [])))
        run_outs = coalesce_streams(copy.deepcopy(run.get("outputs", [])))
        if not checker.compare_outputs(run_outs, ref_outs):
            problems.append(f"{title}: outputs differ\n" + "\n".join(map(str, checker.comparison_traceback)))
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--from-executed", type=Path, help="copy NBVAL cell outputs from this executed notebook")
    a = p.parse_args(argv)
    executed = json.loads(a.from_executed.read_text(encoding="utf-8")) if a.from_executed else None
    for nb in a.notebooks:
        doc = clean(json.loads(nb.read_text(encoding="utf-8")), executed)
        nb.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"cleaned {nb}")


if __name__ == "__main__":
    main()
