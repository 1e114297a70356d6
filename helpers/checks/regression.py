"""Exercise checkers of notebook 02 (linear regression), on the plumbing of helpers.checks.

Each checker tests the learner's function on hidden cases, prints "PASS ..." or "FAIL: <hint>" and
returns a Score; it never prints the expected numbers.
"""
from __future__ import annotations

import math

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _result

__all__ = ["check_steps_needed", "check_max_stable_lr", "check_sgd_epoch", "check_minibatch_grad_variance"]


# ----------------------------------------------------------------------------- steps from the eigenvalues

def _simulate_steps(eigenvalues, lr, tol, cap=10**6):
    """Gradient descent on sum_i lam_i x_i^2 / 2 from x = 1: steps until max |x_i| <= tol (inf if never)."""
    factors = 1.0 - lr * np.asarray(eigenvalues, dtype=np.float64)
    if np.max(np.abs(factors)) >= 1.0:
        return math.inf
    x, k = np.ones_like(factors), 0
    while np.max(np.abs(x)) > tol and k < cap:
        x, k = x * factors, k + 1
    return k


def _as_steps(out):
    """The learner's answer as a float (inf allowed), or a clear failure."""
    if out is None:
        raise _Fail("you returned None: return math.inf when gradient descent never gets within tol")
    try:
        return float(out)
    except (TypeError, ValueError):
        raise _Fail(f"return a number of steps (an int, or math.inf), not {type(out).__name__}") from None


_STEP_CASES = [([0.338, 23.662], 0.01, 1e-6), ([1.0, 10.0, 100.0], 0.015, 1e-4), ([1.0, 3.0], 0.6, 1e-5),
               ([2.0, 5.0], 0.5, 1e-3), ([0.5, 4.0], 0.2, 1e-3), ([3.0, 0.7, 12.0], 0.16, 1e-8),
               ([0.0, 1.0], 0.5, 1e-2)]


@_checker
def check_steps_needed(fn) -> bool:
    """Check fn(eigenvalues, lr, tol) -> steps until every error component has shrunk by tol, math.inf if never."""
    for lams, lr, tol in _STEP_CASES:
        want = _simulate_steps(lams, lr, tol)
        got = _as_steps(fn(np.array(lams), lr, tol))
        if got == want or (math.isinf(want) and math.isinf(got) and got > 0):
            continue
        lam = np.asarray(lams)
        rho = np.abs(1 - lr * lam)
        if math.isinf(want):
            if np.max(lr * lam) > 2:
                raise _Fail("with lr * lambda_max > 2 the factor |1 - lr lambda| exceeds 1 and gradient descent "
                            "diverges: return math.inf")
            raise _Fail("an eigenvalue 0 is a flat direction: its error never shrinks, so return math.inf")
        if math.isnan(got):
            raise _Fail("you got nan: the factor 1 - lr lambda can be negative (the step overshoots), "
                        "take its absolute value")
        if math.isinf(got):
            raise _Fail("you returned inf for a case that converges: divergence needs |1 - lr lambda| >= 1")

        def steps_for(r):
            return math.ceil(math.log(tol) / math.log(r))
        if got == steps_for(1 - lr * lam.min()) and rho.argmax() != lam.argmin():
            raise _Fail("you used lambda_min only: when lr lambda_max > 1 the steep direction oscillates and "
                        "its factor |1 - lr lambda_max| can be the slowest; take the largest |1 - lr lambda|")
        if rho.argmax() != rho.argmin() and got == steps_for(rho[rho.argmin()]):
            raise _Fail("you used the FASTEST direction; the error is gone only when the slowest one, the "
                        "largest |1 - lr lambda|, has shrunk")
        if abs(got - want) == 1:
            raise _Fail("off by one: find the SMALLEST k with rho**k <= tol (round up, not down, and do not add 1)")
        raise _Fail("wrong number of steps: each step multiplies the error along eigenvector i by "
                    "|1 - lr lambda_i|; solve rho**k <= tol for the slowest one")
    print(f"PASS check_steps_needed: matches simulated gradient descent on {len(_STEP_CASES)} hidden cases")
    return True


