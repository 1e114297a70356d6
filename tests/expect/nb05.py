"""What notebook 05 (CNNs on CIFAR-10) must record.

A stand-in run (quick mode with no CIFAR-10 to be had) can promise shapes, the parity of the two
frameworks and learning above chance (0.1 for ten classes), not CIFAR-10's numbers. No check here
reads a wall-clock speed: those depend on the machine and its load, and are only recorded.
"""
NOTEBOOK = "05_cnns_on_cifar10"


def check(results: dict):
    r = results
    quick, standin = r["quick"], r["standin"]
    assert r["device"] and r["precision"] in ("fp32", "bf16", "fp16")
    assert not standin or quick, "a full run never uses stand-in data"
    # convolution written as loops agrees with torch (float64 sums of 27 products)
    assert r["conv_loops_vs_torch_max_diff"] < 1e-12
    if not standin:
        assert r["cifar10_sizes"] == [50_000, 10_000]
    assert min(r["cifar10_sizes"]) >= r["test_size"] > 0
    # the seed model, exactly, in both frameworks
    assert r["seed_params_keras"] == 122_570
    assert r["seed_params_torch"] == 122_570
    # Keras -> PyTorch parity; the un-reordered Flatten gives a different model
    assert r["parity_max_logit_diff"] < 1e-4
    assert r["parity_naive_flatten_diff"] > 100 * r["parity_max_logit_diff"]
    # the seed CNN learns (curriculum target in full mode: near 68-70 % after 10 epochs)
    floor = 0.2 if standin else 0.3 if quick else 0.62
    assert r["seed_keras_test_acc"] > floor, r["seed_keras_test_acc"]
    assert len(r["seed_keras_log"]) >= 2
    assert set(r["seed_per_class_acc"]) >= {"cat", "dog", "ship"}
    # the fast recipe's parts; speeds are recorded, not compared (they depend on the machine's load)
    assert r["loader_images_per_s"] > 0 and r["in_memory_images_per_s"] > 0
    assert r["whitening_max_offdiag"] < 0.02
    assert r["label_smoothing_vs_torch_diff"] < 1e-6
    assert r["step_images_per_s"]["fp32, channels_last"] > 0
    # the fast recipe learns, well above chance (0.1); in full mode above the seed CNN
    assert r["fast_test_acc"] > (0.2 if standin else 0.3 if quick else 0.8), r["fast_test_acc"]
    if not quick:
        assert r["fast_test_acc"] > r["seed_keras_test_acc"] + 0.1
    if "ablation" in r:
        accs = [row["test_acc"] for row in r["ablation"]]
        assert len(accs) == 9 and min(accs) > (0.12 if quick else 0.4), accs
