"""Exercise checkers of notebook 11 (demand and energy forecasting), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail


@_checker
def check_seasonal_naive(fn) -> bool:
    """Check fn(history, season, horizon) -> the next `horizon` values, repeating the latest season."""
    rng = np.random.default_rng(1102)
    for n, season, horizon in [(60, 7, 10), (24 * 9, 24, 24), (50, 12, 30), (40, 7, 3)]:
        t = np.arange(n)
        hist = 100 + 20 * np.sin(2 * np.pi * t / season) + rng.normal(0, 5, n) + 0.3 * t
        out = _call(fn, (hist,), season, horizon, shape=(horizon,), what="forecast",
                    changed="your function changed the history it was given")
        steps = np.arange(1, horizon + 1)
        expected = hist[n - season + (steps - 1) % season]
        if _close(out, expected, 1e-12):
            continue
        cands = [("you repeated the last value (the naive forecast); repeat the last SEASON",
                  np.full(horizon, hist[-1])),
                 ("that is the OLDEST season of the history; use the latest one",
                  hist[(steps - 1) % season]),
                 ("one step off: the forecast for step h is the value exactly `season` steps earlier",
                  hist[n - season - 1 + (steps - 1) % season]),
                 ("one step off: the forecast for step h is the value exactly `season` steps earlier",
                  hist[(n - season + 1 + (steps - 1) % season) % n]),
                 ("you copied the last `horizon` values; step h must copy the value one season before it",
                  hist[-horizon:] if horizon <= n else None),
                 ("you averaged the seasons; the seasonal-naive forecast copies the latest one",
                  hist[n - season * (n // season):].reshape(-1, season).mean(0)[(steps - 1) % season])]
        _diagnose(out, expected, cands, f"with season {season} and horizon {horizon} the values do not repeat "
                  "the latest season")
    print("PASS check_seasonal_naive: right for horizons shorter than, equal to and longer than the season")
    return True


@_checker
def check_mase(fn) -> bool:
    """Check fn(y_true, y_pred, y_train, season) -> forecast MAE / in-sample MAE of the seasonal-naive forecast."""
    rng = np.random.default_rng(1103)
    for season, n_train, shape in [(24, 24 * 28, (7, 24)), (168, 168 * 6, (336,)), (7, 7 * 20, (30,))]:
        t = np.arange(n_train + int(np.prod(shape)))
        series = 1000 + 300 * np.sin(2 * np.pi * t / season) + 0.5 * t + rng.normal(0, 20, t.size)
        tr, y = series[:n_train], series[n_train:].reshape(shape)
        p = y + rng.laplace(10, 40, shape)              # a forecast with errors of both signs, heavy tails
        out = _call(fn, (y, p, tr), season, shape=(), what="MASE")
        err, yf = np.abs(p - y).mean(), y.ravel()
        expected = err / np.abs(tr[season:] - tr[:-season]).mean()
        if _close(out, expected, 1e-9):
            continue
        relative = ("you divided by the mean level of the series (a relative MAE); MASE divides by the error of "
                    "the seasonal-naive forecast")
        squared = ("you squared the errors; MASE uses their absolute values, on top and below",
                   np.mean((p - y) ** 2) / np.mean((tr[season:] - tr[:-season]) ** 2))
        cands = [("you scaled by the naive error on the TEST values (y_true); MASE scales by the in-sample "
                  "(training) seasonal-naive error, known before the forecast is made",
                  err / np.abs(yf[season:] - yf[:-season]).mean()),
                 ("the scale compares each training value with the one just before it (the plain naive "
                  "forecast); use the seasonal lag: the value one `season` earlier", err / np.abs(np.diff(tr)).mean()),
                 squared, (squared[0], np.sqrt(squared[1])),
                 (relative, err / np.abs(tr).mean()), (relative, err / np.abs(y).mean()),
                 ("MASE is a ratio, not a percentage: no factor 100", 100 * expected),
                 ("numerator and denominator are swapped: the forecast's MAE goes on top, the naive scale below",
                  1 / expected)]
        _diagnose(out, expected, cands, f"with season {season} the value is not the forecast's mean absolute error "
                  "divided by the in-sample MAE of the seasonal-naive forecast on y_train")
    print("PASS check_mase: right on 3 hidden forecasts, 1-D and 2-D, seasons 7, 24 and 168")
    return True


def _reference_sliding(n, n_folds, test_size, train_size, gap):
    """Sliding-window folds: scikit-learn's TimeSeriesSplit with max_train_size and gap."""
    from sklearn.model_selection import TimeSeriesSplit
    return list(TimeSeriesSplit(n_splits=n_folds, test_size=test_size, gap=gap,
                                max_train_size=train_size).split(np.zeros(n)))


