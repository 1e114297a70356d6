"""Exercise checkers of notebook 03 (logistic regression and softmax), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _np, _result, _sig, _softmax

__all__ = ["check_two_logit_prob", "check_l2_logreg_grad", "check_label_smoothing_grad", "check_weighted_ce_grad"]


def _softmax_slips(Z):
    """Typical wrong softmaxes of logits Z (n, K), with their hints: the wrong axis, or exponentials not normalised."""
    axis = ("the softmax is normalised over the wrong axis: each example's probabilities over the classes must add "
            "up to 1, not each class's over the examples")
    norm = ("the exponentials are not normalised: softmax divides them by their sum over the classes, so that each "
            "example's probabilities add up to 1")
    with np.errstate(all="ignore"):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return [(axis, _softmax(Z.T).T), (axis, np.exp(Z) / np.exp(Z).sum()), (norm, np.exp(Z)), (norm, E)]


# ---------------------------------------------------------------- softmax of two logits is a sigmoid

@_checker
def check_two_logit_prob(fn) -> bool:
    """Check fn(z0, z1) -> P(class 1) = softmax([z0, z1])[1], elementwise on arrays, stable for huge logits."""
    rng = np.random.default_rng(301)
    for n in (5, 12, 1):
        z0, z1 = rng.normal(0, 3, n), rng.normal(0, 3, n)
        with np.errstate(all="ignore"):
            out = _result(fn(z0.copy(), z1.copy()), (n,), "probability array")
        expected = _sig(z1 - z0)
        if _close(out, expected, 1e-9):
            continue
        with np.errstate(all="ignore"):
            cands = [("that is the probability of class 0: check the order of the difference (the logit of "
                      "class 1 comes first)", _sig(z0 - z1)),
                     ("you ignored z0: a softmax depends on the difference of the two logits", _sig(z1)),
                     ("the sigmoid takes the difference of the logits, not their sum", _sig(z0 + z1)),
                     ("softmax normalises the exponentials of the logits, not the logits themselves",
                      z1 / (z0 + z1)),
                     ("you returned a log-probability; exponentiate it", np.log(expected))]
            cands += [(hint, P[:, 1]) for hint, P in _softmax_slips(np.stack([z0, z1], axis=1))]
        _diagnose(out, expected, cands, "the probabilities do not match softmax([z0, z1])[1]")
    # huge logits: the naive exp overflows
    z0 = np.array([1000.0, -1000.0, 800.0, 0.0])
    z1 = np.array([1001.0, -1002.0, -800.0, 900.0])
    with np.errstate(all="ignore"):
        out = _result(fn(z0.copy(), z1.copy()), (4,), "probability array")
    if not np.all(np.isfinite(out)):
        raise _Fail("nan or inf for logits near +-1000: exp overflows. Write the probability as a function "
                    "of the difference of the logits, and compute it without overflow")
    if not _close(out, _sig(z1 - z0), 1e-9):
        raise _Fail("wrong values for logits near +-1000 (finite, but not the softmax): only the difference "
                    "z1 - z0 matters")
    print("PASS check_two_logit_prob: matches softmax on 4 hidden logit pairs, huge logits included")
    return True


# ---------------------------------------------------------------- L2-regularised logistic regression

def _logreg_grad(w, b, X, y):
    """Reference (dL/dw, dL/db) of the mean log loss without penalty."""
    r = _sig(X @ w + b) - y
    return X.T @ r / len(y), float(r.mean())


@_checker
def check_l2_logreg_grad(fn) -> bool:
    """Check fn(w, b, X, y, lam) -> (dw, db) of mean log loss + lam/2 * ||w||^2 (the bias not penalised)."""
    rng = np.random.default_rng(302)
    for n, d, lam in [(30, 4, 0.1), (50, 7, 1.0), (9, 3, 0.03)]:
        X = rng.normal(size=(n, d))
        y = (rng.random(n) < 0.5).astype(float)
        w, b = rng.normal(0, 1, d), float(rng.normal(0, 1))
        args = (w.copy(), b, X.copy(), y.copy(), lam)
        res = fn(*args)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise _Fail("return a tuple (dw, db): the gradient for the weights and the one for the bias")
        dw = _result(res[0], (d,), "weight gradient dw")
        try:
            db = float(np.squeeze(_np(res[1])))
        except (TypeError, ValueError):
            raise _Fail("db must be one number (the bias is a scalar)") from None
        gw, gb = _logreg_grad(w, b, X, y)
        exp_w = gw + lam * w
        if not np.isclose(db, gb, rtol=1e-7, atol=1e-9):
            if np.isclose(db, gb + lam * b, rtol=1e-7, atol=1e-9):
                raise _Fail("the bias is not penalised: only the weights w are in the penalty, so db has no "
                            "lambda term")
            if np.isclose(db, -gb, rtol=1e-7, atol=1e-9):
                raise _Fail("sign error in db: the error signal is prediction minus target, p - y")
            if np.isclose(db, n * gb, rtol=1e-7, atol=1e-9):
                raise _Fail("db is n times too large: the loss is the MEAN over the n examples, so db is a mean "
                            "too, not a sum")
            raise _Fail("db is wrong: the penalty does not involve b, so db is the plain log-loss gradient")
        if _close(dw, exp_w):
            continue
        cands = [("the penalty's gradient is missing: d/dw of lambda/2 ||w||^2 adds a term to dw", gw),
                 ("off by a factor 2 in the penalty term: the 1/2 in lambda/2 ||w||^2 cancels the 2 of the square",
                  gw + 2 * lam * w),
                 ("off by a factor 1/2 in the penalty term: differentiating the square ||w||^2 brings down a 2, "
                  "which cancels the 1/2 in lambda/2", gw + lam * w / 2),
                 ("the penalty is added once to the mean loss, not per example: its gradient has no 1/n",
                  gw + lam * w / n),
                 ("sign error in the penalty term: it pulls w towards 0, so it adds lambda * w to the gradient",
                  gw - lam * w),
                 ("lambda * sign(w) is the gradient of the L1 penalty; this one is L2 (squares)",
                  gw + lam * np.sign(w)),
                 ("sign error in the data term: the error signal is prediction minus target, p - y",
                  -gw + lam * w),
                 ("the data term is a mean over examples: divide X^T (p - y) by n", gw * n + lam * w)]
        _diagnose(dw, exp_w, cands, "dw does not match; check it with grad_check")
    print("PASS check_l2_logreg_grad: (dw, db) match on 3 hidden data sets")
    return True


# ---------------------------------------------------------------- cross-entropy with label smoothing

def _smooth_targets(y, k, eps):
    """PyTorch's label smoothing: (1 - eps) on the true class plus eps / K on every class."""
    return (1 - eps) * np.eye(k)[y] + eps / k


