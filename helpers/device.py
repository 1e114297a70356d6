"""Accelerators for torch and TensorFlow, mixed precision, threads and seeding.

Nothing here imports torch or TensorFlow at module import time: each function
imports the framework it needs when it is called.
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def _torch():
    import torch
    return torch


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(name: str | None = None):
    """Return the best torch.device: CUDA, then Apple MPS, then CPU (`name` or DLC_DEVICE overrides)."""
    torch = _torch()
    name = name or os.environ.get("DLC_DEVICE") or "auto"
    if name != "auto":
        dev = torch.device(name)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} was asked for but torch sees no CUDA GPU; "
                               "use DEVICE='auto' or 'cpu', or install a CUDA build of torch")
        if dev.type == "mps" and not _mps_available(torch):
            raise RuntimeError(f"device {name!r} was asked for but Apple MPS is not available")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda:0")
    if _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def try_gpu(i: int = 0):
    """Return GPU i (CUDA, or MPS for i=0) if it exists, else the CPU."""
    torch = _torch()
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    if i == 0 and _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def try_all_gpus():
    """Return every CUDA device, or [mps] on Apple silicon, or [cpu] when there is no GPU."""
    torch = _torch()
    gpus = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    if gpus:
        return gpus
    if _mps_available(torch):
        return [torch.device("mps")]
    return [torch.device("cpu")]


def tf_gpus():
    """Return TensorFlow's GPUs, with memory growth switched on so TF does not grab all memory."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth can no longer change
            pass
    return gpus


def _dtype(torch, dtype):
    names = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
             "fp16": torch.float16, "float16": torch.float16, "half": torch.float16}
    return names.get(dtype, dtype) if isinstance(dtype, str) else dtype


def autocast(dev=None, dtype=None):
    """Mixed-precision context: fp16/bf16 on CUDA, bf16 on CPU only when asked, else a no-op."""
    torch = _torch()
    dev = torch.device(dev) if dev is not None else device()
    dtype = _dtype(torch, dtype)
    if dev.type == "cuda":
        if dtype is None:
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    if dev.type == "mps" and dtype is not None:
        return torch.autocast("mps", dtype=dtype)
    if dev.type == "cpu" and dtype == torch.bfloat16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_seed(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python, NumPy, and torch/TensorFlow when they are imported; return the seed."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)
    if "keras" in sys.modules:
        try:
            sys.modules["keras"].utils.set_random_seed(seed)
        except AttributeError:
            pass
    return seed


def preload_triton() -> bool:
    """Import triton (if installed) before TensorFlow: TF 2.21 first, triton later crashes the process."""
    import importlib.util
    if "triton" in sys.modules:
        return True
    if "tensorflow" in sys.modules or importlib.util.find_spec("triton") is None:
        return False
    import triton  # noqa: F401  (0.2 s; torch.optim and torch.compile import it later anyway)
    return True


def set_threads(n: int | None = None) -> int:
    """Use n CPU threads in torch, TensorFlow and BLAS; call it before importing them to be sure."""
    preload_triton()
    n = int(n or os.environ.get("DLC_THREADS") or os.cpu_count() or 1)
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    os.environ["DLC_THREADS"] = str(n)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only settable once, before any parallel work
            pass
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # TF already initialised; the env vars apply to new processes
            pass
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:
        pass
    return n


def describe() -> str:
    """One line: Python, platform, framework versions and the devices each one sees."""
    parts = [f"Python {platform.python_version()}", f"{platform.system()} {platform.machine()}",
             f"{os.cpu_count()} CPUs"]
    try:
        torch = _torch()
        dev = device()
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type
        parts.append(f"torch {torch.__version__} on {dev} ({name}), threads {torch.get_num_threads()}")
    except ImportError:
        parts.append("torch not installed")
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        parts.append(f"tensorflow {tf.__version__} GPUs {len(tf.config.list_physical_devices('GPU'))}")
    return " | ".join(parts)
