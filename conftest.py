"""Test set-up: quick mode, one thread per xdist worker, nbval cells of one notebook kept together."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DLC_QUICK", "1")

import helpers  # noqa: E402  (framework-free import)

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel workers share the cores: one thread each, set before any framework is imported.
    helpers.set_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Give every nbval cell of a notebook the same xdist group, so one worker runs them in order."""
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(Path(str(item.fspath)).stem))
            cell = getattr(item, "cell", None)
            # Notebooks are committed without execution counts; nbval treats a cell with outputs
            # but no count as "unrun" and refuses it, so give the checked cells a count here.
            if cell is not None and cell.get("outputs") and cell.get("execution_count") is None:
                cell["execution_count"] = 1