@_checker
def check_label_smoothing_grad(fn) -> bool:
    """Check fn(Z, y, eps) -> dL/dZ (n, K) of the mean cross-entropy with label smoothing eps (as in PyTorch)."""
    rng = np.random.default_rng(303)
    for n, k, eps in [(6, 4, 0.1), (10, 10, 0.2), (3, 3, 0.05)]:
        Z = rng.normal(0, 2, (n, k))
        y = rng.integers(0, k, n)
        with np.errstate(all="ignore"):
            out = _call(fn, (Z, y), eps, shape=(n, k), what="gradient dL/dZ",
                        changed="your function changed Z or y in place; work on a copy")
        P = _softmax(Z)
        T = _smooth_targets(y, k, eps)
        expected = (P - T) / n
        if _close(out, expected, 1e-9):
            continue
        onehot = np.eye(k)[y]
        t_km1 = (1 - eps) * onehot + eps / (k - 1) * (1 - onehot)
        cands = [("you ignored the smoothing: the target is no longer one-hot", (P - onehot) / n),
                 ("the smoothed target spreads eps over all K classes, the true class included (eps / K each, "
                  "as PyTorch does), not over the K - 1 others", (P - t_km1) / n),
                 ("the true class keeps 1 - eps and every class also gets eps / K; part of the target is missing",
                  (P - (1 - eps) * onehot) / n),
                 ("the loss is a mean over the n examples, so its gradient has a 1/n", P - T),
                 ("sign error: the gradient is prediction minus (smoothed) target", (T - P) / n),
                 ("the gradient with respect to the logits needs the softmax probabilities, not the logits",
                  (Z - T) / n)]
        cands += [(hint, (Pw - T) / n) for hint, Pw in _softmax_slips(Z)]
        _diagnose(out, expected, cands, "the gradient does not match; compare it with torch autograd or "
                                        "numeric_grad on a small case")
    print("PASS check_label_smoothing_grad: matches on 3 hidden batches")
    return True


# ---------------------------------------------------------------- cross-entropy with class weights

@_checker
def check_weighted_ce_grad(fn) -> bool:
    """Check fn(Z, y, w) -> dL/dZ (n, K) of PyTorch's class-weighted mean cross-entropy, cross_entropy(weight=w)."""
    rng = np.random.default_rng(304)
    for n, k in [(8, 3), (12, 5), (5, 4)]:
        Z = rng.normal(0, 2, (n, k))
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)                                   # every class present
        w = rng.uniform(0.2, 5.0, k)
        with np.errstate(all="ignore"):
            out = _call(fn, (Z, y, w), shape=(n, k), what="gradient dL/dZ",
                        changed="your function changed Z, y or w in place; work on a copy")
        D = _softmax(Z) - np.eye(k)[y]                          # per-example gradient p - y
        wy = w[y][:, None]
        expected = wy * D / w[y].sum()
        if _close(out, expected, 1e-9):
            continue
        cands = [("PyTorch's weighted mean divides by the sum of the weights of the examples' true classes, "
                  "sum_i w[y_i], not by n", wy * D / n),
                 ("the class weights are missing: each example's p - y is scaled by the weight of its TRUE class",
                  D / n),
                 ("each example is weighted by its true class's weight w[y_i], not each column by its class's weight",
                  D * w[None, :] / w[y].sum()),
                 ("each example is weighted by its true class's weight w[y_i], not each column by its class's weight",
                  D * w[None, :] / n),
                 ("off by the normaliser: the weighted mean divides by sum_i w[y_i] (a sum over the examples, "
                  "not over the classes)", wy * D / w.sum()),
                 ("sign error: the gradient is prediction minus target", -expected)]
        cands += [(hint, wy * (Pw - np.eye(k)[y]) / w[y].sum()) for hint, Pw in _softmax_slips(Z)]
        _diagnose(out, expected, cands, "the gradient does not match torch.nn.functional.cross_entropy(Z, y, "
                                        "weight=w); compare with autograd on a small case")
    print("PASS check_weighted_ce_grad: matches PyTorch's weighted cross-entropy on 3 hidden batches")
    return True
