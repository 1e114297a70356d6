"""Notebook 11's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import forecast as C
from checker_util import fails, in_place, passes, _stub  # noqa: E402


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


# ------------------------------------------------------------------ MASE

def mase_ok(y, p, tr, s):
    y, p, tr = np.asarray(y, float), np.asarray(p, float), np.asarray(tr, float)
    return np.mean(np.abs(p - y)) / np.mean(np.abs(tr[s:] - tr[:-s]))


def mase_loop(y, p, tr, s):
    num = [abs(b - a) for a, b in zip(np.ravel(y), np.ravel(p))]
    den = [abs(tr[t] - tr[t - s]) for t in range(s, len(tr))]
    return (sum(num) / len(num)) / (sum(den) / len(den))


@pytest.mark.parametrize("fn", [mase_ok, mase_loop])
def test_mase_accepts_right_answers(fn, capsys):
    passes(C.check_mase, fn, capsys)


def _mase_scaled(scale):
    return lambda y, p, tr, s: np.mean(np.abs(p - y)) / scale(y, tr, s)


def _mase_sq(y, p, tr, s):
    return np.mean((p - y) ** 2) / np.mean((tr[s:] - tr[:-s]) ** 2)


@pytest.mark.parametrize("mistake, hint", [
    (_mase_scaled(lambda y, tr, s: np.mean(np.abs(y.ravel()[s:] - y.ravel()[:-s]))), "TEST values"),
    (_mase_scaled(lambda y, tr, s: np.mean(np.abs(np.diff(tr)))), "seasonal lag"),
    (_mase_sq, "absolute values"),
    (lambda *a: np.sqrt(_mase_sq(*a)), "absolute values"),
    (_mase_scaled(lambda y, tr, s: np.mean(np.abs(tr))), "relative MAE"),
    (_mase_scaled(lambda y, tr, s: np.mean(np.abs(y))), "relative MAE"),
    (lambda *a: 100 * mase_ok(*a), "not a percentage"),
    (lambda *a: 1 / mase_ok(*a), "swapped"),
    (lambda y, p, tr, s: np.mean(np.abs(p - y), axis=0) / np.mean(np.abs(tr[s:] - tr[:-s])), "shape"),
    (lambda y, p, tr, s: np.median(np.abs(p - y)) / np.mean(np.abs(tr[s:] - tr[:-s])), "mean absolute error"),
    (_stub, "not implemented yet"),
])
def test_mase_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_mase, mistake, hint, capsys)


def test_mase_rejects_mutation(capsys):
    fails(C.check_mase, in_place(mase_ok, lambda y, p, tr, s: tr.sort()), "changed its input", capsys)


# ------------------------------------------------------------------ sliding-window backtest

def sliding_ok(n, n_folds, test_size, train_size, gap):
    starts = [n - (n_folds - k) * test_size for k in range(n_folds)]
    return [(np.arange(max(0, st - gap - train_size), st - gap), np.arange(st, st + test_size)) for st in starts]


def sliding_loop(n, n_folds, test_size, train_size, gap):
    folds, start = [], n - n_folds * test_size
    for _ in range(n_folds):
        train = [i for i in range(start - gap - train_size, start - gap) if i >= 0]
        folds.append((np.array(train), np.array(range(start, start + test_size))))
        start += test_size
    return folds


def sliding_sklearn(n, n_folds, test_size, train_size, gap):
    from sklearn.model_selection import TimeSeriesSplit
    tss = TimeSeriesSplit(n_folds, test_size=test_size, gap=gap, max_train_size=train_size)
    return list(tss.split(np.zeros(n)))


@pytest.mark.parametrize("fn", [sliding_ok, sliding_loop, sliding_sklearn,
                                lambda *a: [(list(tr), list(te)) for tr, te in sliding_ok(*a)]])
def test_sliding_accepts_right_answers(fn, capsys):
    passes(C.check_sliding_backtest, fn, capsys)


def _sliding_train(train):
    """A backtest with the right test blocks whose training block of each fold is train(start, train_size, gap)."""
    return lambda *a: [(train(te[0], a[3], a[4]), te) for _, te in sliding_ok(*a)]


@pytest.mark.parametrize("mistake, hint", [
    (_sliding_train(lambda st, w, g: np.arange(0, st - g)), "a sliding window keeps only the last train_size"),
    (lambda n, k, t, w, g: sliding_ok(n, k, t, w, 0), "leave out the `gap`"),
    (lambda n, k, t, w, g: sliding_ok(n, k, t, w, g + 1), "off by one"),
    (lambda n, k, t, w, g: sliding_ok(n, k, t, w, g - 1), "off by one"),
    (lambda n, k, t, w, g: sliding_ok(n, k, t, w, 2 * g), "ends 48 samples before"),
    (_sliding_train(lambda st, w, g: np.arange(max(0, st - w), st - g)), "counted back from the gap"),
    (_sliding_train(lambda st, w, g: np.arange(max(0, st - g - w - 1), st - g)), "expected 300"),
    (_sliding_train(lambda st, w, g: np.arange(st - g - w, st - g)), "clip at 0"),              # negative indices
    (_sliding_train(lambda st, w, g: np.arange(1000)[st - g - w:st - g]), "clip at 0"),        # slice wraps
    (_sliding_train(lambda st, w, g: np.arange(st - w, st + 1)), "at or after"),
    (_sliding_train(lambda st, w, g: np.arange(max(0, st - g - w), st - g)[::-1]), "not the consecutive window"),
    (lambda *a: sliding_ok(*a)[::-1], "earliest fold first"),
    (lambda n, k, t, w, g: [(np.arange(max(0, i * t - g - w), i * t - g), np.arange(i * t, (i + 1) * t))
                            for i in range(1, k + 1)], "LAST"),
    (lambda *a: [(tr, te + 1) for tr, te in sliding_ok(*a)], "consecutive block"),
    (lambda *a: sliding_ok(*a)[:-1], "folds for"),
    (lambda *a: [(tr, te[:-1]) for tr, te in sliding_ok(*a)], "test samples"),
    (lambda *a: 3, "list of"),
    (_stub, "not implemented yet"),
])
def test_sliding_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_sliding_backtest, mistake, hint, capsys)


@pytest.mark.parametrize("n, n_folds, test_size, train_size, gap", [
    (1000, 4, 100, 300, 24), (500, 3, 50, 400, 7), (300, 2, 40, 100, 0), (60, 5, 10, 5, 3)])
def test_sliding_reference_is_the_clipped_window(n, n_folds, test_size, train_size, gap):
    ref = C._reference_sliding(n, n_folds, test_size, train_size, gap)
    assert len(ref) == n_folds
    for k, (tr, te) in enumerate(ref):
        start = n - (n_folds - k) * test_size
        assert np.array_equal(te, np.arange(start, start + test_size))
        assert np.array_equal(tr, np.arange(max(0, start - gap - train_size), start - gap))
