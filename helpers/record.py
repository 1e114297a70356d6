"""Named results recorded inside a notebook and read back from the executed file."""
from __future__ import annotations

import json
import math
from pathlib import Path

MIME = "application/vnd.dlc.record+json"
RESULTS: dict = {}


def _plain(value):
    """Turn NumPy/torch scalars and arrays into JSON-ready Python values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def record(name: str, value):
    """Store a named result in the notebook's output (and return the value unchanged)."""
    plain = _plain(value)
    RESULTS[name] = plain
    payload = {"name": name, "value": plain}
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            display({MIME: payload, "text/plain": f"recorded {name} = {plain!r}"}, raw=True)
            return value
    except ImportError:
        pass
    print(f"recorded {name} = {plain!r}")
    return value


def read_results(path) -> dict:
    """Return {name: value} of everything recorded in an executed notebook (last value wins)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    results = {}
    for cell in doc.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data", {})
            if MIME in data:
                payload = data[MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                results[payload["name"]] = payload["value"]
    return results
