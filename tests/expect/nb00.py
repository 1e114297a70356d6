"""What notebook 00 must record."""
NOTEBOOK = "00_environment_and_devices"


def check(r: dict):
    assert r["device"] in ("cpu", "mps") or r["device"].startswith("cuda")
    assert r["seed_repeatable"] is True
    assert r["versions"]["torch"] != "not installed" and r["versions"]["tensorflow"] != "not installed"
    assert r["cpu_autocast_dtype"] == "torch.bfloat16"
    assert r["torch_devices"] and r["cpu_cores"] >= 1
    assert set(r["matmul_gflops"]) >= {"cpu fp32", "cpu bf16"}
    assert all(v > 0 for v in r["matmul_gflops"].values())
