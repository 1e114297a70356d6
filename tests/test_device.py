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


def test_cpu_autocast_only_when_bf16_asked():
    x = torch.randn(4, 4)
    with hd.autocast(torch.device("cpu")):
        assert (x @ x).dtype == torch.float32
    with hd.autocast(torch.device("cpu"), "fp16"):
        assert (x @ x).dtype == torch.float32, "fp16 on CPU is slow: stays a no-op"
    with hd.autocast("cpu", "bf16"):
        assert (x @ x).dtype == torch.bfloat16


class FakeAutocast(contextlib.nullcontext):
    calls = []

    def __init__(self, device_type, dtype=None):
        super().__init__()
        FakeAutocast.calls.append((device_type, dtype))


@pytest.mark.parametrize("bf16_ok,asked,want", [(True, None, torch.bfloat16), (False, None, torch.float16),
                                                (True, "fp16", torch.float16)])
def test_cuda_autocast_dtype(monkeypatch, bf16_ok, asked, want):
    monkeypatch.setattr(torch, "autocast", FakeAutocast)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16_ok)
    FakeAutocast.calls.clear()
    with hd.autocast(torch.device("cuda:0"), asked):
        pass
    assert FakeAutocast.calls == [("cuda", want)]


def test_mps_autocast_only_when_asked(monkeypatch):
    monkeypatch.setattr(torch, "autocast", FakeAutocast)
    FakeAutocast.calls.clear()
    assert isinstance(hd.autocast(torch.device("mps")), contextlib.nullcontext)
    with hd.autocast(torch.device("mps"), "fp16"):
        pass
    assert FakeAutocast.calls == [("mps", torch.float16)]


def test_set_seed_repeats_all_generators():
    import random

    import numpy as np

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()
    hd.set_seed(7)
    a = draw()
    hd.set_seed(7)
    assert draw() == a
    hd.set_seed(8)
    assert draw() != a


def test_tf_gpus_turns_on_memory_growth(monkeypatch):
    import tensorflow as tf
    grown = []
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: ["GPU:0", "GPU:1"])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda g, on: grown.append((g, on)))
    assert hd.tf_gpus() == ["GPU:0", "GPU:1"]
    assert grown == [("GPU:0", True), ("GPU:1", True)]


def _py(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout.strip()


def test_import_helpers_imports_no_framework():
    out = _py("import sys, pkgutil, importlib, helpers\n"
              "for m in pkgutil.iter_modules(helpers.__path__): importlib.import_module('helpers.' + m.name)\n"
              "print('torch' in sys.modules, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert out == "False False False", "helpers and every submodule must import without a framework"


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
