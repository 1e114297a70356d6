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


# ------------------------------------------------------------------ the checker framework

@C._checker
def check_double(fn) -> bool:
    """A toy checker: fn(x) must be 2x."""
    x = np.arange(3.0)
    out = C._result(fn(x), (3,))
    if not C._close(out, 2 * x):
        C._diagnose(out, 2 * x, [("you returned x, not 2x", x)], "wrong values")
    print("PASS double")
    return True


def test_checker_returns_a_score(capsys):
    ok, out = run(check_double, lambda x: 2 * x, capsys)
    assert isinstance(ok, C.Score) and float(ok) == 1.0 and out.startswith("PASS")
    assert C.Score(1.0)._repr_html_() == "<b>score 1/1</b>" and repr(C.Score(0.0)) == "0.0"


def test_stub_reads_not_implemented(capsys):
    ok, out = run(check_double, lambda x: (_ for _ in ()).throw(NotImplementedError), capsys)
    assert not ok and float(ok) == 0.0 and "not implemented yet" in out


def test_wrong_answer_gets_its_hint(capsys):
    ok, out = run(check_double, lambda x: x, capsys)
    assert not ok and out.startswith("FAIL") and "you returned x" in out


def test_crash_is_a_fail_not_an_exception(capsys):
    def broken(*args):
        raise KeyError("oops")
    ok, out = run(check_double, broken, capsys)
    assert not ok and out.startswith("FAIL") and "KeyError" in out


def test_wrong_shape_is_named(capsys):
    ok, out = run(check_double, lambda x: x[:2], capsys)
    assert not ok and "shape (2,)" in out
