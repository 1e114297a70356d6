"""Exercise checkers of notebook 01 (backpropagation by hand), on the plumbing of helpers.checks.

Each checker tests the learner's function on hidden cases, prints "PASS ..." or "FAIL: <hint>" and
returns a Score; it never prints the expected numbers.
"""
from __future__ import annotations

import math

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _result, _sig

__all__ = ["check_value_log", "check_neuron_grad_target_zero", "check_logistic_l2_grad", "check_tanh_net_grads"]


# ----------------------------------------------------------------------------- a new op for the engine

class _Node:
    """A stand-in for the notebook's Value when the learner's module has none (data, grad, _prev, _backward)."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data, self.grad = float(data), 0.0
        self._prev, self._op, self.label = tuple(_children), _op, label
        self._backward = lambda: None


@_checker
def check_value_log(fn) -> bool:
    """Check fn(self) -> a Value holding log(self.data) whose _backward adds out.grad / self.data to self.grad."""
    cls = getattr(fn, "__globals__", {}).get("Value", _Node)   # the notebook's Value class
    for u, g, g0 in [(1.5, 2.5, 0.7), (0.3, -1.25, 0.0), (7.0, 0.5, -2.0)]:
        x = cls(u)
        out = fn(x)
        if not hasattr(out, "data") or not hasattr(out, "_backward"):
            raise _Fail(f"your function returned {type(out).__name__}; return a new Value, so that "
                        "backward() can pass through it")
        if out is x:
            raise _Fail("you returned self; create a new Value for the result")
        if not math.isclose(float(out.data), math.log(u), rel_tol=1e-12, abs_tol=1e-12):
            hint = ("the forward value is wrong: log() must hold math.log(self.data)")
            if math.isclose(float(out.data), 1 / u, rel_tol=1e-9):
                hint = "the forward value is the derivative 1/u; the node must hold log(u) itself"
            raise _Fail(hint)
        if x not in tuple(getattr(out, "_prev", ())):
            raise _Fail("the new Value must list self among its children (_prev), or backward() never reaches self")
        x.grad, out.grad = g0, g
        out._backward()
        got, want = float(x.grad), g0 + g / u
        if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            continue
        cands = [("you assigned the gradient; add it (+=): a value used twice receives gradient along both paths",
                  g / u),
                 ("you forgot out.grad: the chain rule multiplies the local derivative by the gradient arriving "
                  "from above", g0 + 1 / u),
                 ("the local derivative of log u is not log u: differentiate once more", g0 + g * math.log(u)),
                 ("the local derivative is 1/u of the INPUT u = self.data, not of the output", g0 + g / math.log(u)),
                 ("check the local derivative: it is 1/u, not u", g0 + g * u),
                 ("sign error: log is increasing, so its derivative 1/u is positive", g0 - g / u),
                 ("that is the derivative of 1/u; the derivative of log u is simpler", g0 - g / u ** 2)]
        _diagnose(np.float64(got), np.float64(want), cands, "the gradient that _backward adds to self.grad is wrong")
    if hasattr(cls, "backward") and hasattr(cls, "__mul__"):     # a whole graph through the engine
        a, b = cls(1.5), cls(-0.5)
        out = fn(a * b + a ** 2)
        out.backward()
        u = 1.5 * -0.5 + 1.5 ** 2
        if not (_close(a.grad, (-0.5 + 3.0) / u, 1e-9) and _close(b.grad, 1.5 / u, 1e-9)):
            raise _Fail("the local rule is right but backward() over log(a*b + a**2) gives wrong gradients: "
                        "does _backward read the Value's grad at the time it runs (out.grad), not a copy?")
    print("PASS check_value_log: value, local gradient and a whole graph are right")
    return True


# ----------------------------------------------------------------------------- pen and paper

def _neuron_grads(x, w, b, y):
    """dL/dw and its pieces for L = (sigmoid(w x + b) - y)^2."""
    a = 1.0 / (1.0 + math.exp(-(w * x + b)))
    return 2 * (a - y) * a * (1 - a) * x, a


@_checker
def check_neuron_grad_target_zero(fn) -> bool:
    """Check fn() -> dL/dw of section 2's neuron (x = w = b = 1) with target y = 0, to 4 decimals."""
    try:
        got = float(fn())
    except (TypeError, ValueError):
        raise _Fail("return one number (a float), e.g. 0.1234") from None
    want, a = _neuron_grads(1.0, 1.0, 1.0, 0.0)
    if abs(got - want) < 1e-4:                  # 4 decimals, rounded or truncated
        print("PASS check_neuron_grad_target_zero: that is dL/dw for y = 0, to 4 decimals")
        return True
    s1 = a * (1 - a)
    cands = [("sign error: with y = 0 the output a is too large, so dL/da = 2(a - y) is positive", -want),
             ("that is dL/dw for the old target y = 1; redo dL/da = 2(a - y) with y = 0", _neuron_grads(1, 1, 1, 1)[0]),
             ("you stopped at dL/da: multiply by the sigmoid's derivative da/dz and by dz/dw = x", 2 * a),
             ("you forgot the factor 2 from differentiating the square (a - y)^2", a * s1),
             ("that is only the sigmoid's derivative da/dz: multiply by dL/da", s1)]
    for hint, cand in cands:
        if abs(got - cand) < 5e-4:
            raise _Fail(hint)
    raise _Fail("not dL/dw for y = 0: chain dL/da * da/dz * dz/dw, with a = sigmoid(2); give 4 decimals")


