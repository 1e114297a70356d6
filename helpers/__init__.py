"""Small GPU-aware helpers shared by every notebook of the curriculum.

Four rooms beside the core modules (device, train, record, plots): `helpers.data` (retrieve and
load datasets), `helpers.models` (networks, recipes, scale-out, edge export), `helpers.checks`
(gradient checks and exercise checkers), `helpers.course` (the runner, student editions, authoring).
Importing this package is cheap: no deep-learning framework is loaded, and each room is imported
on first use (`helpers.data.fetch(...)` works after `import helpers`).
"""
import importlib as _importlib
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter

from .device import (
    Timer,
    amp_dtype,
    autocast,
    cpu_flags,
    cpu_has_native_bf16,
    describe,
    device,
    grad_scaler,
    median_ms,
    precision_name,
    set_seed,
    set_threads,
    synchronize,
    tf_gpus,
    try_all_gpus,
    try_gpu,
)
from .record import read_results, record

__all__ = ["amp_dtype", "autocast", "cpu_flags", "cpu_has_native_bf16", "describe", "device",
           "grad_scaler", "median_ms", "precision_name", "set_seed", "set_threads", "synchronize", "tf_gpus",
           "Timer", "try_all_gpus", "try_gpu", "record", "read_results", "setup"]
__version__ = "0.1.0"


def setup(seed: int = 0, device_name: str | None = "auto", quick: bool = False):
    """A notebook's set-up after its imports: seed everything, pick the device, record them, print the machine."""
    set_seed(seed)
    dev = device(device_name)
    record("seed", int(seed))
    record("device", str(dev))
    record("quick", bool(quick))
    print(describe())
    return dev


ROOMS = ("data", "models", "checks", "course")


def __getattr__(name: str):
    """Import a room (helpers.data, helpers.models, helpers.checks, helpers.course) on first use."""
    if name in ROOMS:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