def _sliding_train_hint(k, tr, rtr, start, train_size, gap):
    """Raise _Fail naming what is wrong with fold k's training indices tr (reference rtr, test block at start)."""
    fold, end = f"fold {k + 1}: ", start - gap                  # the reference ends right before `end`
    if len(tr) == 0 or tr.min() < 0:
        raise _Fail(fold + ("no training samples. " if len(tr) == 0 else "negative training indices. ")
                    + "When fewer than train_size samples come before the gap, the window starts at sample 0 "
                    "(clip at 0: a negative start counts from the end)")
    if tr.max() >= start:
        raise _Fail(fold + "some training samples come at or after the test block: a backtest may only learn "
                    "from the past")
    if tr.max() + 1 != end:
        dropped = start - tr.max() - 1
        if dropped == 0:
            raise _Fail(fold + f"the training block runs up to the test block; leave out the `gap` = {gap} "
                        "samples right before it: their targets reach into the test block")
        if abs(dropped - gap) == 1:
            raise _Fail(fold + f"gap off by one: you left out {dropped} samples before the test block, "
                        f"expected gap = {gap}")
        raise _Fail(fold + f"the training block ends {dropped} samples before the test block, expected gap = {gap}")
    if tr.min() == 0 < rtr.min():
        raise _Fail(fold + "training starts at sample 0; a sliding window keeps only the last train_size "
                    "samples before the gap")
    if len(tr) < len(rtr) and tr.min() == max(0, start - train_size):
        raise _Fail(fold + f"{len(tr)} training samples: the gap was taken out of the window. The window has "
                    "train_size samples, counted back from the gap")
    if len(tr) != len(rtr):
        raise _Fail(fold + f"{len(tr)} training samples, expected {len(rtr)}: the last train_size samples before "
                    "the gap (fewer only where the history is shorter)")
    raise _Fail(fold + "the training indices are not the consecutive window of samples before the gap")


@_checker
def check_sliding_backtest(fn) -> bool:
    """Check fn(n_samples, n_folds, test_size, train_size, gap) -> [(train_idx, test_idx), ...], sliding window."""
    for n, n_folds, test_size, train_size, gap in [(1000, 4, 100, 300, 24), (500, 3, 50, 400, 7),
                                                   (300, 2, 40, 100, 0)]:
        ref = _reference_sliding(n, n_folds, test_size, train_size, gap)
        try:
            got = [(np.asarray(tr), np.asarray(te)) for tr, te in fn(n, n_folds, test_size, train_size, gap)]
        except (TypeError, ValueError):
            raise _Fail("return a list of (train_indices, test_indices) pairs, one per fold") from None
        if len(got) != n_folds:
            raise _Fail(f"{len(got)} folds for n_folds={n_folds}")
        for k, ((tr, te), (rtr, rte)) in enumerate(zip(got, ref)):
            if not np.array_equal(te, rte):
                if len(te) != test_size:
                    raise _Fail(f"fold {k + 1}: {len(te)} test samples, expected test_size={test_size}")
                if any(np.array_equal(te, other) for _, other in ref):
                    raise _Fail("the folds must come in time order, the earliest fold first")
                if len(te) and te.min() < n - n_folds * test_size:
                    raise _Fail("the test blocks must be the LAST n_folds * test_size samples")
                raise _Fail(f"fold {k + 1}: the test indices are not the fold's consecutive block")
            if not np.array_equal(tr, rtr):
                _sliding_train_hint(k, tr, rtr, int(rte[0]), train_size, gap)
    print("PASS check_sliding_backtest: the same folds as scikit-learn's TimeSeriesSplit(max_train_size, gap) "
          "on 3 hidden cases")
    return True
