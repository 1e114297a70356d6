"""Strip notebook outputs for git, keeping only the `# NBVAL_CHECK_OUTPUT` cells' outputs.

    python -m helpers.nbclean notebooks/*.ipynb
    python -m helpers.nbclean --from-executed build/out.ipynb notebooks/NN_name.ipynb
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

CHECK = "NBVAL_CHECK_OUTPUT"
MIME_DROP = ("application/vnd.dlc.record+json",)


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
    """Return `doc` without outputs, execution counts and run metadata (NBVAL cells keep outputs)."""
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
    doc.get("metadata", {}).pop("papermill", None)
    return doc


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
