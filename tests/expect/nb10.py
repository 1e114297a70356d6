"""What notebook 10 (visual quality inspection on NEU steel surface defects) must record."""
NOTEBOOK = "10_case_visual_quality_inspection"

ROWS = ["float32 PyTorch", "float32 ONNX", "int8 ONNX", "pruned float32 PyTorch", "pruned int8 ONNX"]


def check(results: dict):
    r = results
    quick, standin = r["quick"], r["standin"]
    assert r["device"]
    assert not standin or quick, "full mode never uses a stand-in"
    # the data and the split: 1,800 images, 300 per class; 70/15/15 stratified
    assert r["n_images"] == 1800 and r["per_class"] == [300] * 6
    n = sum(r["split_sizes"])
    assert r["split_sizes"] == [round(0.7 * n), round(0.15 * n), round(0.15 * n)]
    # both models learnt (chance is 1/6); full mode: the target on the real data
    acc = r["test_acc"]
    assert set(acc) == {"scratch", "finetuned"} and r["best_model"] in acc
    assert min(acc.values()) > (0.25 if quick else 0.9), acc    # chance: 1/6
    assert r["best_test_acc"] >= (0.25 if quick else 0.97), acc
    assert r["test_acc_tta"] > (0.25 if quick else 0.96)
    assert r["n_params"]["scratch"] > 0 and r["n_params"]["finetuned"] > 0
    assert {"scratch", "finetuned", "pretrain_cifar10"} <= set(r["train_seconds"])
    assert r["cifar10_test_acc"] > (0.15 if quick else 0.6)
    # Grad-CAM: hiding what it ranks highest hurts the prediction more than hiding what it ranks lowest
    if not quick:
        assert r["cam_drop_top"] > r["cam_drop_bottom"]
    assert set(r["n_test_mistakes"]) == {"scratch", "finetuned"}
    # the ONNX export agrees with PyTorch
    assert r["onnx_max_abs_diff"] < 1e-3
    # compression: int8 near a quarter of the float size, accuracy kept; pruning zeroes the share asked
    rows = r["compression"]
    assert set(rows) == set(ROWS)
    assert all(row["latency_ms"] > 0 and row["size_kb"] > 0 for row in rows.values())
    assert r["int8_size_ratio"] < (0.5 if quick else 0.31)     # 0.25 is a floor (scales, biases, graph)
    assert r["int8_accuracy_loss"] < (0.2 if quick else 0.01)
    assert r["pruned_zero_share"] > 0.49
    # pruning: every pruned weight is an int8 zero too; float zeros always compress, int8 ones only after
    # a full training (quick mode's network has most of its int8 weights at zero before pruning)
    z8, gz = r["int8_zero_share"], r["gzip_ratio_pruned"]
    assert z8["pruned int8"] >= r["pruned_zero_share"] - 1e-9 and 0 <= z8["int8"] <= 1
    assert gz["float32"] < 0.8
    if not quick:
        assert z8["pruned int8"] - z8["int8"] > 0.2 and gz["int8"] < 0.9, (z8, gz)
    if not quick:
        assert rows["pruned float32 PyTorch"]["accuracy"] > 0.9
    # int8 on this CPU: 7-bit weights (right on every CPU kind), the acceptance test agrees with the float model
    assert r["int8_reduce_range"] is True
    assert r["int8_cpu"]["kind"] and isinstance(r["int8_cpu"]["int8_fast"], bool)
    assert r["int8_agreement"] >= (0.7 if quick else 0.97), r["int8_agreement"]
    assert r["int8_latency_ratio"] > 0