# ----------------------------------------------------------------------------- a gradient by the chain rule

def _logistic_l2_loss(w, X, y, lam):
    """Mean binary cross-entropy of sigmoid(X w) plus (lam/2) ||w||^2 (reference)."""
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * w @ w)


def _logistic_l2_grad(w, X, y, lam):
    """Its gradient X^T (sigmoid(X w) - y) / n + lam w (reference)."""
    return X.T @ (_sig(X @ w) - y) / len(y) + lam * w


@_checker
def check_logistic_l2_grad(fn) -> bool:
    """Check fn(w, X, y, lam) -> gradient of mean cross-entropy of sigmoid(X w) + (lam/2)||w||^2."""
    rng = np.random.default_rng(1101)
    for n, d, lam in [(40, 3, 0.3), (7, 5, 1.7), (100, 2, 0.05), (25, 4, 0.0)]:
        X = rng.normal(size=(n, d))
        w = rng.normal(size=d)
        y = (rng.random(n) < 0.5).astype(np.float64)
        out = _call(fn, (w, X), y.copy(), lam, shape=(d,), what="gradient",
                    changed="your function changed w or X in place; compute the gradient without modifying them")
        want = _logistic_l2_grad(w, X, y, lam)
        if _close(out, want, 1e-7):
            continue
        p = _sig(X @ w)
        data = X.T @ (p - y) / n
        cands = [("you forgot the 1/n: the loss is the MEAN cross-entropy over the n examples",
                  X.T @ (p - y) + lam * w),
                 ("you forgot the penalty's gradient, lam * w", data),
                 ("the penalty (lam/2) ||w||^2 is added once, outside the mean over the n examples: its gradient "
                  "has no 1/n", data + lam * w / n),
                 ("the penalty is (lam/2) ||w||^2: its gradient is lam * w, not 2 lam w", data + 2 * lam * w),
                 ("the penalty is (lam/2) ||w||^2: its gradient is lam * w, not lam w / 2", data + 0.5 * lam * w),
                 ("sign error in the data term: it is X^T (sigmoid(X w) - y) / n, prediction minus target",
                  -data + lam * w),
                 ("sign error: the whole gradient has the wrong sign (that is the ascent direction)", -want),
                 ("you forgot the sigmoid: X w is the logit, the prediction is sigmoid(X w)",
                  X.T @ (X @ w - y) / n + lam * w),
                 ("with cross-entropy the sigmoid's derivative p(1 - p) cancels: do not multiply by it",
                  X.T @ ((p - y) * p * (1 - p)) / n + lam * w)]
        _diagnose(out, want, cands, "the gradient does not match finite differences of the loss; "
                  "check each term with numeric_grad")
    print("PASS check_logistic_l2_grad: matches finite differences of the loss on 4 hidden data sets")
    return True


# ----------------------------------------------------------------------------- backprop through a tanh layer

