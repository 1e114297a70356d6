"""Gradient checks and exercise checkers: pass, or fail with a hint that names the mistake.

Only NumPy is imported here. Every checker tests the learner's function on hidden random cases
generated (seeded) at call time, prints "PASS ..." or "FAIL: <hint>" and returns a Score (1.0 or 0.0, truthy like a bool); it
never raises on a wrong answer, and a stub that raises NotImplementedError reads "not implemented yet".
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["compare", "numeric_grad", "grad_check", "check_sigmoid_derivative", "check_numeric_grad",
           "check_softmax", "check_softmax_grad", "check_adam_step", "check_gd_step", "check_conv_output_size",
           "check_keras_dense_to_torch"]


def _np(a):
    """Turn a NumPy array, scalar or torch tensor into a float64 NumPy array."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def compare(name: str, mine, reference, atol: float = 1e-6) -> bool:
    """Print 'name | exact | approximate | max diff' (karpathy's cmp) and return whether they agree."""
    a, r = _np(mine), _np(reference)
    if a.shape != r.shape:
        print(f"{name:15s} | shape mismatch: {a.shape} vs {r.shape}")
        return False
    exact = bool(np.array_equal(a, r))
    approx = bool(np.allclose(a, r, rtol=0.0, atol=atol))
    maxdiff = float(np.max(np.abs(a - r))) if a.size else 0.0
    print(f"{name:15s} | exact: {exact!s:5s} | approximate: {approx!s:5s} | max diff: {maxdiff:.3g}")
    return approx


