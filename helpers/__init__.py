"""Small GPU-aware helpers shared by every notebook of the curriculum.

Importing this package is cheap: no deep-learning framework is imported until a
function that needs one is called.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter

from .device import (autocast, describe, device, set_seed, set_threads, tf_gpus,
                     try_all_gpus, try_gpu)
from .record import read_results, record

__all__ = ["autocast", "describe", "device", "set_seed", "set_threads", "tf_gpus",
           "try_all_gpus", "try_gpu", "record", "read_results"]
__version__ = "0.1.0"
