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
    import torch  # local: `import helpers` stays framework-free, and a TF-only notebook never loads torch
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
    import tensorflow as tf  # local: device serves torch-only notebooks too, which never load TensorFlow
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


# NumPy's names of the CPUID features the course cares about -> /proc/cpuinfo's names.
_CPUID_NAMES = {"AVX2": "avx2", "FMA3": "fma", "F16C": "f16c", "GFNI": "gfni", "VAES": "vaes",
                "VPCLMULQDQ": "vpclmulqdq", "AVX512F": "avx512f", "AVX512CD": "avx512cd",
                "AVX512BW": "avx512bw", "AVX512DQ": "avx512dq", "AVX512VL": "avx512vl",
                "AVX512VNNI": "avx512_vnni", "AVX512BF16": "avx512_bf16", "AVX512FP16": "avx512_fp16",
                "ASIMD": "asimd", "ASIMDDP": "asimddp"}
# Below these oneDNN levels (ONEDNN_MAX_CPU_ISA) there are no bf16 dot products.
_ONEDNN_NO_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
# Run as an AVX2-only CPU (no AVX-512, no VNNI, no BF16): each library's own switch, set before import.
AVX2_ENV = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",   # NumPy's SIMD dispatch
            "ATEN_CPU_CAPABILITY": "avx2",                                 # PyTorch's own kernels
            "ONEDNN_MAX_CPU_ISA": "AVX2",                                  # oneDNN in PyTorch and TensorFlow
            "TF_ENABLE_ONEDNN_OPTS": "0"}                                  # TF's default on pre-AVX-512 CPUs


def cpuid_flags() -> set | None:
    """SIMD features as the CPU itself reports them (CPUID, read by NumPy), in /proc/cpuinfo's names; None if unknown."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        return None
    return {name for key, name in _CPUID_NAMES.items() if __cpu_features__.get(key)}


def proc_flag(name: str) -> bool:
    """A /proc/cpuinfo flag NumPy does not read (avx_vnni, amx_int8), trusted only where /proc agrees with CPUID.

    Under an emulator (qemu-user) /proc/cpuinfo is the host's: any disagreement on the features both know shows it.
    """
    proc, cpuid = cpu_flags(), cpuid_flags()
    if name not in proc:
        return False
    if not cpuid:                        # CPUID unread: nothing to check /proc against
        return True
    known = set(_CPUID_NAMES.values())
    return (proc & known) == cpuid


def cpu_has_native_bf16(flags=None) -> bool:
    """True when bf16 runs in hardware here (AVX512-BF16 or AMX, and oneDNN not capped below); else it is emulated and slow.

    `flags` (for tests) replaces the machine's flags. Without it the flags of /proc/cpuinfo must agree with CPUID
    (an emulator shows the host's /proc/cpuinfo) and ONEDNN_MAX_CPU_ISA must not cap oneDNN below AVX512_CORE_BF16.
    """
    if flags is not None:
        return bool(set(flags) & {"avx512_bf16", "amx_bf16"})
    if not cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        return False
    cpuid = cpuid_flags()
    if cpuid is not None and "avx512_bf16" not in cpuid:    # every AMX CPU has AVX512-BF16 too
        return False
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() not in _ONEDNN_NO_BF16


def cpu_kind() -> str:
    """A short name for the kind of CPU the kernels will see, e.g. 'x86-avx512-vnni-bf16', 'x86-avx2', 'arm64-dotprod'."""
    f = cpuid_flags() or cpu_flags()
    arch = platform.machine().lower()
    if arch in ("arm64", "aarch64"):
        return "arm64-dotprod" if "asimddp" in f else "arm64"
    if "avx512f" in f:
        extra = [name for flag, name in (("avx512_vnni", "vnni"), ("avx512_bf16", "bf16")) if flag in f]
        return "-".join(["x86-avx512", *extra])
    if "avx2" in f:
        return "x86-avx2-vnni" if proc_flag("avx_vnni") else "x86-avx2"
    return f"{arch or 'cpu'}-baseline"


def avx2_env() -> dict:
    """The switches (AVX2_ENV) that make this machine's libraries take their AVX2 kernels; {} on an AVX2-only CPU already."""
    f = cpuid_flags()
    if f is None or "avx2" not in f or "avx512f" not in f:
        return {}
    return dict(AVX2_ENV)


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


def thread_count(n: int | None = None) -> int:
    """The course's thread count: n, else DLC_THREADS (one per test worker), else every core."""
    return int(n or os.environ.get("DLC_THREADS") or os.cpu_count() or 1)


def set_threads(n: int | None = None) -> int:
    """Use n CPU threads in torch, TensorFlow and BLAS; call it before importing them to be sure."""
    preload_triton()
    n = thread_count(n)
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


def median_ms(fn, items, warmup: int = 0) -> float:
    """Median milliseconds of fn(item) over the items, one call at a time, after `warmup` untimed calls."""
    import time

    import numpy as np
    items = list(items)
    for item in items[:warmup]:
        fn(item)
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))
