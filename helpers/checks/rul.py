"""Exercise checkers of notebook 09 (remaining useful life), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _result


def _asym(y_true, y_pred, a_early, a_late):
    """Reference asymmetric score: sum of exp(-d/a_early) - 1 (early, d < 0) and exp(d/a_late) - 1, d = pred - true."""
    d = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.expm1(-d / a_early), np.expm1(d / a_late))))


@_checker
def check_asymmetric_score(fn) -> bool:
    """Check fn(y_true, y_pred, a_early, a_late) -> the PHM08-style score (a float; (13, 10) is NASA's)."""
    rng = np.random.default_rng(901)
    for n, a_early, a_late in [(20, 13.0, 10.0), (7, 20.0, 4.0), (50, 5.0, 15.0)]:
        y_true = rng.integers(5, 150, n).astype(np.float64)
        y_pred = y_true + rng.normal(0, 20, n)
        with np.errstate(all="ignore"):
            out = _call(fn, (y_true, y_pred), a_early, a_late, shape=(), what="score",
                        changed="your function changed its input arrays; compute on copies")
        expected = _asym(y_true, y_pred, a_early, a_late)
        if _close(out, expected, 1e-9):
            continue
        d = y_pred - y_true
        with np.errstate(all="ignore"):
            cands = [
                ("early and late are the wrong way round (the sign of d, or which constant goes with "
                 "which side): d = prediction - true RUL; a positive d predicts more life than is left, "
                 "the late, dangerous case, and a_late divides it", _asym(y_pred, y_true, a_early, a_late)),
                ("this is a mean; the score adds up the penalties of all engines",
                 expected / n),
                ("a perfect prediction must cost 0: subtract 1 from each exponential",
                 expected + n),
                ("the two sides need different constants, not one constant for |d|",
                 float(np.sum(np.expm1(np.abs(d) / a_late)))),
                ("the two sides need different constants, not one constant for |d|",
                 float(np.sum(np.expm1(np.abs(d) / a_early))))]
        _diagnose(np.asarray(out), np.asarray(expected), [(h, np.asarray(c)) for h, c in cands],
                  f"the score is wrong for a_early={a_early}, a_late={a_late}")
    out = _result(fn(np.array([50.0, 80.0]), np.array([50.0, 80.0]), 13.0, 10.0), (), "score")
    if abs(out) > 1e-12:
        raise _Fail(f"perfect predictions should score 0, yours score {float(out):.4g}")
    print("PASS check_asymmetric_score: right on 3 hidden fleets with different constants, 0 when perfect")
    return True


def _end_windows(series, window, stride):
    """Reference: windows ending at the last row, every `stride` rows back, oldest first."""
    n = (len(series) - window) // stride + 1 if len(series) >= window else 0
    ends = len(series) - stride * np.arange(n)[::-1]
    return np.stack([series[e - window:e] for e in ends]) if n else np.empty((0, window, series.shape[1]))


@_checker
def check_end_aligned_windows(fn) -> bool:
    """Check fn(series (T, features), window, stride) -> windows ending at the last row, stride apart, oldest first."""
    rng = np.random.default_rng(902)
    for T, f, window, stride in [(40, 3, 10, 4), (31, 2, 30, 1), (57, 4, 12, 5), (100, 1, 30, 10)]:
        series = rng.normal(size=(T, f))
        expected = _end_windows(series, window, stride)
        raw = fn(series.copy(), window, stride)
        try:
            out = np.asarray(raw, dtype=np.float64)
        except Exception:
            raise _Fail(f"your function returned {type(raw).__name__}; expected an array") from None
        if out.shape == (expected.shape[0], f, window) and f != window:
            raise _Fail(f"shape {out.shape}: put time before features, (windows, window, features)")
        if out.shape != expected.shape:
            n_start = (T - window) // stride + 1
            hint = (f"for T={T}, window={window}, stride={stride} you returned {out.shape[0] if out.ndim else 0} "
                    "windows; count how many windows fit when each is `stride` rows earlier than the next "
                    "and none starts before row 0") if out.ndim == 3 and out.shape[1:] == expected.shape[1:] \
                else f"the windows have shape {out.shape}, expected (windows, window, features)"
            if out.ndim == 3 and out.shape[0] == T - window + 1 and n_start != T - window + 1:
                hint = "you made a window at every row: the stride is ignored"
            raise _Fail(hint)
        if _close(out, expected):
            continue
        starts = np.stack([series[s:s + window] for s in range(0, stride * len(expected), stride)])
        early = _end_windows(series[:-1], window, stride)
        cands = [("the newest window comes first; order them oldest first (the last one ends at the last row)",
                  expected[::-1]),
                 ("your windows start at row 0 and step forward, so the last one can miss the latest cycles: "
                  "anchor them at the end of the series instead", starts),
                 ("every window ends one row too early: the newest window must include the series' last row",
                  early if len(early) == len(expected) else None)]
        _diagnose(out, expected, cands, "the windows hold the wrong rows")
    out = np.asarray(fn(rng.normal(size=(5, 3)), 10, 2), dtype=np.float64)
    if out.shape != (0, 10, 3):
        raise _Fail(f"a series shorter than the window has no full window: expected shape (0, 10, 3), got {out.shape}")
    print("PASS check_end_aligned_windows: right on 4 hidden series and on one too short for a window")
    return True


@_checker
def check_test_rul_labels(fn) -> bool:
    """Check fn(cycles, rul_at_end, cap) -> capped RUL at every recorded cycle of a test engine."""
    outs, exps, cands, first = [], [], [], None
    for length, rul_end, cap in [(40, 30, 125), (120, 80, 125), (60, 7, 50), (200, 112, 130), (30, 140, 125)]:
        cycles = np.arange(1, length + 1)
        expected = np.minimum(cap, rul_end + (cycles[-1] - cycles)).astype(np.float64)
        out = _result(fn(cycles.copy(), rul_end, cap), (length,), "label array")
        if first is None and not _close(out, expected):
            first = f"wrong labels for an engine with {length} cycles, rul_at_end={rul_end}"
        left = (cycles[-1] - cycles).astype(np.float64)
        raw = rul_end + left
        outs.append(out)
        exps.append(expected)
        cands.append([("the engine did not fail at its last recorded cycle: it still had rul_at_end cycles left then",
                       np.minimum(cap, left)),
                      ("no cap: early in life the label must stay flat at `cap`", raw),
                      ("the cap is an upper limit on the label, not a lower one", np.maximum(cap, raw)),
                      ("you capped one part before adding the other: the cap limits the finished label, not "
                       "rul_at_end or the cycles after it alone", np.minimum(cap, rul_end) + left),
                      ("you capped one part before adding the other: the cap limits the finished label, not "
                       "rul_at_end or the cycles after it alone", rul_end + np.minimum(cap, left)),
                      ("the labels run the wrong way: remaining life falls as the cycles go by",
                       np.minimum(cap, rul_end + cycles - cycles[0])),
                      ("off by one: at the last recorded cycle the label is exactly rul_at_end (capped)",
                       np.minimum(cap, raw + 1)),
                      ("off by one: at the last recorded cycle the label is exactly rul_at_end (capped)",
                       np.minimum(cap, raw - 1))])
    if first is not None:      # judged on all engines at once: some mistakes agree with others on a few engines
        _diagnose(np.concatenate(outs), np.concatenate(exps),
                  [(h, np.concatenate([c[i][1] for c in cands])) for i, (h, _) in enumerate(cands[0])], first)
    print("PASS check_test_rul_labels: right on 5 hidden test engines, one whose rul_at_end exceeds the cap")
    return True


@_checker
def check_split_by_unit(fn) -> bool:
    """Check fn(units, val_fraction, seed) -> boolean mask of validation rows, whole units on one side."""
    rng = np.random.default_rng(904)
    for n_units, frac, seed in [(100, 0.2, 0), (30, 0.3, 1), (12, 0.25, 7)]:
        lengths = rng.integers(20, 60, n_units)
        units = np.repeat(rng.permutation(np.arange(1, n_units + 1)) + 1000, lengths)
        raw = fn(units.copy(), frac, seed)
        mask = np.asarray(raw)
        if mask.shape != units.shape:
            raise _Fail(f"return one boolean per row: shape {units.shape}, got {mask.shape}")
        if mask.dtype != bool:
            raise _Fail(f"return a boolean mask (True = validation row), got dtype {mask.dtype}")
        mixed = [u for u in np.unique(units) if 0 < mask[units == u].mean() < 1]
        if mixed:
            raise _Fail(f"{len(mixed)} engines have rows on both sides of the split: the model would see part "
                        "of a validation engine's life while training. Choose whole engines")
        n_val = len(np.unique(units[mask]))
        if abs(n_val - frac * n_units) > 1:
            raise _Fail(f"{n_val} of {n_units} engines are in validation; with val_fraction={frac} expected "
                        "about that fraction of the ENGINES (not of the rows)")
        again = np.asarray(fn(units.copy(), frac, seed))
        if not np.array_equal(again, mask):
            raise _Fail("the same seed gave a different split: draw the engines with the seed you are given")
    print("PASS check_split_by_unit: whole engines on each side, the right share, reproducible")
    return True
