"""Small GPU-aware helpers shared by every notebook of the curriculum.

Importing this package is cheap: no deep-learning framework is imported until a
function that needs one is called.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter

from .device import (amp_dtype, autocast, cpu_flags, cpu_has_native_bf16, describe, device,
                     grad_scaler, precision_name, set_seed, set_threads, synchronize, tf_gpus,
                     Timer, try_all_gpus, try_gpu)
from .record import read_results, record

__all__ = ["amp_dtype", "autocast", "cpu_flags", "cpu_has_native_bf16", "describe", "device",
           "grad_scaler", "precision_name", "set_seed", "set_threads", "synchronize", "tf_gpus",
           "Timer", "try_all_gpus", "try_gpu", "record", "read_results", "setup"]
__version__ = "0.1.0"


def setup(seed: int = 0, device_name: str | None = "auto", quick: bool = False):
    """A notebook's set-up after its imports: seed everything, pick the device, record both, print the machine."""
    set_seed(seed)
    dev = device(device_name)
    record("device", str(dev))
    record("quick", bool(quick))
    print(describe())
    return dev
