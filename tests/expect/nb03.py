"""What notebook 03 (logistic regression and softmax) must record."""
import math

NOTEBOOK = "03_logistic_regression_and_softmax"


def check(results: dict):
    r = results
    quick = r["quick"]                     # required: the notebook records it (helpers.setup)
    assert r["device"]
    # gradients: p - y and X^T (P - Y) / n agree with finite differences, the seed's formula does not
    assert r["logreg_grad_rel_err"] < 1e-6
    assert r["softmax_grad_rel_err"] < 1e-6
    assert r["seed_grad_rel_err"] > 0.1
    assert r["seed_softmax_error"].startswith("ValueError")
    # stable softmax of [1, 2, 3]
    # exact values from math.exp; float64 softmax is good to a few ulps (NumPy kernels differ by CPU)
    exact = [math.exp(k) / sum(math.exp(j) for j in (1, 2, 3)) for k in (1, 2, 3)]
    assert len(r["softmax_123"]) == 3
    assert all(abs(v - e) < 1e-12 for v, e in zip(r["softmax_123"], exact)), r["softmax_123"]
    # binary and multiclass accuracies
    assert r["logreg_test_acc"] > 0.9
    assert r["wine2d_train_acc"] > 0.85
    assert r["loss_parity_max_diff"] < 1e-5
    # "the same model three times": each above the floor, and they agree (full mode: > 94 %, within 3 points)
    floor = 0.8 if quick else 0.94
    for key in ("numpy_test_acc", "keras_test_acc", "torch_test_acc"):
        assert r[key] > floor, (key, r[key])
    accs = [r[k] for k in ("numpy_test_acc", "keras_test_acc", "torch_test_acc")]
    assert abs(r["linear_acc_spread"] - (max(accs) - min(accs))) < 1e-9
    assert r["linear_acc_spread"] < (0.06 if quick else 0.03)
