"""helpers.checks: each checker accepts the reference answer and rejects typical mistakes with a hint."""
import subprocess
import sys

import numpy as np
import pytest

from helpers import checks as C
from checker_util import run  # noqa: E402


def sig(x):
    return 1 / (1 + np.exp(-x))


# ------------------------------------------------------------------ compare / numeric_grad / grad_check

def test_compare_exact_approx_and_mismatch(capsys):
    a = np.arange(6.0).reshape(2, 3)
    assert C.compare("same", a, a.copy())
    out = capsys.readouterr().out
    assert "same" in out and "exact: True" in out and "approximate: True" in out and "max diff: 0" in out
    assert C.compare("close", a, a + 3e-12)
    out = capsys.readouterr().out
    assert "exact: False" in out and "approximate: True" in out and "3e-12" in out
    assert not C.compare("far", a, a + 1e-3)
    assert "approximate: False" in capsys.readouterr().out
    assert not C.compare("shape", a, a.T)
    assert "shape" in capsys.readouterr().out


def test_compare_accepts_torch_tensors(capsys):
    torch = pytest.importorskip("torch")
    t = torch.ones(3, requires_grad=True)
    assert C.compare("torch", t, np.ones(3))


def test_numeric_grad_matches_analytic_and_keeps_x():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    x0 = x.copy()
    g = C.numeric_grad(lambda z: np.sum(np.sin(z) * z), x)
    assert g.dtype == np.float64 and g.shape == x.shape
    assert np.allclose(g, np.cos(x0) * x0 + np.sin(x0), atol=1e-8)
    assert np.array_equal(x, x0)


def test_numeric_grad_casts_integer_input_to_float():
    g = C.numeric_grad(lambda z: np.sum(z ** 2), np.array([1, 2, 3]))
    assert np.allclose(g, [2, 4, 6], atol=1e-6)


def test_grad_check_small_for_right_and_large_for_wrong_gradient():
    x = np.random.default_rng(1).normal(size=5)
    f = lambda z: np.sum(z ** 3)  # noqa: E731
    assert C.grad_check(f, lambda z: 3 * z ** 2, x) < 1e-7
    assert C.grad_check(f, lambda z: 2 * z ** 2, x) > 0.1


def test_importing_helpers_stays_light():
    code = ("import sys, helpers, helpers.checks; "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ common behaviour

def stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("checker", [C.check_sigmoid_derivative, C.check_numeric_grad, C.check_softmax,
                                     C.check_softmax_grad, C.check_adam_step, C.check_gd_step,
                                     C.check_conv_output_size, C.check_keras_dense_to_torch])
def test_stub_reads_not_implemented(checker, capsys):
    ok, out = run(checker, stub, capsys)
    assert not ok and "not implemented yet" in out


@pytest.mark.parametrize("checker", [C.check_softmax, C.check_softmax_grad, C.check_gd_step,
                                     C.check_conv_output_size, C.check_keras_dense_to_torch])
def test_crash_is_a_fail_not_an_exception(checker, capsys):
    def broken(*args):
        raise KeyError("oops")
    ok, out = run(checker, broken, capsys)
    assert not ok and out.startswith("FAIL") and "KeyError" in out


def test_checkers_are_deterministic(capsys):
    bad = lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)  # noqa: E731
    assert run(C.check_softmax, bad, capsys) == run(C.check_softmax, bad, capsys)


# ------------------------------------------------------------------ sigmoid derivative

def test_sigmoid_derivative(capsys):
    def ref(x):
        s = 0.5 * (1 + np.tanh(x / 2))
        return s * (1 - s)
    ok, out = run(C.check_sigmoid_derivative, ref, capsys)
    assert ok and out.startswith("PASS")
    ok, out = run(C.check_sigmoid_derivative, lambda x: x * (1 - x), capsys)
    assert not ok and "sigmoid of x" in out
    ok, out = run(C.check_sigmoid_derivative, sig, capsys)
    assert not ok and "sigmoid itself" in out
    ok, out = run(C.check_sigmoid_derivative, lambda x: -ref(x), capsys)
    assert not ok and "sign" in out


# ------------------------------------------------------------------ numeric gradient

def ref_numeric(f, x, eps):
    g = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def test_numeric_grad_checker(capsys):
    ok, out = run(C.check_numeric_grad, ref_numeric, capsys)
    assert ok and out.startswith("PASS")
    ok, out = run(C.check_numeric_grad, lambda f, x, eps: C.numeric_grad(f, x, eps), capsys)
    assert ok

    def forward(f, x, eps):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xp = x.copy()
            xp[i] += eps
            g[i] = (f(xp) - f(x)) / eps
        return g
    ok, out = run(C.check_numeric_grad, forward, capsys)
    assert not ok and "forward" in out

    ok, out = run(C.check_numeric_grad, lambda f, x, eps: 2 * ref_numeric(f, x, eps), capsys)
    assert not ok and "factor of 2" in out

    def no_restore(f, x, eps):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += eps
            fp = f(x)
            x[i] -= 2 * eps
            fm = f(x)
            g[i] = (fp - fm) / (2 * eps)
        return g
    ok, out = run(C.check_numeric_grad, no_restore, capsys)
    assert not ok and "changed x" in out


