"""What notebook 00 must record."""
NOTEBOOK = "00_environment_and_devices"


def check(r: dict):
    quick = r["quick"]                     # required: the notebook records it (helpers.setup)
    assert isinstance(quick, bool)
    assert r["device"] in ("cpu", "mps") or r["device"].startswith("cuda")
    assert r["seed_repeatable"] is True
    assert r["versions"]["torch"] != "not installed" and r["versions"]["tensorflow"] != "not installed"
    assert r["cpu_autocast_dtype"] == "torch.bfloat16"
    assert r["torch_devices"] and r["cpu_cores"] >= 1
    # the precision policy: bf16 on a CPU only with native bf16 units; a GPU's own choice otherwise
    policy = r["precision_auto"]
    assert policy["cpu"] == ("bf16" if r["cpu_native_bf16"] else "fp32"), policy
    if r["device"].startswith("cuda"):
        assert policy[r["device"]] in ("bf16", "fp16"), policy
    elif r["device"] == "mps":
        assert policy["mps"] == "fp32", policy
    assert r["matmul_n"] == (512 if quick else 2048)
    assert set(r["matmul_gflops"]) >= {"cpu fp32", "cpu bf16"}
    assert all(v > 0 for v in r["matmul_gflops"].values())
    assert r["cpu_bf16_speedup"] > 0
    assert r["cpu_kind"].split("-")[0] in ("x86", "arm64") or r["cpu_kind"].endswith("-baseline")
