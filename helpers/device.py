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
    """Import torch when a function first needs it."""
    import torch
    return torch


def _mps_available(torch) -> bool:
    """True when this torch build sees an Apple GPU (MPS)."""
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


def cpu_flags() -> set:
    """The CPU's feature flags (from /proc/cpuinfo on Linux; empty where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            return {w for line in f if line.startswith("flags") for w in line.split(":", 1)[1].split()}
    except OSError:
        return set()


def cpu_has_native_bf16(flags=None) -> bool:
    """True when the CPU multiplies bf16 in hardware (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    flags = cpu_flags() if flags is None else set(flags)
    return bool(flags & {"avx512_bf16", "amx_bf16"})


_DTYPE_NAMES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
                "half": "float16", "fp32": None, "float32": None, "off": None}


def amp_dtype(dev=None, amp=None):
    """The one precision policy: the autocast dtype for `amp` on `dev`, or None for plain fp32.

    amp=None (or "fp32") is off everywhere. amp="auto" is bf16 where the hardware runs it natively
    (CUDA compute capability 8.0+, CPUs with AVX512-BF16 or AMX), fp16 on older CUDA GPUs (use
    grad_scaler() with it), fp32 elsewhere (MPS included). "bf16"/"fp16" or a torch dtype force one.
    """
    torch = _torch()
    if amp is None:
        return None
    dev = torch.device(dev) if dev is not None else device()
    if isinstance(amp, str):
        if amp == "auto":
            if dev.type == "cuda":
                major, _ = torch.cuda.get_device_capability(dev)
                return torch.bfloat16 if major >= 8 else torch.float16
            if dev.type == "cpu" and cpu_has_native_bf16():
                return torch.bfloat16
            return None
        if amp not in _DTYPE_NAMES:
            raise ValueError(f"amp={amp!r}: use None (fp32), 'auto', 'bf16' or 'fp16'")
        name = _DTYPE_NAMES[amp]
        return getattr(torch, name) if name else None
    if amp == torch.float32:
        return None
    if amp not in (torch.bfloat16, torch.float16):
        raise ValueError(f"amp={amp!r}: autocast takes torch.bfloat16 or torch.float16")
    return amp


def precision_name(dev=None, amp=None) -> str:
    """'fp32', 'bf16' or 'fp16': what amp_dtype(dev, amp) gives, for printing and recording."""
    torch = _torch()
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype(dev, amp)]


def grad_scaler(dev=None, amp=None):
    """A torch GradScaler, enabled only where amp_dtype(dev, amp) is fp16 on CUDA (loss scaling)."""
    torch = _torch()
    dev = torch.device(dev) if dev is not None else device()
    dtype = amp_dtype(dev, amp)  # first, so a bad `amp` raises on every device
    enabled = dev.type == "cuda" and dtype == torch.float16
    return torch.amp.GradScaler("cuda" if dev.type == "cuda" else "cpu", enabled=enabled)


def autocast(dev=None, amp=None):
    """Mixed-precision context for amp_dtype(dev, amp); a no-op when that is fp32 (amp=None)."""
    torch = _torch()
    dev = torch.device(dev) if dev is not None else device()
    dtype = amp_dtype(dev, amp)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(dev.type, dtype=dtype)


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


def synchronize(dev=None):
    """Wait until the work queued on `dev` (CUDA or MPS) is done; nothing to wait for on the CPU."""
    torch = _torch()
    dev = torch.device(dev) if dev is not None else device()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


class Timer:
    """Wall-clock seconds of a `with Timer(dev) as t:` block, waiting for queued GPU work at both ends (t.seconds)."""

    def __init__(self, dev=None):
        """Time on `dev` (None: no device to wait for)."""
        self.dev, self.seconds = dev, None

    def __enter__(self):
        """Synchronise the device and start the clock."""
        import time
        if self.dev is not None:
            synchronize(self.dev)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        """Synchronise the device and stop the clock."""
        import time
        if self.dev is not None:
            synchronize(self.dev)
        self.seconds = time.perf_counter() - self._t0
        return False