# ----------------------------------------------------------------------------- the stability limit of a data set

@_checker
def check_max_stable_lr(fn) -> bool:
    """Check fn(X) -> 2 / lambda_max of the Hessian of mean((X theta - y)^2), the largest stable learning rate."""
    rng = np.random.default_rng(1201)
    for n, d, shift in [(50, 3, 0.0), (8, 2, 3.0), (200, 6, 1.0), (30, 4, -2.0)]:
        X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + shift
        got = _call(fn, (X,), shape=(), what="learning rate",
                    changed="your function changed X; compute without modifying it")
        s = np.linalg.svd(X, compute_uv=False)
        want = n / s[0] ** 2
        if _close(got, want, 1e-8):
            continue
        _diagnose(got, np.float64(want), [
            ("off by 2: the Hessian of the MEAN SQUARED error is 2 X^T X / n (the square brings a 2)", 2 * n / s[0] ** 2),
            ("the stability limit is 2 / lambda_max, not 1 / lambda_max", n / (2 * s[0] ** 2)),
            ("you forgot the 1/n of the mean in the Hessian 2 X^T X / n", 1 / s[0] ** 2),
            ("you used lambda_min; stability is decided by the steepest direction, lambda_max", n / s[-1] ** 2),
            ("the eigenvalues of X^T X are the SQUARES of X's singular values", n / s[0])],
            "not 2 / lambda_max of the Hessian 2 X^T X / n")
    print("PASS check_max_stable_lr: right on 4 hidden data matrices")
    return True


# ----------------------------------------------------------------------------- one epoch of minibatch SGD

def _sgd_epoch(theta, X, y, lr, batch_size, order, *, drop_last=False, sum_loss=False, full=False, stale=False,
               fixed_div=False, no_two=False):
    """Reference epoch of minibatch SGD on the batch MSE, and its typical wrong variants."""
    theta, start = np.array(theta, dtype=np.float64), np.array(theta, dtype=np.float64)
    for i in range(0, len(order), batch_size):
        idx = np.asarray(order[i:i + batch_size])
        if drop_last and len(idx) < batch_size:
            break
        Xb, yb = (X, y) if full else (X[idx], y[idx])
        at = start if stale else theta
        g = Xb.T @ (Xb @ at - yb) * (1.0 if no_two else 2.0)
        theta = theta - lr * g / (1 if sum_loss else (batch_size if fixed_div else len(yb)))
    return theta


@_checker
def check_sgd_epoch(fn) -> bool:
    """Check fn(theta, X, y, lr, batch_size, order) -> theta after one epoch of minibatch SGD on the batch MSE."""
    rng = np.random.default_rng(1202)
    for n, d, bs in [(10, 3, 4), (12, 2, 1), (23, 5, 5), (9, 4, 9), (20, 3, 32)]:
        X, y = rng.normal(size=(n, d)), rng.normal(size=n)
        theta, order = rng.normal(size=d), rng.permutation(n)
        lr = 0.3 / max(1.0, float(np.max(np.sum(X ** 2, axis=1))))
        copies = (theta.copy(), X.copy(), y.copy(), order.copy())
        out = _result(fn(copies[0], copies[1], copies[2], lr, bs, copies[3]), (d,), "new theta")
        if not (np.array_equal(copies[0], theta) and np.array_equal(copies[1], X)):
            raise _Fail("your function changed theta or X in place; work on a copy (theta = theta.copy())")
        want = _sgd_epoch(theta, X, y, lr, bs, order)
        if _close(out, want, 1e-9):
            continue
        k = dict(theta=theta, X=X, y=y, lr=lr, batch_size=bs)
        _diagnose(out, want, [
            ("the last batch is shorter when n is not a multiple of batch_size: keep it, do not drop it",
             _sgd_epoch(**k, order=order, drop_last=True)),
            ("every step used the FULL data set: take the rows order[i:i + batch_size] of X and y",
             _sgd_epoch(**k, order=order, full=True)),
            ("you summed the squared errors over the batch; the batch loss is their MEAN (divide by the batch size)",
             _sgd_epoch(**k, order=order, sum_loss=True)),
            ("the last batch is shorter: divide by its actual size, len(batch), not by batch_size",
             _sgd_epoch(**k, order=order, fixed_div=True)),
            ("visit the examples in the given `order`, not 0, 1, 2, ...",
             _sgd_epoch(**k, order=np.arange(n))),
            ("each step's gradient must be computed at the CURRENT theta, after the previous steps",
             _sgd_epoch(**k, order=order, stale=True)),
            ("the gradient of the mean of (x theta - y)^2 has a factor 2",
             _sgd_epoch(**k, order=order, no_two=True))],
            "theta after the epoch is wrong: one step per batch, theta -= lr * 2 X_b^T (X_b theta - y_b) / len(b)")
    print("PASS check_sgd_epoch: right on 5 hidden problems, including a short last batch")
    return True


