"""What notebook 01 (backpropagation by hand) must record."""
import math

NOTEBOOK = "01_backpropagation_by_hand"


def _close(a, b, tol):
    return abs(a - b) <= tol


def check(r: dict):
    assert r["device"] in ("cpu", "mps") or r["device"].startswith("cuda")
    # the seed's one-neuron example (000 §4.3), corrected: x = w = b = y = 1
    assert _close(r["sigmoid_2"], 0.8808, 5e-5) and _close(r["sigmoid_2"], 1 / (1 + math.exp(-2)), 1e-12)
    assert _close(r["sigmoid_prime_2"], 0.1050, 5e-5)
    assert _close(r["dL_da"], -0.2384, 5e-5)
    assert _close(r["dL_dz"], -0.02503, 5e-6)
    # x = 1: dL/dw = dL/dz * x is dL/dz up to one rounding (|dL/dz| ~ 0.025, an ulp ~ 3.5e-18)
    assert _close(r["dL_dw"], r["dL_dz"], 1e-16) and _close(r["dL_db"], r["dL_dz"], 1e-16)
    assert _close(r["w_after_step"], 1.02503, 5e-6)
    # the correct step lowers the loss, the seed's step (subtracting +0.129) raises it
    assert r["loss_after_correct_step"] < r["loss_0"] < r["loss_after_seed_step"]
    assert _close(r["loss_after_seed_step"], 0.02222, 5e-6)
    assert _close(r["loss_0"], 0.0142, 5e-5)          # the erratum: the loss rises from 0.0142 to 0.0222
    # hand backprop, the scalar autodiff engine, PyTorch and TensorFlow agree (float64)
    assert r["layered_backprop_max_err"] < 1e-6
    assert r["autodiff_max_err"] < 1e-6
    assert r["autodiff_random_max_rel_err"] < 1e-9
    assert r["tf_max_err"] < 1e-6
    assert _close(r["autodiff_value"], 26.635705430946864, 1e-9)
    assert _close(r["autodiff_grad"][0], 141.01245480076423, 1e-8)
    assert _close(r["autodiff_grad"][1], 656.0839526859527, 1e-8)
    # central differences agree with the analytic gradients
    assert r["numeric_rel_err_expression"] < 1e-6 and r["numeric_rel_err_network"] < 1e-6
    assert 1e-7 <= r["central_diff_best_eps"] <= 1e-3
    # activation derivatives from their formulas match autograd
    # the largest sigmoid derivative on the grid, at x = 0 up to linspace rounding: 1/4 - x^2/16
    assert r["activation_deriv_max_err"] < 1e-12 and _close(r["sigmoid_prime_max"], 0.25, 1e-12)
    # over 10 layers the sigmoid factors alone contribute at most 0.25**10 = 2**-20 (the weights multiply in too)
    assert _close(r["sigmoid_factor_10_layers"], 2.0 ** -20, 1e-15)
    # the training loop with our own engine lowers the loss
    assert _close(r["train_loss_first"], r["loss_0"], 1e-15)
    assert r["train_loss_last"] < 0.5 * r["train_loss_first"]
    assert isinstance(r["quick"], bool)   # required: the notebook records it (helpers.setup)
