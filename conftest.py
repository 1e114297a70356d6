"""Test set-up: the repository on sys.path, and one thread per xdist worker."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402  (framework-free import)
from helpers.device import preload_triton  # noqa: E402

# In every test process: triton before any test imports TensorFlow (TF first, then torch.optim
# loading triton, crashes the process; see README, Troubleshooting).
preload_triton()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel workers share the cores: one thread each, set before any framework is imported.
    # The notebook kernels a worker starts inherit the setting through the environment.
    helpers.set_threads(1)

# What a skipped test needs, by a word of its reason -> the Debian package that brings it.
SYSTEM_PACKAGES = {"chromium": "chromium", "cjk font": "fonts-noto-cjk", "qemu": "qemu-user"}


def pytest_terminal_summary(terminalreporter):
    """At the end of the run: which tests were skipped, why, and the one command that installs what they need."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = {}
    for rep in skipped:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons.setdefault(reason, []).append(rep.nodeid)
    tr = terminalreporter
    tr.section("skipped tests: what they need")
    for reason, ids in reasons.items():
        tr.write_line(f"{len(ids)} skipped ({ids[0]}{', ...' if len(ids) > 1 else ''}): {reason}")
    found = [p for word, p in SYSTEM_PACKAGES.items() if any(word in r.lower() for r in reasons)]
    if found:
        sudo = "" if os.geteuid() == 0 else "sudo "
        tr.write_line(f"install what they need (Debian/Ubuntu), then run the tests again:  "
                      f"{sudo}apt-get install -y {' '.join(dict.fromkeys(found))}", bold=True)
    if any("mirror" in r for r in reasons):
        tr.write_line("the data tests need the course's offline mirror: export DLC_DATA_MIRROR=/path/to/mirror "
                      "(see data/README.md)", bold=True)


# Seconds the longest test groups took (quick mode, one thread a worker, 2-core AVX-512 machine):
# pytest_collection_modifyitems starts them first, so that the short tests fill the end of the run
# on every worker (longest-first scheduling under `pytest -n N --dist loadgroup`). Groups not listed
# count as short; the numbers only order the run, nothing asserts them.
LONG_GROUPS = {"10_case_visual_quality_inspection-native": 105, "12_scaling_out": 98, "05_cnns_on_cifar10": 80,
               "test_distributed": 52, "13_large_models_on_a_budget": 50, "07_attention_and_transformers": 43,
               "06_lstms_and_sequences": 43,
               "10_case_visual_quality_inspection": 40, "test_nbgrader": 38, "09_case_remaining_useful_life": 36,
               "browser": 33, "08_case_predictive_maintenance": 24,
               "site": -1}   # the website test waits for every notebook run: it goes last


def _group_cost(item) -> float:
    """The LONG_GROUPS estimate of an item's xdist group ("NN_name-kind" falls back to "NN_name")."""
    mark = item.get_closest_marker("xdist_group")
    name = (mark.args[0] if mark.args else mark.kwargs.get("name", "")) if mark else item.name
    return LONG_GROUPS.get(name, LONG_GROUPS.get(name.rsplit("-", 1)[0], 0))


def pytest_collection_modifyitems(config, items):
    """Longest groups first (a stable sort: the order within a group and among short tests stays)."""
    items.sort(key=_group_cost, reverse=True)