# ------------------------------------------------------------------ softmax

def ref_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_accepts_reference(capsys):
    ok, out = run(C.check_softmax, ref_softmax, capsys)
    assert ok and out.startswith("PASS")
    assert C.check_softmax(lambda z: np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True)))


def test_softmax_without_max_subtraction_overflows(capsys):
    ok, out = run(C.check_softmax, lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True), capsys)
    assert not ok and "overflow" in out and "subtract" in out and "max" in out


def test_softmax_wrong_axis(capsys):
    def cols(z):
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    ok, out = run(C.check_softmax, cols, capsys)
    assert not ok and "wrong axis" in out
    ok, out = run(C.check_softmax, lambda z: np.exp(z) / np.exp(z).sum(), capsys)
    assert not ok and "each row" in out


def test_softmax_global_max_fails_on_mixed_scales(capsys):
    def global_max(z):
        e = np.exp(z - z.max())
        return e / e.sum(axis=1, keepdims=True)
    ok, out = run(C.check_softmax, global_max, capsys)
    assert not ok and "each row" in out


# ------------------------------------------------------------------ softmax gradient

def ref_grad(X, P, Y):
    return X.T @ (P - Y) / len(X)


def test_softmax_grad_accepts_reference(capsys):
    ok, out = run(C.check_softmax_grad, ref_grad, capsys)
    assert ok and out.startswith("PASS")


@pytest.mark.parametrize("wrong, words", [
    (lambda X, P, Y: X.T @ (Y - P) / len(X), ["sign"]),
    (lambda X, P, Y: X.T @ (P - Y), ["factor of n", "mean"]),
    (lambda X, P, Y: X.T.dot(np.log(P) - P), ["seed", "log"]),
    (lambda X, P, Y: X.T @ (np.log(P) - P) / len(X), ["seed", "log"]),
    (lambda X, P, Y: X.T @ (P - Y.argmax(1)[:, None]) / len(X), ["integer"]),
])
def test_softmax_grad_rejects_typical_mistakes(wrong, words, capsys):
    ok, out = run(C.check_softmax_grad, wrong, capsys)
    assert not ok and out.startswith("FAIL")
    for w in words:
        assert w in out


def test_softmax_grad_integer_label_indexing(capsys):
    def cs231n_style(X, P, Y):  # expects integer labels
        D = P.copy()
        D[np.arange(len(Y)), Y] -= 1
        return X.T @ D / len(X)
    ok, out = run(C.check_softmax_grad, cs231n_style, capsys)
    assert not ok and "one-hot" in out and "integer" in out

    def vector_labels(X, P, Y):  # treats Y as a label vector: wrong shape out
        return X.T @ (P.max(1) - Y.argmax(1)) / len(X)
    ok, out = run(C.check_softmax_grad, vector_labels, capsys)
    assert not ok and "one-hot" in out and "shape" in out


def test_softmax_grad_in_place(capsys):
    def inplace(X, P, Y):
        P -= Y
        return X.T @ P / len(X)
    ok, out = run(C.check_softmax_grad, inplace, capsys)
    assert not ok and "in place" in out


# ------------------------------------------------------------------ Adam

def ref_adam(p, g, m, v, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g ** 2
    mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * mh / (np.sqrt(vh) + eps), m, v


def test_adam_accepts_reference_and_in_place_style(capsys):
    ok, out = run(C.check_adam_step, ref_adam, capsys)
    assert ok and out.startswith("PASS")

    def in_place(p, g, m, v, t, lr, b1, b2, eps):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        p -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        return p, m, v
    assert C.check_adam_step(in_place)


def test_adam_agrees_with_torch(capsys):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=4)
    w = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01)
    p, m, v = p0.copy(), np.zeros(4), np.zeros(4)
    for t in range(1, 6):
        g = rng.normal(size=4)
        w.grad = torch.tensor(g)
        opt.step()
        p, m, v = ref_adam(p, g, m, v, t, 0.01, 0.9, 0.999, 1e-8)
    assert np.allclose(w.detach().numpy(), p, atol=1e-12, rtol=0)