# ----------------------------------------------------------------------------- the noise of a minibatch gradient

def _per_example_grads(theta, X, y):
    """Row i: the gradient 2 x_i (x_i . theta - y_i) of example i's squared error."""
    return 2 * X * (X @ theta - y)[:, None]


def _exact_batch_variance(theta, X, y, B):
    """E ||g_batch - g_full||^2 over all batches of B distinct examples, by enumerating them (small n only)."""
    from itertools import combinations
    g = _per_example_grads(theta, X, y)
    full = g.mean(0)
    devs = [np.sum((g[list(c)].mean(0) - full) ** 2) for c in combinations(range(len(y)), B)]
    return float(np.mean(devs))


@_checker
def check_minibatch_grad_variance(fn) -> bool:
    """Check fn(theta, X, y, B) -> E||minibatch gradient - full gradient||^2, batches of B distinct random examples."""
    rng = np.random.default_rng(1203)
    cases = [(8, 2, 3), (6, 3, 1), (9, 2, 9), (7, 4, 5), (10, 2, 2)]
    for n, d, B in cases:
        X, y, theta = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
        got = _result(fn(theta.copy(), X.copy(), y.copy(), B), (), "variance (one number: the sum over coordinates)")
        want = _exact_batch_variance(theta, X, y, B)
        if _close(got, want, 1e-8):
            continue
        g = _per_example_grads(theta, X, y)
        s2 = float(np.sum(np.var(g, axis=0)))            # population variance, summed over coordinates
        _diagnose(got, np.float64(want), [
            ("the batch is drawn WITHOUT replacement: a batch of all n examples has no noise at all; include "
             "the finite-population factor (n - B) / (n - 1)", s2 / B),
            ("the variance of a MEAN of B examples is smaller than one example's: divide by B",
             s2 * (n - B) / (n - 1)),
            ("that is a standard deviation; the question asks for the expected SQUARED distance",
             np.sqrt(want)),
            ("the per-example gradient of (x . theta - y)^2 has a factor 2 (the variance a factor 4)", want / 4),
            ("the per-example variance here is the population variance (divide by n); the (n - 1) belongs in "
             "the finite-population factor", s2 * n / (n - 1) / B),
            ("the n / (n - 1) correction is missing: 1 - B/n is the finite-population factor for the sample "
             "variance (divide by n - 1), not for the population variance (divide by n)", s2 / B * (n - B) / n),
            ("the n / (n - 1) correction is applied twice: the sample variance (divide by n - 1) already has it",
             s2 * n / (n - 1) / B * (n - B) / (n - 1))],
            "not the expected squared distance between the minibatch and the full-batch gradient")
    print(f"PASS check_minibatch_grad_variance: matches all-batches enumeration on {len(cases)} hidden problems")
    return True
