"""Notebook 04's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import training as C
from checker_util import fails, passes, _stub  # noqa: E402

pytest.importorskip("torch")


# ------------------------------------------------------------------ RMSprop

def rms_ok(p, g, v, lr, alpha, eps):
    v = alpha * v + (1 - alpha) * g * g
    return p - lr * g / (np.sqrt(v) + eps), v


def rms_unsquared(p, g, v, lr, alpha, eps):
    v = alpha * v + (1 - alpha) * g
    return p - lr * g / (np.sqrt(v) + eps), v


def test_rmsprop_accepts_the_formula(capsys):
    passes(C.check_rmsprop_step, rms_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda p, g, v, lr, a, eps: (p - lr * g / np.sqrt(a * v + (1 - a) * g * g + eps), a * v + (1 - a) * g * g),
     "eps goes outside"),
    (lambda p, g, v, lr, a, eps: rms_ok(p, g, v, lr, 1 - a, eps), "swapped alpha"),
    (lambda p, g, v, lr, a, eps: (p - lr * g / (a * v + (1 - a) * g * g + eps), a * v + (1 - a) * g * g),
     "square root"),
    (lambda p, g, v, lr, a, eps: (p + lr * g / (np.sqrt(a * v + (1 - a) * g * g) + eps), a * v + (1 - a) * g * g),
     "sign error"),
    (lambda p, g, v, lr, a, eps: (rms_ok(p, g, v, lr, a, eps)[0], a * v + (1 - a) * g), "SQUARED"),
    (lambda p, g, v, lr, a, eps: (rms_ok(p, g, v, lr, a, eps)[0], v), "not updated"),
    (rms_unsquared, "SQUARED"),
    (lambda p, g, v, lr, a, eps: (p - lr * g / (np.sqrt(v) + eps), a * v + (1 - a) * g * g), "previous step's v"),
    (lambda p, g, v, lr, a, eps: rms_ok(p, g, v, lr, a, eps)[0], "tuple"),
    (lambda p, g, v, lr, a, eps: rms_ok(p, g, v, 1.5 * lr, a, eps), "differs from torch"),
    (_stub, "not implemented yet"),
])
def test_rmsprop_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_rmsprop_step, mistake, hint, capsys)


# ------------------------------------------------------------------ Nesterov

def nesterov_ok(p, g, buf, lr, mu):
    buf = mu * buf + g
    return p - lr * (g + mu * buf), buf


def test_nesterov_accepts_the_formula(capsys):
    passes(C.check_nesterov_step, nesterov_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda p, g, b, lr, mu: (p - lr * (mu * b + g), mu * b + g), "g + mu * b"),
    (lambda p, g, b, lr, mu: (p - lr * (g + mu * b), mu * b + g), "g + mu * b"),
    (lambda p, g, b, lr, mu: (p - lr * (mu * b + g + mu * g), mu * b + g), "not the gradient"),
    (lambda p, g, b, lr, mu: (2 * p - nesterov_ok(p, g, b, lr, mu)[0], mu * b + g), "sign error"),
    (lambda p, g, b, lr, mu: (nesterov_ok(p, g, b, lr, mu)[0], mu * b + (1 - mu) * g), "dampening"),
    (lambda p, g, b, lr, mu: (nesterov_ok(p, g, b, lr, mu)[0], b), "not updated"),
    (lambda p, g, b, lr, mu: nesterov_ok(p, g, b, 2 * lr, mu), "differs from torch"),
    (_stub, "not implemented yet"),
])
def test_nesterov_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_nesterov_step, mistake, hint, capsys)


# ------------------------------------------------------------------ He / Glorot std

def fans(shape):
    rf = int(np.prod(shape[2:]))
    return shape[1] * rf, shape[0] * rf


def std_ok(shape, scheme):
    fi, fo = fans(shape)
    return np.sqrt(2 / fi) if scheme == "he" else np.sqrt(2 / (fi + fo))


def test_init_std_accepts_the_formula(capsys):
    passes(C.check_init_std, std_ok, capsys)


def test_init_std_agrees_with_torch_init():
    import torch
    torch.manual_seed(0)
    for shape in [(300, 200), (64, 32, 3, 3), (128, 40, 5)]:
        w = torch.empty(shape)
        torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
        assert abs(w.std().item() / std_ok(shape, "he") - 1) < 0.02
        torch.nn.init.xavier_normal_(w)
        assert abs(w.std().item() / std_ok(shape, "glorot") - 1) < 0.02


@pytest.mark.parametrize("mistake, hint", [
    (lambda s, k: std_ok(s, k) ** 2, "variance"),
    (lambda s, k: std_ok((s[1], s[0]) + tuple(s[2:]), k), "swapped (He"),
    (lambda s, k: std_ok(s[:2], k), "kernel size is missing"),
    (lambda s, k: np.sqrt(1 / fans(s)[0]) if k == "he" else std_ok(s, k), "LeCun"),
    (lambda s, k: np.sqrt(1 / sum(fans(s))) if k == "glorot" else std_ok(s, k), "the 2 is missing"),
    (lambda s, k: np.sqrt(2 / fans(s)[1]) if k == "he" else std_ok(s, k), "swapped (He"),
    (lambda s, k: std_ok(s, "glorot" if k == "he" else "he"), "he and glorot are swapped"),
    (lambda s, k: 0.01, "work out fan-in"),
    (lambda s, k: [0.1, 0.2], "one number"),
    (_stub, "not implemented yet"),
])
def test_init_std_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_init_std, mistake, hint, capsys)


def test_init_std_hides_the_answer(capsys):
    out = fails(C.check_init_std, lambda s, k: 0.01, "work out fan-in", capsys)
    assert "sqrt" not in out and "0.0" not in out.replace("0.01", "")


# ------------------------------------------------------------------ AdamW

def adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    step = lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p * (1 - lr * wd) - step, m, v


def test_adamw_accepts_the_formula(capsys):
    passes(C.check_adamw_step, adamw_ok, capsys)


def _variant(mode):
    return lambda p, g, m, v, t, lr, b1, b2, eps, wd: C._adamw(p, g, m, v, t, lr, b1, b2, eps, wd, mode)


@pytest.mark.parametrize("mistake, hint", [
    (_variant("l2"), "L2 penalty"),
    (_variant("no_lr"), "scaled by the learning rate"),
    (_variant("after"), "BEFORE"),
    (_variant("none"), "missing"),
    (_variant("plus"), "sign error"),
    (_variant("no_bc"), "bias correction is missing"),
    (_variant("hats"), "m_hat as the new m"),
    (lambda p, g, m, v, t, lr, b1, b2, eps, wd: adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd)[:2]
     + (adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd)[2] / (1 - b2 ** t),), "v_hat as the new v"),
    (_variant("eps_in"), "outside the square root"),
    (lambda p, g, m, v, t, lr, b1, b2, eps, wd: (adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd)[0], m,
                                                 adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd)[2]), "m was not updated"),
    (lambda p, g, m, v, t, lr, b1, b2, eps, wd: adamw_ok(p, g, m, v, t, 2 * lr, b1, b2, eps, wd), "differs from torch"),
    (lambda p, g, m, v, t, lr, b1, b2, eps, wd: adamw_ok(p, g, m, v, t, lr, b1, b2, eps, wd)[0], "tuple"),
    (_stub, "not implemented yet"),
])
def test_adamw_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_adamw_step, mistake, hint, capsys)
