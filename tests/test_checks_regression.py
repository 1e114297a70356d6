"""Notebook 02's exercise checkers: each accepts a right answer and rejects typical mistakes with its hint."""
import math

import numpy as np
import pytest

from helpers.checks import regression as C
from checker_util import fails, in_place, passes, run, _stub  # noqa: E402


# ------------------------------------------------------------------ steps from the eigenvalues

def steps_ok(eigenvalues, lr, tol):
    rho = float(np.max(np.abs(1 - lr * np.asarray(eigenvalues))))
    if rho >= 1:
        return math.inf
    return math.ceil(math.log(tol) / math.log(rho))


def _steps_with(rho_of, rounding=math.ceil, diverge=True, shift=0):
    def f(eigenvalues, lr, tol):
        lam = np.asarray(eigenvalues, dtype=float)
        rho = rho_of(lam, lr)
        if diverge and np.max(np.abs(1 - lr * lam)) >= 1:
            return math.inf
        with np.errstate(all="ignore"):
            return rounding(np.log(tol) / np.log(rho)) + shift if np.isfinite(np.log(tol) / np.log(rho)) \
                else float(np.log(tol) / np.log(rho))
    return f


def test_steps_reference_is_the_simulation():
    for lams, lr, tol in C._STEP_CASES:
        assert steps_ok(lams, lr, tol) == C._simulate_steps(lams, lr, tol)


def test_steps_accepts_a_right_answer_and_hides_it(capsys):
    passes(C.check_steps_needed, steps_ok, capsys)
    ok, out = run(C.check_steps_needed, lambda *a: 4000, capsys)
    assert not ok and "4081" not in out and "4080" not in out


@pytest.mark.parametrize("mistake, hint", [
    (_steps_with(lambda lam, lr: 1 - lr * lam.min()), "lambda_min only"),
    (_steps_with(lambda lam, lr: np.min(np.abs(1 - lr * lam))), "FASTEST"),
    (_steps_with(lambda lam, lr: np.max(np.abs(1 - lr * lam)), rounding=math.floor), "off by one"),
    (_steps_with(lambda lam, lr: np.max(np.abs(1 - lr * lam)), shift=1), "off by one"),
    (_steps_with(lambda lam, lr: np.max(np.abs(1 - lr * lam)), diverge=False), "diverges"),
    (lambda lams, lr, tol: None if np.max(np.abs(1 - lr * np.asarray(lams))) >= 1 else steps_ok(lams, lr, tol),
     "returned None"),
    (_steps_with(lambda lam, lr: np.max(1 - lr * lam)), "largest |1 - lr lambda|"),   # no abs() = lambda_min
    (lambda *a: float("nan"), "absolute value"),
    (lambda *a: "many", "return a number"),
    (_stub, "not implemented yet"),
])
def test_steps_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_steps_needed, mistake, hint, capsys)


def test_steps_flat_direction_needs_inf(capsys):
    def ignores_flat(lams, lr, tol):
        lams = [v for v in lams if v > 0]
        return steps_ok(lams, lr, tol)
    fails(C.check_steps_needed, ignores_flat, "flat direction", capsys)


# ------------------------------------------------------------------ the largest stable learning rate

def lr_ok(X):
    return 2 / np.linalg.eigvalsh(2 * X.T @ X / len(X))[-1]


def test_max_stable_lr_accepts_eig_and_svd(capsys):
    passes(C.check_max_stable_lr, lr_ok, capsys)
    passes(C.check_max_stable_lr, lambda X: len(X) / np.linalg.norm(X, 2) ** 2, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda X: 2 / np.linalg.eigvalsh(X.T @ X / len(X))[-1], "off by 2"),
    (lambda X: 1 / np.linalg.eigvalsh(2 * X.T @ X / len(X))[-1], "not 1 / lambda_max"),
    (lambda X: 2 / np.linalg.eigvalsh(2 * X.T @ X)[-1], "1/n"),
    (lambda X: 2 / np.linalg.eigvalsh(2 * X.T @ X / len(X))[0], "lambda_min"),
    (lambda X: len(X) / np.linalg.norm(X, 2), "SQUARES"),
    (lambda X: np.array([0.1, 0.2]), "shape"),
    (in_place(lr_ok, lambda X: np.multiply(X, 2, out=X)), "changed X"),
    (_stub, "not implemented yet"),
])
def test_max_stable_lr_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_max_stable_lr, mistake, hint, capsys)


