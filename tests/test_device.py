"""helpers.device: real CPU paths, and CUDA/MPS paths with the framework calls faked."""
import contextlib
import importlib
import subprocess
import sys

import pytest
import torch

import helpers
hd = importlib.import_module("helpers.device")  # the package re-exports the function device()


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.delenv("DLC_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def two_cuda(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def mps(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


def test_cpu_fallback(no_gpu):
    assert hd.device() == torch.device("cpu")
    assert hd.try_gpu() == torch.device("cpu")
    assert hd.try_gpu(3) == torch.device("cpu")
    assert hd.try_all_gpus() == [torch.device("cpu")], "no GPU: one CPU device, so loops still run"


def test_override_by_argument_and_env(no_gpu, monkeypatch):
    assert hd.device("cpu") == torch.device("cpu")
    monkeypatch.setenv("DLC_DEVICE", "cpu")
    assert hd.device() == torch.device("cpu")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        hd.device("cuda")
    with pytest.raises(RuntimeError, match="MPS"):
        hd.device("mps")


def test_cuda_preferred_and_listed(two_cuda):
    assert hd.device() == torch.device("cuda:0")
    assert hd.try_gpu(1) == torch.device("cuda:1")
    assert hd.try_gpu(2) == torch.device("cpu")
    assert hd.try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]
    assert hd.device("cuda:1") == torch.device("cuda:1")


def test_mps_when_no_cuda(mps):
    assert hd.device() == torch.device("mps")
    assert hd.try_gpu() == torch.device("mps") and hd.try_gpu(1) == torch.device("cpu")
    assert hd.try_all_gpus() == [torch.device("mps")]


@pytest.fixture
def cpu_with(monkeypatch):
    """Fake the CPU's feature flags: cpu_with({"avx2"}) is an AVX2-only laptop (CPUID unread, oneDNN uncapped)."""
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)

    def fake(flags):
        monkeypatch.setattr(hd, "cpu_flags", lambda: set(flags))
        monkeypatch.setattr(hd, "cpuid_flags", lambda: None)
    return fake


@pytest.fixture
def cuda_cap(monkeypatch):
    """Fake a CUDA GPU of the given compute capability: cuda_cap(7, 5) is a T4, cuda_cap(8, 0) an A100."""
    def fake(major, minor):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (major, minor))
        return torch.device("cuda:0")
    return fake


AVX2 = {"sse2", "avx", "avx2", "fma"}
AVX512_BF16 = AVX2 | {"avx512f", "avx512bw", "avx512_bf16"}


def test_pre_ampere_gpu_gets_fp16_with_loss_scaling(cuda_cap):
    t4 = cuda_cap(7, 5)
    assert hd.amp_dtype(t4, "auto") == torch.float16 and hd.precision_name(t4, "auto") == "fp16"
    assert hd.grad_scaler(t4, "auto").is_enabled(), "fp16 without loss scaling underflows small gradients"
    assert hd.grad_scaler(t4, "fp16").is_enabled()
    assert not hd.grad_scaler(t4, "bf16").is_enabled() and hd.amp_dtype(t4, "bf16") == torch.bfloat16


def test_ampere_gpu_gets_bf16_without_scaler(cuda_cap):
    a100 = cuda_cap(8, 0)
    assert hd.amp_dtype(a100, "auto") == torch.bfloat16 and hd.precision_name(a100, "auto") == "bf16"
    assert not hd.grad_scaler(a100, "auto").is_enabled(), "bf16 has fp32's range: no loss scaling"
    assert hd.amp_dtype(a100, "fp16") == torch.float16 and hd.grad_scaler(a100, "fp16").is_enabled()


@pytest.mark.parametrize("flags,want", [(AVX2, "fp32"), (AVX2 | {"avx512f"}, "fp32"), (AVX512_BF16, "bf16"),
                                        (AVX2 | {"amx_bf16", "amx_tile"}, "bf16"), (set(), "fp32")])
def test_cpu_auto_is_bf16_only_with_native_bf16(cpu_with, flags, want):
    cpu_with(flags)
    assert hd.precision_name("cpu", "auto") == want
    assert hd.cpu_has_native_bf16(flags) == (want == "bf16")
    assert not hd.grad_scaler("cpu", "auto").is_enabled(), "the CPU never scales the loss"


def test_mps_auto_is_fp32_unless_forced():
    mps = torch.device("mps")
    assert hd.amp_dtype(mps, "auto") is None
    assert hd.amp_dtype(mps, "fp16") == torch.float16 and hd.amp_dtype(mps, "bf16") == torch.bfloat16


@pytest.mark.parametrize("off", [None, "fp32", "float32", "off", torch.float32])
def test_off_is_fp32_everywhere(cpu_with, cuda_cap, off):
    cpu_with(AVX512_BF16)
    devices = [torch.device("cpu"), torch.device("mps"), cuda_cap(7, 5)]
    assert [hd.amp_dtype(d, off) for d in devices] == [None, None, None]
    assert [hd.precision_name(d, off) for d in devices] == ["fp32"] * 3
    assert not any(hd.grad_scaler(d, off).is_enabled() for d in devices)
    cuda_cap(8, 0)
    assert hd.amp_dtype("cuda", off) is None


class FakeAutocast:
    """Stands for torch.autocast on a machine without the device: records what it was asked for."""
    calls = []

    def __init__(self, device_type, dtype=None):
        FakeAutocast.calls.append((device_type, dtype))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("cap,amp,want", [((7, 5), None, []), ((8, 0), None, []),
                                          ((7, 5), "auto", [("cuda", torch.float16)]),
                                          ((8, 0), "auto", [("cuda", torch.bfloat16)]),
                                          ((8, 0), "fp16", [("cuda", torch.float16)])])
