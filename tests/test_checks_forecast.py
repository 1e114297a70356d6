"""Notebook 11's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import forecast as C
from checker_util import fails, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ MAPE

def mape_ok(y, p):
    y, p = np.asarray(y, float), np.asarray(p, float)
    return 100 * np.mean(np.abs(p - y) / np.abs(y))


def test_mape_accepts_right_answers(capsys):
    from sklearn.metrics import mean_absolute_percentage_error
    for fn in (mape_ok, lambda y, p: 100 * mean_absolute_percentage_error(np.ravel(y), np.ravel(p))):
        passes(C.check_mape, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda y, p: np.mean(np.abs(p - y) / y), "fraction"),
    (lambda y, p: 100 * np.mean(np.abs(p - y) / p), "ACTUAL value"),
    (lambda y, p: 100 * np.mean((p - y) / y), "absolute value"),
    (lambda y, p: 100 * np.mean((y - p) / y), "absolute value"),
    (lambda y, p: 100 * np.abs(p - y).sum() / y.sum(), "WAPE"),
    (lambda y, p: 100 * np.mean(((p - y) / y) ** 2), "squared"),
    (lambda y, p: 100 * np.mean(np.abs(p - y) / y, axis=0), "shape"),
    (lambda y, p: 100 * np.median(np.abs(p - y) / y), "not the mean"),
    (_stub, "not implemented yet"),
])
def test_mape_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_mape, mistake, hint, capsys)


def test_mape_rejects_mutation(capsys):
    def mutating(y, p):
        p -= y
        return 100 * np.mean(np.abs(p) / y)
    fails(C.check_mape, mutating, "changed its input", capsys)


# ------------------------------------------------------------------ seasonal-naive

def snaive_ok(history, season, horizon):
    return np.resize(np.asarray(history)[-season:], horizon)


def snaive_loop(history, season, horizon):
    h = list(history)
    for _ in range(horizon):
        h.append(h[-season])
    return np.array(h[len(history):])


@pytest.mark.parametrize("fn", [snaive_ok, snaive_loop])
def test_seasonal_naive_accepts_right_answers(fn, capsys):
    passes(C.check_seasonal_naive, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda h, s, n: np.full(n, h[-1]), "naive forecast"),
    (lambda h, s, n: np.resize(h[:s], n), "OLDEST"),
    (lambda h, s, n: np.resize(h[-s - 1:-1], n), "one step off"),
    (lambda h, s, n: np.array([h[-s + 1 + k % s] for k in range(n)]), "one step off"),
    (lambda h, s, n: h[-s:][:n], "shape"),                                 # no repeat past one season
    (lambda h, s, n: np.resize(h[len(h) % s:].reshape(-1, s).mean(0), n), "averaged"),
    (lambda h, s, n: h[-n:], "last `horizon` values"),
    (_stub, "not implemented yet"),
])
def test_seasonal_naive_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_seasonal_naive, mistake, hint, capsys)


def test_seasonal_naive_rejects_mutation(capsys):
    def mutating(h, s, n):
        h[:] = h[::-1]
        return np.resize(h[:s][::-1], n)
    fails(C.check_seasonal_naive, mutating, "changed the history", capsys)


# ------------------------------------------------------------------ rolling-origin split

def split_ok(n, n_folds, test_size, horizon):
    folds = []
    for k in range(n_folds):
        start = n - (n_folds - k) * test_size
        folds.append((np.arange(0, start - horizon + 1), np.arange(start, start + test_size)))
    return folds


def test_split_accepts_right_answers(capsys):
    from sklearn.model_selection import TimeSeriesSplit
    sk = lambda n, k, t, h: list(TimeSeriesSplit(k, test_size=t, gap=h - 1).split(np.zeros(n)))  # noqa: E731
    for fn in (split_ok, sk, lambda *a: [(list(tr), list(te)) for tr, te in split_ok(*a)]):
        passes(C.check_rolling_origin_split, fn, capsys)


def _shift_train(delta):
    return lambda *a: [(np.arange(0, len(tr) + delta), te) for tr, te in split_ok(*a)]


@pytest.mark.parametrize("mistake, hint", [
    (lambda n, k, t, h: split_ok(n, k, t, 1), "leak the future"),           # no gap
    (_shift_train(-1), "too many"),                                         # gap one too large
    (lambda *a: [(tr[len(tr) // 2:], te) for tr, te in split_ok(*a)], "expanding window"),   # sliding window
    (lambda *a: [(np.arange(te[-1] + 1), te) for tr, te in split_ok(*a)], "at or after"),
    (lambda *a: split_ok(*a)[::-1], "earliest fold first"),
    (lambda n, k, t, h: [(np.arange(0, i * t), np.arange(i * t, (i + 1) * t)) for i in range(1, k + 1)], "LAST"),
    (lambda n, k, t, h: split_ok(n, k, t, h)[:-1], "folds for"),
    (lambda n, k, t, h: [(tr, te[:-1]) for tr, te in split_ok(n, k, t, h)], "test samples"),
    (lambda n, k, t, h: 3, "list of"),
    (_stub, "not implemented yet"),
])
def test_split_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_rolling_origin_split, mistake, hint, capsys)


def test_reference_is_leak_free():
    for tr, te in C._reference_split(1000, 4, 100, 24):
        assert tr[-1] + 24 == te[0] and tr[0] == 0 and len(te) == 100