# ------------------------------------------------------------------ one epoch of minibatch SGD

def sgd_ok(theta, X, y, lr, batch_size, order):
    theta = np.array(theta, dtype=float)
    for i in range(0, len(order), batch_size):
        b = order[i:i + batch_size]
        theta = theta - lr * 2 * X[b].T @ (X[b] @ theta - y[b]) / len(b)
    return theta


def _variant(**kw):
    return lambda theta, X, y, lr, bs, order: C._sgd_epoch(theta, X, y, lr, bs, order, **kw)


def test_sgd_accepts_a_right_answer(capsys):
    passes(C.check_sgd_epoch, sgd_ok, capsys)


def test_sgd_with_batch_n_is_one_gradient_descent_step():
    rng = np.random.default_rng(3)
    X, y, th = rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=2)
    gd = th - 0.1 * 2 * X.T @ (X @ th - y) / 6
    assert np.allclose(C._sgd_epoch(th, X, y, 0.1, 6, rng.permutation(6)), gd, atol=1e-12)


def in_place(theta, X, y, lr, bs, order):
    for i in range(0, len(order), bs):
        b = order[i:i + bs]
        theta -= lr * 2 * X[b].T @ (X[b] @ theta - y[b]) / len(b)
    return theta


@pytest.mark.parametrize("mistake, hint", [
    (_variant(drop_last=True), "do not drop it"),
    (_variant(full=True), "FULL data set"),
    (_variant(sum_loss=True), "MEAN"),
    (_variant(fixed_div=True), "actual size"),
    (lambda th, X, y, lr, bs, order: sgd_ok(th, X, y, lr, bs, np.arange(len(y))), "given `order`"),
    (_variant(stale=True), "CURRENT theta"),
    (_variant(no_two=True), "factor 2"),
    (in_place, "in place"),
    (_stub, "not implemented yet"),
])
def test_sgd_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_sgd_epoch, mistake, hint, capsys)


# ------------------------------------------------------------------ the variance of a minibatch gradient

def _s2(theta, X, y):
    g = 2 * X * (X @ theta - y)[:, None]
    return float(np.sum(np.var(g, axis=0)))


def variance_ok(theta, X, y, B):
    n = len(y)
    return _s2(theta, X, y) / B * (n - B) / (n - 1)


def test_variance_accepts_the_formula(capsys):
    passes(C.check_minibatch_grad_variance, variance_ok, capsys)


def test_variance_formula_matches_a_sampling_estimate():
    rng = np.random.default_rng(5)
    X, y, th = rng.normal(size=(12, 2)), rng.normal(size=12), rng.normal(size=2)
    g = 2 * X * (X @ th - y)[:, None]
    draws = [np.sum((g[rng.choice(12, 4, replace=False)].mean(0) - g.mean(0)) ** 2) for _ in range(20000)]
    assert abs(np.mean(draws) / variance_ok(th, X, y, 4) - 1) < 0.05


@pytest.mark.parametrize("mistake, hint", [
    (lambda th, X, y, B: _s2(th, X, y) / B, "WITHOUT replacement"),
    (lambda th, X, y, B: _s2(th, X, y) * (len(y) - B) / (len(y) - 1), "divide by B"),
    (lambda th, X, y, B: np.sqrt(variance_ok(th, X, y, B)), "standard deviation"),
    (lambda th, X, y, B: variance_ok(th, X, y, B) / 4, "factor 2"),
    (lambda th, X, y, B: _s2(th, X, y) * len(y) / (len(y) - 1) / B, "population variance"),
    (lambda th, X, y, B: _s2(th, X, y) / B * (1 - B / len(y)), "n / (n - 1) correction is missing"),
    (lambda th, X, y, B: np.sum(np.var(2 * X * (X @ th - y)[:, None], axis=0, ddof=1)) / B * (len(y) - B)
     / (len(y) - 1), "applied twice"),
    (lambda th, X, y, B: np.var(2 * X * (X @ th - y)[:, None], axis=0) / B, "shape"),
    (_stub, "not implemented yet"),
])
def test_variance_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_minibatch_grad_variance, mistake, hint, capsys)
