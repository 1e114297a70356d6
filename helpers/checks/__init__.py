"""Gradient checks and the checker framework every exercise checker (helpers/checks/<topic>.py) is built on.

Only NumPy is imported here. A checker, wrapped by `_checker`, tests the learner's function on hidden
random cases generated (seeded) at call time, prints "PASS ..." or "FAIL: <hint>" and returns a Score
(1.0 or 0.0, truthy like a bool, the grade nbgrader reads); it never raises on a wrong answer, and a
stub that raises NotImplementedError reads "not implemented yet".
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["compare", "numeric_grad", "rel_error", "grad_check", "Score"]


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


def _call(fn, arrays, *rest, shape, what="result", changed="your function changed its input arrays"):
    """fn(copies of arrays, *rest) checked by _result; FAIL with `changed` if fn modified a copy in place."""
    copies = [a.copy() for a in arrays]
    out = _result(fn(*copies, *rest), shape, what)
    if not all(np.array_equal(c, a) for c, a in zip(copies, arrays)):
        raise _Fail(changed)
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


def _hint(got, candidates, default):
    """Raise _Fail with the hint of the first typical mistake that got equals (None/False: not applicable), else the default."""
    for hint, cand in candidates:
        if cand is not None and cand is not False and _close(got, cand, 1e-7):
            raise _Fail(hint)
    raise _Fail(default)


def _sig(x):
    """The sigmoid, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(z):
    """Row-wise softmax (reference)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
