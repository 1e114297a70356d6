"""CPU kinds: what CPUID says, the switches that make each library take its AVX2 kernels (seen to take
effect in a fresh process), and helpers.models.edge's int8 checks on a tiny ONNX model."""
import importlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from helpers.models import edge

hd = importlib.import_module("helpers.device")   # (helpers.device is also a function's name)
X86 = platform.machine() in ("x86_64", "AMD64")
AVX512 = X86 and "avx512f" in (hd.cpuid_flags() or set())


def _py(code, env=None):
    """stdout of `python -c code` in a fresh process with `env` added to this one's environment."""
    full = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    for k in hd.AVX2_ENV:
        if k not in (env or {}):
            full.pop(k, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=full).stdout.strip()


def test_cpuid_flags_agree_with_proc_cpuinfo_here():
    cpuid = hd.cpuid_flags()
    assert cpuid is not None, "NumPy reads CPUID"
    if X86:
        assert "avx2" in cpuid or "avx2" not in hd.cpu_flags()
        assert hd.proc_flag("avx2") == ("avx2" in cpuid)


def test_proc_flag_is_not_trusted_when_proc_and_cpuid_disagree(monkeypatch):
    monkeypatch.setattr(hd, "cpu_flags", lambda: {"avx2", "fma", "avx512f", "avx_vnni"})
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "fma", "avx512f"})
    assert hd.proc_flag("avx_vnni") and not hd.proc_flag("amx_int8")
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "fma"})           # emulated: /proc is the host's
    assert not hd.proc_flag("avx_vnni")


@pytest.mark.parametrize("cpuid,proc,kind,int8_fast", [
    ({"avx2", "fma"}, {"avx2", "fma"}, "x86-avx2", False),
    ({"avx2", "fma"}, {"avx2", "fma", "avx_vnni"}, "x86-avx2-vnni", True),
    ({"avx2", "avx512f", "avx512_vnni"}, {"avx2", "avx512f", "avx512_vnni"}, "x86-avx512-vnni", True),
    ({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"},
     "x86-avx512-vnni-bf16", True),
    ({"avx2", "avx512f"}, {"avx2", "avx512f"}, "x86-avx512", False),
])
def test_cpu_kind_and_int8_path(monkeypatch, cpuid, proc, kind, int8_fast):
    monkeypatch.setattr(hd, "cpuid_flags", lambda: cpuid)
    monkeypatch.setattr(hd, "cpu_flags", lambda: proc)
    monkeypatch.setattr(edge, "cpuid_flags", lambda: cpuid)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert hd.cpu_kind() == kind
    info = edge.int8_instructions()
    assert info["kind"] == kind and info["int8_fast"] is int8_fast
    assert ("saturates" in info["path"]) is (not int8_fast)


def test_arm_dot_product_is_fast_int8(monkeypatch):
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"asimd", "asimddp"})
    monkeypatch.setattr(edge, "cpuid_flags", lambda: {"asimd", "asimddp"})
    monkeypatch.setattr(hd, "cpu_flags", lambda: set())
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert hd.cpu_kind() == "arm64-dotprod"
    assert edge.int8_instructions()["int8_fast"]


def test_avx2_env_only_where_there_is_more_than_avx2(monkeypatch):
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "fma"})
    assert hd.avx2_env() == {}
    monkeypatch.setattr(hd, "cpuid_flags", lambda: {"avx2", "fma", "avx512f"})
    assert hd.avx2_env() == hd.AVX2_ENV


@pytest.mark.skipif(not AVX512, reason="this CPU has no AVX-512: its libraries take their AVX2 kernels already")
def test_avx2_switches_take_effect_in_every_library():
    code = ("import os, numpy, importlib\n"
            "from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
            "import torch\n"
            "x = torch.randn(2, 8, 16, 16); torch.nn.Conv2d(8, 8, 3)(x)\n"
            "d = importlib.import_module('helpers.device')\n"
            "print(__cpu_features__['X86_V4'], __cpu_features__['AVX512_SKX'], torch.backends.cpu.get_cpu_capability(),"
            " d.cpu_has_native_bf16())")
    native = _py(code).split()
    assert native[:3] == ["True", "True", "AVX512"]
    avx2 = _py(code, {**hd.AVX2_ENV, "ONEDNN_VERBOSE": "1"})
    lines = avx2.splitlines()
    assert lines[-1].split() == ["False", "False", "AVX2", "False"], lines[-1]
    conv = [ln for ln in lines if ",convolution," in ln and ",exec," in ln]
    assert conv and all(("avx2" in ln or "gemm:jit" in ln) and "avx512" not in ln for ln in conv), conv[:2]
    assert "isa:Intel AVX2" in avx2 and "AVX-512" not in avx2


# ------------------------------------------------------------------------------------- helpers.models.edge
def _tiny_model(folder, seed=0):
    """A 2-layer MLP (16 -> 32 -> 4) as model_fp32.onnx, its int8 twin (static QDQ) and reference.npz."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(0, 0.5, (16, 32)).astype(np.float32), rng.normal(0, 0.5, (32, 4)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["logits"])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 4])],
                              [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, folder / "model_fp32.onnx")
    x = rng.normal(0, 1, (200, 16)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": x[i:i + 50]} for i in range(0, 200, 50)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(folder / "model_fp32.onnx"), str(folder / "model_int8.onnx"), Reader(),
                    quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    logits = np.maximum(x @ w1, 0) @ w2
    edge.write_reference(folder, x, logits, logits.argmax(1))
    return x, logits


def test_edge_check_reports_agreement_and_accuracy(tmp_path):
    x, logits = _tiny_model(tmp_path)
    sess = edge.session(tmp_path / "model_fp32.onnx", threads=1)
    np.testing.assert_allclose(edge.run(sess, x, batch=64), logits, rtol=1e-4, atol=1e-4)
    res = edge.check(tmp_path, threads=1)
    assert res["n"] == 200 and res["fp32"]["agreement"] == 1.0 and res["fp32"]["accuracy"] == 1.0
    assert 0.85 <= res["int8"]["agreement"] <= 1.0
    assert res["cpu"]["kind"] == hd.cpu_kind()
    assert edge.agreement(logits, -logits) < 0.5


def test_edge_check_names_what_a_model_folder_lacks(tmp_path):
    (tmp_path / "model_fp32.onnx").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="model_int8.onnx and reference.npz|model_int8.onnx, reference.npz"):
        edge.check(tmp_path)


def test_edge_command_line_prints_one_json_line(tmp_path):
    _tiny_model(tmp_path)
    out = subprocess.run([sys.executable, "-m", "helpers.models.edge", "check", str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()
    res = json.loads(out[-1])
    assert set(res) == {"cpu", "n", "fp32", "int8"} and res["fp32"]["agreement"] == 1.0
