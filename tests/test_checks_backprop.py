"""Notebook 01's exercise checkers: each accepts a right answer and rejects typical mistakes with its hint."""
import math

import numpy as np
import pytest

from helpers.checks import backprop as C
from helpers.checks import numeric_grad
from checker_util import fails, in_place, passes, run, _stub  # noqa: E402


# ------------------------------------------------------------------ a minimal Value, as in the notebook

class Value:
    """Just enough of notebook 01's engine: +, *, ** and backward()."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data, self.grad = float(data), 0.0
        self._prev, self._op, self.label = tuple(_children), _op, label
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        for v in topo:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


def _log_with(local=lambda u: 1 / u, accumulate=True, use_out_grad=True, link=True, value=math.log):
    """A Value.log with one deliberate mistake (or none)."""
    def value_log(self):
        out = Value(value(self.data), (self,) if link else (), "log")

        def _backward():
            g = local(self.data) * (out.grad if use_out_grad else 1.0)
            if accumulate:
                self.grad += g
            else:
                self.grad = g
        out._backward = _backward
        return out
    return value_log


def test_value_log_accepts_a_right_answer(capsys):
    passes(C.check_value_log, _log_with(), capsys)


@pytest.mark.parametrize("mistake, hint", [
    (_log_with(accumulate=False), "add it (+=)"),
    (_log_with(use_out_grad=False), "forgot out.grad"),
    (_log_with(local=math.log), "not log u"),
    (_log_with(local=lambda u: u), "1/u, not u"),
    (_log_with(local=lambda u: -1 / u), "sign error"),
    (_log_with(link=False), "_prev"),
    (_log_with(value=lambda u: 1 / u), "forward value is the derivative"),
    (_log_with(value=math.log10), "forward value is wrong"),
    (lambda self: math.log(self.data), "return a new Value"),
    (_stub, "not implemented yet"),
])
def test_value_log_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_value_log, mistake, hint, capsys)


# ------------------------------------------------------------------ pen and paper, y = 0

def _neuron(y):
    a = 1 / (1 + math.exp(-2.0))
    return 2 * (a - y) * a * (1 - a)


def test_neuron_grad_accepts_4_decimals_and_never_prints_it(capsys):
    out = passes(C.check_neuron_grad_target_zero, lambda: round(_neuron(0.0), 4), capsys)
    assert "0.18" not in out and "0.185" not in out
    ok, out = run(C.check_neuron_grad_target_zero, lambda: 0.2, capsys)
    assert not ok and "0.18" not in out


@pytest.mark.parametrize("mistake, hint", [
    (lambda: -_neuron(0.0), "sign error"),
    (lambda: _neuron(1.0), "old target"),
    (lambda: 2 / (1 + math.exp(-2.0)), "stopped at dL/da"),
    (lambda: _neuron(0.0) / 2, "factor 2"),
    (lambda: 0.1050, "only the sigmoid's derivative"),
    (lambda: 0.5, "not dL/dw for y = 0"),
    (lambda: None, "return one number"),
    (_stub, "not implemented yet"),
])
def test_neuron_grad_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_neuron_grad_target_zero, mistake, hint, capsys)


# ------------------------------------------------------------------ L2-regularised logistic gradient

def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def logistic_ok(w, X, y, lam):
    return X.T @ (_sigmoid(X @ w) - y) / len(y) + lam * w


def test_logistic_reference_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, w, y = rng.normal(size=(20, 3)), rng.normal(size=3), (rng.random(20) < 0.5).astype(float)
    num = numeric_grad(lambda v: C._logistic_l2_loss(v, X, y, 0.7), w)
    assert np.allclose(num, C._logistic_l2_grad(w, X, y, 0.7), atol=1e-7)


def test_logistic_accepts_a_right_answer(capsys):
    passes(C.check_logistic_l2_grad, logistic_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda w, X, y, lam: X.T @ (_sigmoid(X @ w) - y) + lam * w, "1/n"),
    (lambda w, X, y, lam: X.T @ (_sigmoid(X @ w) - y) / len(y), "forgot the penalty"),
    (lambda w, X, y, lam: X.T @ (_sigmoid(X @ w) - y) / len(y) + 2 * lam * w, "not 2 lam w"),
    (lambda w, X, y, lam: X.T @ (_sigmoid(X @ w) - y) / len(y) + lam * w / 2, "not lam w / 2"),
    (lambda w, X, y, lam: X.T @ (_sigmoid(X @ w) - y) / len(y) + lam * w / len(y), "has no 1/n"),
    (lambda w, X, y, lam: (X.T @ (_sigmoid(X @ w) - y) + lam * w) / len(y), "has no 1/n"),
    (lambda w, X, y, lam: X.T @ (y - _sigmoid(X @ w)) / len(y) + lam * w, "prediction minus target"),
    (lambda w, X, y, lam: -logistic_ok(w, X, y, lam), "ascent direction"),
    (lambda w, X, y, lam: X.T @ (X @ w - y) / len(y) + lam * w, "forgot the sigmoid"),
    (lambda w, X, y, lam: X.T @ ((_sigmoid(X @ w) - y) * _sigmoid(X @ w) * (1 - _sigmoid(X @ w))) / len(y)
     + lam * w, "cancels"),
    (lambda w, X, y, lam: X @ w, "shape"),
    (in_place(logistic_ok, lambda w, X, y, lam: np.multiply(w, 2, out=w)), "changed w or X in place"),
    (_stub, "not implemented yet"),
])
def test_logistic_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_logistic_l2_grad, mistake, hint, capsys)


# ------------------------------------------------------------------ backprop through a tanh layer

def tanh_ok(W1, b1, W2, b2, x, y, *, act=lambda h: 1 - h ** 2, two=1.0, transpose=()):
    h = np.tanh(W1 @ x + b1)
    d2 = two * (W2 @ h + b2 - y)
    d1 = (W2.T @ d2) * act(h)
    g = {"W1": np.outer(d1, x), "b1": d1, "W2": np.outer(d2, h), "b2": d2}
    for k in transpose:
        g[k] = g[k].T
    return g


def test_tanh_reference_matches_finite_differences():
    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    x, y = rng.normal(size=3), rng.normal(size=2)
    want = C._tanh_net(W1, b1, W2, b2, x, y)[0]
    loss = lambda W: 0.5 * np.sum((W2 @ np.tanh(W @ x + b1) + b2 - y) ** 2)  # noqa: E731
    assert np.allclose(numeric_grad(loss, W1), want["W1"], atol=1e-7)


def test_tanh_accepts_a_right_answer(capsys):
    passes(C.check_tanh_net_grads, tanh_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda *a: tanh_ok(*a, act=lambda h: h * (1 - h)), "sigmoid's derivative pattern"),
    (lambda *a: tanh_ok(*a, act=lambda h: 1.0), "forgot to multiply by the activation"),
    (lambda *a: tanh_ok(*a, two=2.0), "without a factor 2"),
    (lambda *a: tanh_ok(*a, two=-1.0), "prediction minus target"),
    (lambda *a: tanh_ok(*a, transpose=("W1",)), "dL/dW1 is transposed"),
    (lambda *a: tanh_ok(*a, transpose=("W2",)), "dL/dW2 is transposed"),
    (lambda *a: {"W1": 0}, "keys"),
    (_stub, "not implemented yet"),
])
def test_tanh_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_tanh_net_grads, mistake, hint, capsys)


def test_neuron_grad_accepts_truncated_decimals(capsys):
    passes(C.check_neuron_grad_target_zero, lambda: math.floor(_neuron(0.0) * 1e4) / 1e4, capsys)
