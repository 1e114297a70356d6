"""Exercise checkers of notebook 11 (demand and energy forecasting), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail


@_checker
def check_mape(fn) -> bool:
    """Check fn(y_true, y_pred) -> mean absolute percentage error in percent, over every element."""
    rng = np.random.default_rng(1101)
    for shape in [(50,), (30, 24), (7,)]:
        y = rng.uniform(8_000, 20_000, shape)
        p = y * (1 + rng.normal(0.02, 0.08, shape))               # errors of both signs, a small bias
        out = _call(fn, (y, p), shape=(), what="MAPE")
        ape = np.abs(p - y) / y
        expected = 100 * ape.mean()
        if _close(out, expected, 1e-9):
            continue
        cands = [("that is a fraction; MAPE is in percent (multiply by 100)", ape.mean()),
                 ("divide each error by the ACTUAL value, not by the forecast", 100 * np.mean(np.abs(p - y) / p)),
                 ("take the absolute value of each error before averaging: errors of opposite signs cancel",
                  100 * np.mean((p - y) / y)),
                 ("take the absolute value of each error before averaging: errors of opposite signs cancel",
                  100 * np.mean((y - p) / y)),
                 ("that is sum|error| / sum|actual| (the weighted APE, WAPE); MAPE averages the ratio of each hour",
                  100 * np.abs(p - y).sum() / y.sum()),
                 ("you squared the errors; MAPE uses their absolute values", 100 * np.mean(((p - y) / y) ** 2))]
        _diagnose(out, expected, cands, "the value is not the mean of |forecast - actual| / |actual| in percent")
    print("PASS check_mape: right on 3 hidden forecasts, 1-D and 2-D")
    return True


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


def _reference_split(n, n_folds, test_size, horizon):
    """Expanding-window folds: scikit-learn's TimeSeriesSplit with gap = horizon - 1."""
    from sklearn.model_selection import TimeSeriesSplit
    return list(TimeSeriesSplit(n_splits=n_folds, test_size=test_size, gap=horizon - 1).split(np.zeros(n)))


@_checker
def check_rolling_origin_split(fn) -> bool:
    """Check fn(n_samples, n_folds, test_size, horizon) -> [(train_idx, test_idx), ...] of an expanding window."""
    for n, n_folds, test_size, horizon in [(1000, 4, 100, 24), (500, 3, 50, 7), (300, 2, 40, 1)]:
        ref = _reference_split(n, n_folds, test_size, horizon)
        try:
            got = [(np.asarray(tr), np.asarray(te)) for tr, te in fn(n, n_folds, test_size, horizon)]
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
            if np.array_equal(tr, rtr):
                continue
            if len(tr) and tr.max() >= te.min():
                raise _Fail(f"fold {k + 1}: some training samples come at or after the test block: "
                            "a backtest may only learn from the past")
            if len(tr) and tr.min() > 0:
                raise _Fail(f"fold {k + 1}: training starts at sample {tr.min()}; an expanding window keeps "
                            "everything from the first sample")
            if len(tr) > len(rtr):
                raise _Fail(f"fold {k + 1}: the last {len(tr) - len(rtr)} training sample(s) have targets "
                            f"(up to {horizon} steps ahead) inside the test block: they leak the future")
            if len(tr) < len(rtr):
                raise _Fail(f"fold {k + 1}: you dropped {len(rtr) - len(tr)} training sample(s) too many; a "
                            "sample whose last target is the test block's first origin is already observed")
            raise _Fail(f"fold {k + 1}: the training indices are not every sample from 0 up to the leak-free end")
    print("PASS check_rolling_origin_split: the same folds as an expanding-window backtest on 3 hidden cases")
    return True