def test_adam_without_bias_correction(capsys):
    def no_corr(p, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        return p - lr * m / (np.sqrt(v) + eps), m, v
    ok, out = run(C.check_adam_step, no_corr, capsys)
    assert not ok and "bias correction" in out


@pytest.mark.parametrize("shift", [1, -1])
def test_adam_step_counter_off_by_one(shift, capsys):
    def off(p, g, m, v, t, *rest):
        return ref_adam(p, g, m, v, t + shift, *rest)
    ok, out = run(C.check_adam_step, off, capsys)
    assert not ok and "t is 1 on the first step" in out


def test_adam_other_mistakes(capsys):
    def sign(p, g, m, v, t, lr, b1, b2, eps):
        p2, m, v = ref_adam(p, g, m, v, t, lr, b1, b2, eps)
        return 2 * p - p2, m, v
    ok, out = run(C.check_adam_step, sign, capsys)
    assert not ok and "sign" in out

    def no_square(p, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g
        return p - lr * (m / (1 - b1 ** t)) / (np.sqrt(np.abs(v / (1 - b2 ** t))) + eps), m, v
    ok, out = run(C.check_adam_step, no_square, capsys)
    assert not ok and "squared gradient" in out

    ok, out = run(C.check_adam_step, lambda *a: ref_adam(*a)[0], capsys)
    assert not ok and "tuple" in out


# ------------------------------------------------------------------ gradient-descent step

def ref_gd(w, b, x, y, lr):
    r = w * x + b - y
    return w - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)


def test_gd_step_accepts_reference(capsys):
    ok, out = run(C.check_gd_step, ref_gd, capsys)
    assert ok and out.startswith("PASS")


@pytest.mark.parametrize("wrong, words", [
    (lambda w, b, x, y, lr: (w + lr * 2 * np.mean((w * x + b - y) * x), b + lr * 2 * np.mean(w * x + b - y)),
     ["sign"]),
    (lambda w, b, x, y, lr: (w - lr * np.mean((w * x + b - y) * x), b - lr * np.mean(w * x + b - y)),
     ["factor 2"]),
    (lambda w, b, x, y, lr: (w - lr * 2 * np.sum((w * x + b - y) * x), b - lr * 2 * np.sum(w * x + b - y)),
     ["sum", "mean"]),
])
def test_gd_step_rejects_typical_mistakes(wrong, words, capsys):
    ok, out = run(C.check_gd_step, wrong, capsys)
    assert not ok and out.startswith("FAIL")
    for w in words:
        assert w in out


# ------------------------------------------------------------------ convolution output size (notebook 05)

def ref_conv_size(n, k, p, s, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_conv_output_size_accepts_reference_and_torch(capsys):
    torch = pytest.importorskip("torch")

    def by_torch(n, k, p, s, d):
        conv = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        return conv(torch.zeros(1, 1, n, n)).shape[-1]
    ok, out = run(C.check_conv_output_size, ref_conv_size, capsys)
    assert ok and out.startswith("PASS")
    assert run(C.check_conv_output_size, by_torch, capsys)[0]
    assert run(C.check_conv_output_size, lambda *a: float(ref_conv_size(*a)), capsys)[0]


@pytest.mark.parametrize("wrong, words", [
    (lambda n, k, p, s, d: (n + 2 * p - k) // s + 1, "has gaps"),
    (lambda n, k, p, s, d: (n + p - d * (k - 1) - 1) // s + 1, "both sides"),
    (lambda n, k, p, s, d: (n + 2 * p - d * (k - 1) - 1) / s + 1, "round down"),
    (lambda n, k, p, s, d: (n + 2 * p - d * k) // s + 1, "window positions"),
    (lambda n, k, p, s, d: [ref_conv_size(n, k, p, s, d)] * 2, "one number"),
])
def test_conv_output_size_rejects_typical_mistakes(wrong, words, capsys):
    ok, out = run(C.check_conv_output_size, wrong, capsys)
    assert not ok and out.startswith("FAIL") and words in out


# ------------------------------------------------------------------ Keras Dense kernel -> torch Linear weight

def test_keras_dense_to_torch(capsys):
    def right(kernel, h, w, c):
        return kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1).T
    ok, out = run(C.check_keras_dense_to_torch, right, capsys)
    assert ok and out.startswith("PASS")
    ok, out = run(C.check_keras_dense_to_torch, lambda kernel, h, w, c: kernel.T, capsys)
    assert not ok and "H,W,C" in out
    ok, out = run(C.check_keras_dense_to_torch, lambda kernel, h, w, c: kernel, capsys)
    assert not ok and "(out, in)" in out
    def c_w_h(kernel, h, w, c):     # channels first, but height and width swapped
        return kernel.reshape(h, w, c, -1).transpose(2, 1, 0, 3).reshape(h * w * c, -1).T
    ok, out = run(C.check_keras_dense_to_torch, c_w_h, capsys)
    assert not ok and "reshape the rows" in out
