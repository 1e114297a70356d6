"""What notebook 02 (linear regression) must record."""
NOTEBOOK = "02_linear_regression"


def _close(a, b, tol):
    return abs(a - b) <= tol


def check(r: dict):
    assert r["device"] in ("cpu", "mps") or r["device"].startswith("cuda")
    # the seed's NumPy loop (001 §4.3.1) stops short of least squares: conditioning
    assert _close(r["gd_seed_b0"], 2.136, 1e-3) and _close(r["gd_seed_b1"], 0.618, 1e-3)
    assert _close(r["closed_b0"], 2.2, 1e-9) and _close(r["closed_b1"], 0.6, 1e-9)
    assert _close(r["lr_max_stable"], 0.0845, 1e-4) and _close(r["condition_number"], 70.0, 0.1)
    # the seed's line vs least squares on the five points; 3.4 % of the flat-direction error is left
    assert _close(r["loss_seed_line"], 0.4807, 5e-4) and r["loss_seed_line"] > 0.48
    assert _close(r["flat_error_left"], 0.034, 5e-4)
    # minibatch SGD on the standardised diabetes data (section 3)
    assert _close(r["sgd_lr_limit"], 0.2485, 5e-4)
    st = r["sgd_stability_losses"]
    assert st["0.95"] < 0.49 and not st["1.05"] < 1e6        # below 2/lambda_max converges, above diverges
    g, noise = r["sgd_gap"], r["sgd_noise"]
    assert noise["1"] > 3 * noise["32"] and noise["32"] > 10 * noise["442"]
    assert g["442"] > 0.15 and g["32"] < g["442"] / 5 and g["1"] > g["32"]
    assert max(g["1"], g["32"], r["sgd_gap_full_same_updates"]) < 0.1
    assert 0.5 < r["sgd_gap_full_same_updates"] / g["32"] < 2
    assert _close(r["pred_6_after_100"], 11.76, 5e-3)
    for key in ("gd_bigger_lr_err", "gd_centred_err", "gd_long_err"):
        assert r[key] < 1e-6, key
    # TF2 port of the TF1 snippet (lr 0.001, 1000 steps)
    assert _close(r["fit_tf_seed"][0], 1.89838, 1e-4) and _close(r["fit_tf_seed"][1], 0.36688, 1e-4)
    # Keras as in the seed (float32, random init, 100 epochs) fits y = 2x roughly
    assert r["keras_seed_loss"] < 0.1 and _close(r["keras_seed_pred_6"], 12.0, 1.0)
    # NumPy, TF2, Keras and PyTorch: the same steps, the same numbers; converged = closed form (2, 0)
    for fw in ("numpy", "tf", "keras", "torch"):
        w, b = r[f"fit_{fw}_100"]
        assert _close(w, 1.8984326, 1e-6) and _close(b, 0.3666905, 1e-6), fw
        w, b = r[f"fit_{fw}_converged"]
        assert _close(w, 2.0, 1e-6) and _close(b, 0.0, 1e-6), fw
    assert r["framework_max_diff"] < 1e-10 and r["framework_closed_form_err"] < 1e-6
    # diabetes: closed form, gradient descent and scikit-learn agree; test R^2 of a linear model
    assert _close(r["diabetes_test_r2"], 0.45, 5e-3)          # "about 0.45"
    assert 1e7 < r["diabetes_condition_number_raw"] < 1e8      # "in the tens of millions"
    assert _close(r["diabetes_test_r2_gd"], r["diabetes_test_r2"], 1e-6)
    assert r["diabetes_gd_rel_err"] < 1e-6
    assert 100 < r["diabetes_condition_number"] < 2000
    s = r["diabetes_split_r2"]
    assert 0.2 < s["min"] <= s["mean"] <= s["max"] < 0.8
    assert r["diabetes_gap_raw"] > 1e3 * max(r["diabetes_gap_standardised"], 1e-9)
    assert isinstance(r["quick"], bool)   # required: the notebook records it (helpers.setup)
