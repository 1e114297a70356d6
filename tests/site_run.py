"""The quick-mode run of the test session, shared with the website test: each notebook's executed
instructor edition and its report row, written into one folder all xdist workers see."""
import json
import os
from pathlib import Path

KEEP = ("notebook", "status", "error", "duration_s", "device", "results")


def shared_folder(tmp_path_factory) -> Path:
    """A folder every worker of this pytest run shares (the parent of the workers' own base folders)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    folder = root / "site-run"
    folder.mkdir(exist_ok=True)
    return folder


def publish(row: dict, folder: Path) -> None:
    """Copy a native run's notebook beside its row; the row file, written last and atomically, says it is done."""
    out = Path(row["output"])
    if out.exists():
        (folder / out.name).write_bytes(out.read_bytes())
    tmp = folder / f".{row['notebook']}.json.tmp"
    tmp.write_text(json.dumps({k: row.get(k) for k in KEEP}, ensure_ascii=False, default=str))
    os.replace(tmp, folder / f"{row['notebook']}.json")