def numeric_grad(f, x, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function f at array x, in float64."""
    x = np.array(x, dtype=np.float64)  # a private copy
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = float(f(x))
        flat[i] = old - eps
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def rel_error(a, b) -> float:
    """Max elementwise relative error |a-b| / max(|a|+|b|, 1e-8)."""
    a, b = _np(a), _np(b)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def grad_check(f, grad_f, x, eps: float = 1e-6) -> float:
    """Max relative error between the analytic grad_f(x) and the numeric gradient of f at x."""
    x = np.array(x, dtype=np.float64)
    return rel_error(grad_f(x.copy()), numeric_grad(f, x, eps))


# ----------------------------------------------------------------------------- checker plumbing

class Score(float):
    """A checker's verdict, 1.0 (pass) or 0.0: truthy like a bool, and the grade nbgrader's autograder reads."""

    def _repr_html_(self):
        """How Jupyter shows it; nbgrader reads the plain '1.0' / '0.0'."""
        return f"<b>score {self:g}/1</b>"


def _checker(func):
    """Wrap a checker: stubs read 'not implemented yet', other exceptions become a FAIL line; returns a Score."""
    @functools.wraps(func)
    def wrapper(fn, *args, **kwargs):
        """Run the checker on the learner's fn; never raises."""
        try:
            return Score(bool(func(fn, *args, **kwargs)))
        except NotImplementedError:
            print(f"{func.__name__}: not implemented yet (fill in the function, then run this cell again)")
        except _Fail as e:
            print(f"FAIL: {e}")
        except Exception as e:  # the learner's code crashed
            print(f"FAIL: your function raised {type(e).__name__}: {e}")
        return Score(0.0)
    return wrapper


class _Fail(Exception):
    """A wrong answer; the message is the hint."""


def _close(a, b, tol=1e-7) -> bool:
    """Same shape, all finite, and equal within tol (relative and absolute)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _result(out, shape, what="result"):
    """Convert the learner's output to float64 and check its shape."""
    try:
        out = _np(out)
    except Exception:
        raise _Fail(f"your function returned {type(out).__name__}; expected an array") from None
    if out.shape != tuple(shape):
        raise _Fail(f"the {what} has shape {out.shape}, expected {tuple(shape)}")
    return out


def _diagnose(out, expected, candidates, default):
    """Raise _Fail with the hint of the first wrong-answer candidate that out matches."""
    if not np.all(np.isfinite(out)) and np.all(np.isfinite(expected)):
        for hint, cand in candidates:
            if cand is not None and not np.all(np.isfinite(cand)):
                raise _Fail(hint)
        raise _Fail("the result contains nan or inf. " + default)
    for hint, cand in candidates:
        if cand is not None and _close(out, cand, 1e-6):
            raise _Fail(hint)
    raise _Fail(default + f" (max abs error {np.max(np.abs(out - expected)):.3g})")


def _sig(x):
    """The sigmoid, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ----------------------------------------------------------------------------- the checkers

@_checker
def check_sigmoid_derivative(fn) -> bool:
    """Check fn(x) = derivative of the sigmoid at pre-activation x (elementwise, arrays)."""
    rng = np.random.default_rng(101)
    for shape in [(7,), (3, 4), (50,)]:
        x = rng.normal(0, 3, size=shape)
        out = _result(fn(x.copy()), shape)
        s = _sig(x)
        expected = s * (1 - s)
        cands = [("you applied the 's(1-s)' pattern to x itself; it must be applied to the sigmoid of x",
                  x * (1 - x)),
                 ("you returned the sigmoid itself, not its derivative", s),
                 ("sign error: the sigmoid is increasing, so its derivative is positive everywhere", -expected),
                 ("check the second factor: it should shrink to 0 where the sigmoid saturates at 1",
                  s * (1 + s))]
        if not _close(out, expected):
            _diagnose(out, expected, cands, "the values do not match the derivative of the sigmoid; "
                      "compare with numeric_grad on a few points")
    x = np.array([-800.0, 800.0])
    with np.errstate(all="ignore"):
        out = _np(fn(x.copy()))
    if not np.all(np.isfinite(out)) or np.max(np.abs(out)) > 1e-12:
        raise _Fail("for very large |x| the derivative should be ~0, but got " + np.array2string(out) +
                    ": compute the sigmoid in a way that does not overflow for large negative x")
    print("PASS check_sigmoid_derivative: matches on 3 hidden arrays and saturates correctly")
    return True


@_checker
def check_numeric_grad(fn) -> bool:
    """Check fn(f, x, eps) -> central-difference gradient of scalar f at array x."""
    rng = np.random.default_rng(102)
    f = lambda z: float(np.sum(np.sin(z) * z ** 2) + np.sum(z) ** 2)  # noqa: E731
    g = lambda z: np.cos(z) * z ** 2 + 2 * z * np.sin(z) + 2 * np.sum(z)  # noqa: E731
    for shape in [(5,), (3, 4)]:
        x = rng.normal(size=shape)
        x0 = x.copy()
        eps = 1e-4
        out = _result(fn(f, x, eps), shape, "gradient")
        if not np.array_equal(x, x0):
            raise _Fail("your function changed x: restore each entry after perturbing it")
        expected = g(x0)
        if np.max(np.abs(out - expected)) < 1e-6:
            continue
        forward = np.zeros_like(x0)
        for i in range(x0.size):
            xp = x0.copy().reshape(-1)
            xp[i] += eps
            forward.reshape(-1)[i] = (f(xp.reshape(shape)) - f(x0)) / eps
        cands = [("looks like a one-sided (forward) difference; use the symmetric difference around x", forward),
                 ("off by a factor of 2: check the distance between the two points you evaluate f at",
                  2 * expected),
                 ("off by a factor of 2: check the distance between the two points you evaluate f at",
                  expected / 2),
                 ("sign error: the difference should be f(x + eps) minus f(x - eps)", -expected)]
        for hint, cand in cands:
            if np.max(np.abs(out - cand)) < 1e-5:
                raise _Fail(hint)
        raise _Fail(f"the gradient is off (max abs error {np.max(np.abs(out - expected)):.3g}); "
                    "perturb one entry at a time, in both directions")
    print("PASS check_numeric_grad: central differences match the true gradient on 2 hidden functions")
    return True


def _softmax(z):
    """Row-wise softmax (reference)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@_checker
def check_softmax(fn) -> bool:
    """Check fn(Z) -> row-wise softmax of logits Z (n, classes), stable for huge logits."""
    rng = np.random.default_rng(103)
    for n, k in [(4, 3), (6, 10), (1, 5)]:
        z = rng.normal(0, 2, size=(n, k))
        with np.errstate(all="ignore"):
            out = _result(fn(z.copy()), (n, k), "softmax")
        expected = _softmax(z)
        if _close(out, expected):
            continue
        if np.allclose(out.sum(axis=0), 1) and not np.allclose(out.sum(axis=1), 1):
            raise _Fail("each column sums to 1, but each row (one example) should: "
                        "you normalised over the wrong axis")
        with np.errstate(all="ignore"):
            colmax = np.exp(z - z.max(axis=0, keepdims=True))
            cands = [("the whole matrix sums to 1: normalise each row (example) separately",
                      np.exp(z) / np.exp(z).sum()),
                     ("the shift you subtract must be constant within each row; you subtracted "
                      "a per-column value", colmax / colmax.sum(axis=1, keepdims=True)),
                     ("the rows sum to 1 but the values are wrong: did you exponentiate?", z / z.sum(1, keepdims=True))]
        _diagnose(out, expected, cands, "the probabilities do not match softmax")
    # huge logits: exp overflows unless shifted
    z = rng.normal(0, 1, size=(5, 4)) + 1000.0
    with np.errstate(all="ignore"):
        out = _result(fn(z.copy()), z.shape, "softmax")
    if not np.all(np.isfinite(out)):
        raise _Fail("nan/inf for large logits (around 1000): exp overflows. Softmax does not change when "
                    "you subtract the same number from every logit of a row - use the row's max")
    if not _close(out, _softmax(z)):
        raise _Fail("wrong values for large logits (around 1000); check the max-subtraction trick")
    # rows on very different scales: a single global shift underflows some rows
    z = np.stack([rng.normal(0, 1, 4) + 1000.0, rng.normal(0, 1, 4) - 1000.0, rng.normal(0, 1, 4)])
    with np.errstate(all="ignore"):
        out = _result(fn(z.copy()), z.shape, "softmax")
    if not np.all(np.isfinite(out)) or not _close(out, _softmax(z)):
        raise _Fail("wrong or nan when rows have very different scales (one near +1000, one near -1000): "
                    "subtract the max of each row, not one max for the whole array")
    print("PASS check_softmax: correct on 5 hidden logit matrices, including huge logits")
    return True


@_checker
def check_softmax_grad(fn) -> bool:
    """Check fn(X, P, Y_onehot) -> gradient of mean cross-entropy w.r.t. W (features, classes)."""
    rng = np.random.default_rng(104)
    for n, d, k in [(8, 3, 4), (20, 5, 3), (3, 2, 6)]:
        X = rng.normal(size=(n, d))
        P = _softmax(rng.normal(size=(n, k)))
        labels = rng.integers(0, k, n)
        Y = np.eye(k)[labels]
        Xc, Pc, Yc = X.copy(), P.copy(), Y.copy()
        with np.errstate(all="ignore"):
            try:
                raw = fn(Xc, Pc, Yc)
            except (IndexError, ValueError) as e:
                raise _Fail(f"your function raised {type(e).__name__} ({e}). Y arrives one-hot, shape "
                            f"(n, classes) = {Y.shape}, not as integer class labels") from None
        if not (np.array_equal(Pc, P) and np.array_equal(Yc, Y) and np.array_equal(Xc, X)):
            raise _Fail("your function modified its inputs in place (P, Y or X); work on a copy")
        try:
            out = _np(raw)
        except Exception:
            raise _Fail(f"your function returned {type(raw).__name__}; expected an array") from None
        if out.shape != (d, k):
            raise _Fail(f"the gradient has shape {out.shape}, expected (features, classes) = {(d, k)}; "
                        "the labels must be one-hot (n, classes), not a vector of integer labels")
        expected = X.T @ (P - Y) / n
        if _close(out, expected):
            continue
        with np.errstate(all="ignore"):
            cands = [("sign error: the gradient points uphill (prediction minus target, not the reverse)",
                      -expected),
                     ("off by a factor of n (the batch size): the loss is a mean over examples, so is its "
                      "gradient", expected * n),
                     ("sign error and missing 1/n normalisation", -expected * n),
                     ("this is the seed's erroneous formula with a logarithm: the gradient of cross-entropy "
                      "after softmax involves no log", X.T @ (np.log(P) - P) / n),
                     ("this is the seed's erroneous formula with a logarithm: the gradient of cross-entropy "
                      "after softmax involves no log", X.T @ (np.log(P) - P)),
                     ("a logarithm has no place in this gradient: the log of softmax cancels with the exp",
                      X.T @ (np.log(P) - Y) / n),
                     ("you used integer class labels where the one-hot targets belong",
                      X.T @ (P - labels[:, None]) / n),
                     ("you transposed the wrong factor: the result must be (features, classes)",
                      ((P - Y).T @ X).T / n)]
        _diagnose(out, expected, cands, "the gradient does not match; compare it with numeric_grad")
    print("PASS check_softmax_grad: matches the cross-entropy gradient on 3 hidden batches")
    return True


def _adam(p, g, m, v, t, lr, b1, b2, eps, correct=True, t_shift=0, eps_in=False, sq=True):
    """One Adam step (reference), or one of the typical mistakes the flags switch on."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if sq else g)
    tt = t + t_shift
    mh, vh = (m / (1 - b1 ** tt), v / (1 - b2 ** tt)) if correct else (m, v)
    den = np.sqrt(vh + eps) if eps_in else np.sqrt(vh) + eps
    return p - lr * mh / den, m, v


@_checker
def check_adam_step(fn) -> bool:
    """Check fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (param, m, v), with t = 1 on the first step."""
    rng = np.random.default_rng(105)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v = rng.normal(size=6), np.zeros(6), np.zeros(6)
    hints = {
        "no bias correction: m and v start at 0, so early on they are biased towards 0 and the first "
        "steps come out the wrong size": (False, 0, False, True),
        "the step counter is off by one: t is 1 on the first step, and the bias correction uses that t":
            (True, 1, False, True),
        "the step counter is off by one: t is 1 on the first step (t=0 makes the correction divide by zero)":
            (True, -1, False, True),
        "eps goes outside the square root (added to sqrt of the second moment)": (True, 0, True, True),
        "the second moment averages the squared gradient": (True, 0, False, False),
    }
    for t in range(1, 6):
        g = rng.normal(size=6) * (0.1 if t % 2 else 1.0)
        args = (p.copy(), g.copy(), m.copy(), v.copy(), t, lr, b1, b2, eps)
        with np.errstate(all="ignore"):
            res = fn(*args)
        if not (isinstance(res, (tuple, list)) and len(res) == 3):
            raise _Fail("return a tuple (param, m, v): the new parameter and both updated moments")
        out_p, out_m, out_v = (_result(r, (6,), name) for r, name in zip(res, ("param", "m", "v")))
        exp_p, exp_m, exp_v = _adam(p, g, m, v, t, lr, b1, b2, eps)
        if not _close(out_m, exp_m):
            cands = [("the first moment m is a running average of the gradient; check which beta weighs "
                      "the old value", b1 * g + (1 - b1) * m), ("m was not updated", m)]
            _diagnose(out_m, exp_m, cands, f"m is wrong at step t={t}")
        if not _close(out_v, exp_v):
            cands = [("the second moment averages the squared gradient", b2 * v + (1 - b2) * g),
                     ("v was not updated", v)]
            _diagnose(out_v, exp_v, cands, f"v is wrong at step t={t}")
        if not _close(out_p, exp_p):
            cands = []
            for hint, (corr, shift, eps_in, sq) in hints.items():
                with np.errstate(all="ignore"):
                    cands.append((hint, _adam(p, g, m, v, t, lr, b1, b2, eps, corr, shift, eps_in, sq)[0]))
            cands.append(("sign error: the parameter must move against the gradient", 2 * p - exp_p))
            _diagnose(out_p, exp_p, cands, f"the parameter update is wrong at step t={t}")
        p, m, v = exp_p, exp_m, exp_v
    print("PASS check_adam_step: 5 hidden Adam steps match, moments and bias correction included")
    return True


@_checker
def check_gd_step(fn) -> bool:
    """Check fn(w, b, x, y, lr) -> (w, b) after one gradient step on mean((w*x + b - y)**2)."""
    rng = np.random.default_rng(106)
    for n in (10, 37, 3):
        x = rng.normal(size=n)
        y = 3.0 * x - 1.0 + 0.1 * rng.normal(size=n)
        w, b, lr = float(rng.normal()), float(rng.normal()), 0.05
        with np.errstate(all="ignore"):
            res = fn(w, b, x.copy(), y.copy(), lr)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise _Fail("return a tuple (w, b) with the updated parameters")
        out = np.array([float(_np(res[0])), float(_np(res[1]))])
        r = w * x + b - y
        dw, db = 2 * np.mean(r * x), 2 * np.mean(r)
        expected = np.array([w - lr * dw, b - lr * db])
        if _close(out, expected):
            continue
        step = lambda gw, gb: np.array([w - lr * gw, b - lr * gb])  # noqa: E731
        cands = [("sign error: the step must go against the gradient (downhill)", step(-dw, -db)),
                 ("missing factor 2: the derivative of a square brings down a 2", step(dw / 2, db / 2)),
                 ("you used the sum over examples; the loss is a mean, so is its gradient", step(n * dw, n * db)),
                 ("you used the sum and dropped the factor 2", step(n * dw / 2, n * db / 2)),
                 ("the gradient for w needs the extra factor x from the chain rule", step(db, db))]
        _diagnose(out, expected, cands, "the updated (w, b) do not match one gradient-descent step")
    print("PASS check_gd_step: one gradient step matches on 3 hidden data sets")
    return True


@_checker
def check_conv_output_size(fn) -> bool:
    """Check fn(n, k, padding, stride, dilation) -> a convolution's (or pooling's) output size along one axis."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        k, s, d = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p, n = int(rng.integers(0, k)), int(rng.integers(d * (k - 1) + 1, 40))
        want, res = (n + 2 * p - d * (k - 1) - 1) // s + 1, fn(n, k, p, s, d)
        try:
            got = float(res)
        except (TypeError, ValueError):
            raise _Fail(f"return one number (the output size), not {type(res).__name__}") from None
        if np.isclose(got, want, rtol=0, atol=1e-9):
            continue
        msg = f"for n={n}, k={k}, padding={p}, stride={s}, dilation={d} you return {res}, expected {want}. "
        if d > 1 and np.isclose(got, (n + 2 * p - k) // s + 1):
            raise _Fail(msg + "A kernel with dilation d has gaps: it covers d*(k-1)+1 pixels, not k.")
        if np.isclose(got, (n + p - d * (k - 1) - 1) // s + 1):
            raise _Fail(msg + "Padding is added on both sides of the image.")
        if np.isclose(got, (n + 2 * p - d * (k - 1) - 1) / s + 1):
            raise _Fail(msg + "A window that does not fit is dropped: round down.")
        raise _Fail(msg + "Count how many window positions fit into the padded image.")
    print("PASS check_conv_output_size: 60 hidden (n, k, padding, stride, dilation) cases agree")
    return True


@_checker
def check_keras_dense_to_torch(fn) -> bool:
    """Check fn(kernel, h, w, c) -> the torch Linear weight (out, c*h*w) of a Keras Dense kernel (h*w*c, out) after Flatten."""
    rng = np.random.default_rng(7)
    for h, w, c, o in [(4, 4, 64, 3), (2, 3, 5, 4), (3, 3, 2, 2)]:
        k = rng.normal(size=(h * w * c, o)).astype(np.float32)
        expected = k.reshape(h, w, c, o).transpose(3, 2, 0, 1).reshape(o, c * h * w)
        out = _result(fn(k.copy(), h, w, c), expected.shape, "torch Linear weight (out, in)")
        if not _close(out, expected, 1e-6):
            _diagnose(out, expected, [("a plain transpose keeps Keras' H,W,C order of the inputs; torch "
                                       "flattens C,H,W", k.T)],
                      "reshape the rows to (h, w, c), move c first, flatten again, then transpose")
    print("PASS check_keras_dense_to_torch: 3 hidden kernels are reordered correctly")
    return True
