"""What notebook 04 (training deep networks) must record."""
NOTEBOOK = "04_training_deep_networks"


def check(results: dict):
    r = results
    quick = r["quick"]                     # required: the notebook records it (helpers.setup)
    assert r["device"]
    assert r["seed_net_error"] == "NameError: name 'model' is not defined"
    # the seed's Net, fixed, on digits (curriculum target: >= 97 % in full mode)
    assert r["mlp_test_acc"] >= (0.85 if quick else 0.97), r["mlp_test_acc"]
    assert r["mlp_params"] == 64 * 256 + 256 + 256 * 10 + 10
    # the linear classifier trained by the same loop: below the hidden-layer net in full mode
    assert r["linear_test_acc"] > (0.8 if quick else 0.94)
    if not quick:
        assert r["mlp_test_acc"] > r["linear_test_acc"] + 0.005
    # optimizers written from their formulas match torch.optim step for step (float64)
    for name in ("sgd", "momentum", "adam"):
        assert r[f"{name}_vs_torch_max_diff"] < 1e-10, name
    assert r["seed_adam_vs_torch_max_diff"] > 1e-4
    # no bias correction: first step sqrt(10) x lr, up to ~6.6 x lr, on a real net ~3.16 x
    assert abs(r["seed_adam_first_step_ratio"] - 10 ** 0.5) < 1e-9
    assert 6 < r["seed_adam_peak_step_ratio"] < 7
    # the prose: a peak of 6.57 x lr at step 12, still 1.26 x lr at step 1000
    assert abs(r["seed_adam_peak_step_ratio"] - 6.57) < 0.005 and r["seed_adam_peak_step"] == 12
    assert abs(r["seed_adam_step1000_ratio"] - 1.26) < 0.005
    assert 3.0 < r["seed_adam_first_update_ratio"] < 3.2
    # regularisation
    s = r["reg_summary"]
    assert r["plain_generalisation_gap"] > 0.1
    assert s["L2"]["w_norm"] < 0.6 * s["plain"]["w_norm"]
    assert s["L1"]["frac_small"] > 2 * s["plain"]["frac_small"]
    assert s["L1"]["frac_zero"] < 0.01                      # subgradient steps with Adam: near zero, not zero
    # optimizers in the valley f = (x^2 + 25 y^2) / 2: momentum needs far fewer steps than SGD at the same lr
    v = r["valley_steps_to_tol"]
    assert v["SGD"] is not None and v["momentum 0.8"] is not None and v["Adam"] is not None
    assert v["momentum 0.8"] < v["SGD"] / 2 and v["momentum 0.8"] < v["Adam"]
    assert v["RMSprop"] is None
    # softmax-regression weight images: L1 makes weights near zero, only the proximal step exact zeros
    w = r["l1_l2_weight_stats"]
    dead = w["no penalty"]["exact_zero"]
    assert w["L1 subgradient"]["near_zero"] > 2 * max(w["L2 (λ=0.05)"]["near_zero"], w["no penalty"]["near_zero"])
    assert w["L1 subgradient"]["exact_zero"] <= dead + 5
    assert w["L2 (λ=0.05)"]["norm"] < 0.6 * w["no penalty"]["norm"]
    assert w["L1 proximal"]["exact_zero"] > 200 + dead
    assert all(x["test_acc"] > 0.85 for x in w.values())
    assert s["dropout 0.5"]["train_loss"] > s["plain"]["train_loss"]
    assert r["early_stop_best_epoch"] < r["early_stop_stopped_epoch"]
    assert r["early_stop_test_acc"] > 0.8
    # vanishing gradients and initialisation
    assert r["sigmoid_first_last_grad_ratio"] < 1e-5
    assert r["relu_first_last_grad_ratio"] > 1e-2
    std = r["init_layer10_std"]
    assert std["tanh, N(0, 0.01²)"] < 1e-6 and std["tanh, Xavier"] > 0.1
    assert 0.3 < std["ReLU, He"] < 3 and std["ReLU, Xavier"] < 0.1 * std["ReLU, He"]
    # "Xavier loses a factor of about sqrt(2) per layer" under ReLU; He keeps the scale
    assert abs(r["relu_xavier_per_layer"] - 2 ** -0.5) < 0.05
    assert abs(r["relu_he_per_layer"] - 1) < 0.1