def test_cuda_autocast_follows_the_policy(monkeypatch, cuda_cap, cap, amp, want):
    gpu = cuda_cap(*cap)
    monkeypatch.setattr(torch, "autocast", FakeAutocast)
    FakeAutocast.calls.clear()
    ctx = hd.autocast(gpu, amp)
    with ctx:
        pass
    assert FakeAutocast.calls == want
    assert isinstance(ctx, contextlib.nullcontext) == (amp is None), "amp=None is a no-op, also on CUDA"


def test_cpu_autocast_changes_the_result_dtype(cpu_with):
    x = torch.randn(4, 4)
    cpu_with(AVX2)
    for amp, want in [(None, torch.float32), ("auto", torch.float32), ("bf16", torch.bfloat16),
                      ("fp16", torch.float16)]:
        with hd.autocast("cpu", amp):
            assert (x @ x).dtype == want, amp
    cpu_with(AVX512_BF16)
    with hd.autocast("cpu", "auto"):
        assert (x @ x).dtype == torch.bfloat16


@pytest.mark.parametrize("bad", ["fp8", "BF16", "", True, 16, torch.float64, torch.int8])
def test_bad_precision_raises(bad):
    for fn in (hd.amp_dtype, hd.precision_name, hd.grad_scaler, hd.autocast):
        with pytest.raises(ValueError, match="amp="):
            fn("cpu", bad)


def test_cpu_flags(monkeypatch):
    import platform
    flags = hd.cpu_flags()
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        assert {"sse2", "fpu"} <= flags, "read from /proc/cpuinfo"
    assert hd.cpu_has_native_bf16(flags) == bool(flags & {"avx512_bf16", "amx_bf16"})

    def no_file(*a, **k):
        raise OSError("no /proc here")
    monkeypatch.setattr(hd, "open", no_file, raising=False)
    assert hd.cpu_flags() == set() and hd.cpu_has_native_bf16() is False


def test_bf16_needs_cpuid_and_an_uncapped_onednn(monkeypatch):
    monkeypatch.setattr(hd, "cpu_flags", lambda: AVX512_BF16)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert hd.cpu_has_native_bf16() and hd.precision_name("cpu", "auto") == "bf16"
    # an emulated Haswell shows the host's /proc/cpuinfo; CPUID tells the truth
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "fma"})
    assert not hd.cpu_has_native_bf16() and hd.precision_name("cpu", "auto") == "fp32"
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    for isa, native in [("AVX2", False), ("avx512_core", False), ("AVX512_CORE_BF16", True), ("ALL", True)]:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
        assert hd.cpu_has_native_bf16() is native, isa


def test_timer_and_synchronize(monkeypatch, cuda_cap):
    import time
    with hd.Timer("cpu") as t:
        time.sleep(0.05)
    assert 0.05 <= t.seconds < 5
    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: synced.append(d))
    with hd.Timer(cuda_cap(8, 0)):
        assert len(synced) == 1, "queued GPU work is waited for before the clock starts"
    assert len(synced) == 2, "and before it stops"


def test_set_seed_repeats_all_generators():
    import random

    import numpy as np

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()
    hd.set_seed(7)
    a = draw()
    hd.set_seed(7)
    assert draw() == pytest.approx(a, rel=1e-12)
    hd.set_seed(8)
    assert all(b != pytest.approx(c, rel=1e-3) for b, c in zip(draw(), a))


def test_tf_gpus_turns_on_memory_growth(monkeypatch):
    hd.preload_triton()  # TensorFlow before triton crashes a later torch.optim in this process
    import tensorflow as tf
    grown = []
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: ["GPU:0", "GPU:1"])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda g, on: grown.append((g, on)))
    assert hd.tf_gpus() == ["GPU:0", "GPU:1"]
    assert grown == [("GPU:0", True), ("GPU:1", True)]


def _py(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout.strip()


def test_set_threads_before_import_reaches_torch_and_tf():
    code = ("import os, helpers; helpers.set_threads({n})\nimport torch, tensorflow as tf\n"
            "a = tf.random.normal([300, 300]); tf.linalg.matmul(a, a).numpy()\n"
            "print(torch.get_num_threads(), len(os.listdir('/proc/self/task')))")
    torch1, os_threads1 = map(int, _py(code.format(n=1)).split()[-2:])
    torch2, os_threads2 = map(int, _py(code.format(n=2)).split()[-2:])
    assert (torch1, torch2) == (1, 2)
    assert os_threads1 < os_threads2, "TensorFlow must start fewer pool threads after set_threads(1)"


def test_set_threads_after_import():
    import os
    before, env = torch.get_num_threads(), dict(os.environ)
    try:
        assert hd.set_threads(1) == 1 and torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
    finally:
        torch.set_num_threads(before)
        os.environ.clear()
        os.environ.update(env)


def test_describe_is_one_line():
    line = helpers.describe()
    assert "torch" in line and "\n" not in line


def test_set_threads_prevents_tf_then_triton_crash():
    # TensorFlow imported before triton (which torch.optim pulls in) segfaults; set_threads() loads it first.
    out = _py("import helpers; helpers.set_threads()\nimport tensorflow, torch\n"
              "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\nprint('alive')")
    assert out.endswith("alive")


def test_median_ms_warms_up_then_times_each_item_once():
    calls = []
    ms = helpers.median_ms(calls.append, [3, 1, 2], warmup=2)
    assert calls == [3, 1, 3, 1, 2] and 0 <= ms < 1e3