def _tanh_net(W1, b1, W2, b2, x, y):
    """Reference gradients of L = 1/2 ||W2 tanh(W1 x + b1) + b2 - y||^2, and the pieces for wrong answers."""
    h = np.tanh(W1 @ x + b1)
    d2 = W2 @ h + b2 - y
    d1 = (W2.T @ d2) * (1 - h ** 2)
    return {"W1": np.outer(d1, x), "b1": d1, "W2": np.outer(d2, h), "b2": d2}, h, d2


@_checker
def check_tanh_net_grads(fn) -> bool:
    """Check fn(W1, b1, W2, b2, x, y) -> dict of dL/dW1, dL/db1, dL/dW2, dL/db2 for a tanh hidden layer, linear output."""
    rng = np.random.default_rng(1102)
    for n_in, n_hid, n_out in [(3, 5, 2), (4, 2, 3), (1, 6, 1)]:
        W1, b1 = rng.normal(size=(n_hid, n_in)), rng.normal(size=n_hid)
        W2, b2 = rng.normal(size=(n_out, n_hid)), rng.normal(size=n_out)
        x, y = rng.normal(size=n_in), rng.normal(size=n_out)
        out = fn(W1.copy(), b1.copy(), W2.copy(), b2.copy(), x.copy(), y.copy())
        if not isinstance(out, dict) or not {"W1", "b1", "W2", "b2"} <= set(out):
            raise _Fail('return a dict with the keys "W1", "b1", "W2", "b2"')
        want, h, d2 = _tanh_net(W1, b1, W2, b2, x, y)
        shapes = {"W1": W1.shape, "b1": b1.shape, "W2": W2.shape, "b2": b2.shape}
        got = {}
        for k in ("b2", "W2", "b1", "W1"):
            try:
                got[k] = _result(out[k], shapes[k], f"gradient {k}")
            except _Fail as e:
                if np.shape(out[k]) == shapes[k][::-1]:
                    raise _Fail(f"dL/d{k} is transposed: the gradient of a weight matrix has the matrix's shape, "
                                "delta (this layer) times the input of the layer, as an outer product") from None
                raise e
        for k in ("b2", "W2", "b1", "W1"):         # from the output backwards: name the first wrong one
            if _close(got[k], want[k], 1e-7):
                continue
            d1_sig = (W2.T @ d2) * h * (1 - h)
            d1_none = W2.T @ d2
            d1_fwd = (W2.T @ d2) * (1 - np.tanh(W1 @ x) ** 2)
            pieces = {"b2": [("the loss is 1/2 ||y_hat - y||^2: its gradient is y_hat - y, without a factor 2",
                              2 * d2), ("sign error: dL/dy_hat = y_hat - y (prediction minus target)", -d2),
                             ("the output layer is linear (no activation): do not multiply by an activation's "
                              "derivative there", d2 * (1 - (W2 @ h + b2) ** 2))],
                      "W2": [("dL/dW2 pairs the output error with the HIDDEN activations tanh(z1), not the input x "
                              "or z1", np.outer(d2, W1 @ x + b1)),
                             ("the loss is 1/2 ||y_hat - y||^2: no factor 2", 2 * np.outer(d2, h))],
                      "b1": [("tanh'(z) = 1 - tanh(z)^2; h(1 - h) is the sigmoid's derivative pattern", d1_sig),
                             ("you forgot to multiply by the activation's derivative tanh'(z1) = 1 - h^2", d1_none),
                             ("tanh'(z1) must use the pre-activation z1 = W1 x + b1, bias included", d1_fwd),
                             ("the loss is 1/2 ||y_hat - y||^2: no factor 2", 2 * want["b1"])],
                      "W1": [("tanh'(z) = 1 - tanh(z)^2; h(1 - h) is the sigmoid's derivative pattern",
                              np.outer(d1_sig, x)),
                             ("you forgot to multiply by the activation's derivative tanh'(z1) = 1 - h^2",
                              np.outer(d1_none, x)),
                             ("the loss is 1/2 ||y_hat - y||^2: no factor 2", 2 * want["W1"])]}[k]
            _diagnose(got[k], want[k], pieces, f"dL/d{k} is wrong; the layers after it are right, so look at "
                      f"the step that produces {k}'s gradient")
    print("PASS check_tanh_net_grads: all four gradients match on 3 hidden networks")
    return True
