"""Notebook 09's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import rul as C
from checker_util import fails, in_place, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ asymmetric (NASA) score

def score_ok(y_true, y_pred, a_early, a_late):
    d = np.asarray(y_pred, float) - np.asarray(y_true, float)
    return float(np.sum(np.where(d < 0, np.exp(-d / a_early) - 1, np.exp(d / a_late) - 1)))


def test_score_accepts_right_answer_and_the_helper(capsys):
    from helpers.data.tabular import nasa_score
    passes(C.check_asymmetric_score, score_ok, capsys)
    # the helper is the (13, 10) case of the same formula
    rng = np.random.default_rng(0)
    t, p = rng.uniform(0, 150, 30), rng.uniform(0, 150, 30)
    assert np.isclose(nasa_score(t, p), score_ok(t, p, 13.0, 10.0), rtol=1e-12)


@pytest.mark.parametrize("wrong, words", [
    (lambda t, p, e, la: score_ok(p, t, e, la), "wrong way round"),
    (lambda t, p, e, la: score_ok(t, p, la, e), "which constant"),
    (lambda t, p, e, la: score_ok(t, p, e, la) / len(t), "mean"),
    (lambda t, p, e, la: score_ok(t, p, e, la) + len(t), "subtract 1"),
    (lambda t, p, e, la: float(np.sum(np.exp(np.abs(p - t) / la) - 1)), "different constants"),
    (lambda t, p, e, la: np.full(len(t), 1.0), "shape"),
    (in_place(score_ok, lambda t, p, e, la: np.subtract(p, t, out=p)), "changed its input"),
])
def test_score_rejects_typical_mistakes(wrong, words, capsys):
    fails(C.check_asymmetric_score, wrong, words, capsys, start="FAIL")


# ------------------------------------------------------------------ end-aligned windows

def windows_ok(series, window, stride):
    T = len(series)
    if T < window:
        return np.empty((0, window, series.shape[1]))
    ends = list(range(T, window - 1, -stride))[::-1]
    return np.stack([series[e - window:e] for e in ends])


def test_windows_accept_right_answer(capsys):
    passes(C.check_end_aligned_windows, windows_ok, capsys)


def _from_start(series, window, stride):
    return np.stack([series[s:s + window] for s in range(0, len(series) - window + 1, stride)])


def _one_early(series, window, stride):
    ends = list(range(len(series) - 1, window - 1, -stride))[::-1]
    return np.stack([series[e - window:e] for e in ends]) if ends else np.empty((0, window, series.shape[1]))


@pytest.mark.parametrize("wrong, words", [
    (lambda s, w, k: windows_ok(s, w, k)[::-1], "newest window comes first"),
    (_from_start, "anchor them at the end"),
    (_one_early, "one row too early"),
    (lambda s, w, k: windows_ok(s, w, 1), "stride is ignored"),
    (lambda s, w, k: windows_ok(s, w, k).transpose(0, 2, 1), "time before features"),
    (lambda s, w, k: windows_ok(s, w, k)[1:], "count how many windows fit"),
    (lambda s, w, k: windows_ok(s, w, k) if len(s) >= w else np.zeros((1, w, s.shape[1])), "shorter than the window"),
])
def test_windows_reject_typical_mistakes(wrong, words, capsys):
    fails(C.check_end_aligned_windows, wrong, words, capsys, start="FAIL")


# ------------------------------------------------------------------ piecewise-linear RUL labels of a test engine

def labels_ok(cycles, rul_at_end, cap):
    return np.minimum(cap, rul_at_end + cycles[-1] - cycles)


def test_labels_accept_right_answer(capsys):
    passes(C.check_test_rul_labels, labels_ok, capsys)


@pytest.mark.parametrize("wrong, words", [
    (lambda c, r, cap: np.minimum(cap, c[-1] - c), "did not fail at its last recorded cycle"),
    (lambda c, r, cap: r + c[-1] - c, "no cap"),
    (lambda c, r, cap: np.maximum(cap, r + c[-1] - c), "upper limit"),
    (lambda c, r, cap: np.minimum(cap, r) + c[-1] - c, "capped one part before adding"),
    (lambda c, r, cap: r + np.minimum(cap, c[-1] - c), "capped one part before adding"),
    (lambda c, r, cap: np.minimum(cap, r + c - c[0]), "wrong way"),
    (lambda c, r, cap: np.minimum(cap, r + len(c) - c + 1), "off by one"),
    (lambda c, r, cap: labels_ok(c, r, cap)[:-1], "shape"),
])
def test_labels_reject_typical_mistakes(wrong, words, capsys):
    fails(C.check_test_rul_labels, wrong, words, capsys, start="FAIL")


# ------------------------------------------------------------------ split by engine

def split_ok(units, val_fraction, seed):
    from sklearn.model_selection import GroupShuffleSplit
    _, val = next(GroupShuffleSplit(1, test_size=val_fraction, random_state=seed).split(units, groups=units))
    mask = np.zeros(len(units), bool)
    mask[val] = True
    return mask


def test_split_accepts_right_answers(capsys):
    passes(C.check_split_by_unit, split_ok, capsys)

    def by_numpy(units, val_fraction, seed):
        ids = np.unique(units)
        pick = np.random.default_rng(seed).choice(ids, round(val_fraction * len(ids)), replace=False)
        return np.isin(units, pick)
    passes(C.check_split_by_unit, by_numpy, capsys)


def test_split_rejects_typical_mistakes(capsys):
    rows = lambda u, f, s: np.random.default_rng(s).random(len(u)) < f   # noqa: E731  (a row-level split leaks)
    fails(C.check_split_by_unit, rows, "both sides", capsys)
    fails(C.check_split_by_unit, lambda u, f, s: split_ok(u, f, s).astype(int), "boolean", capsys)
    unseeded = lambda u, f, s: split_ok(u, f, None)   # noqa: E731
    fails(C.check_split_by_unit, unseeded, "same seed", capsys)
    fails(C.check_split_by_unit, lambda u, f, s: split_ok(u, min(0.9, 2 * f), s), "fraction of the ENGINES", capsys)


@pytest.mark.parametrize("checker", [C.check_asymmetric_score, C.check_end_aligned_windows,
                                     C.check_test_rul_labels, C.check_split_by_unit])
def test_stub_reads_not_implemented(checker, capsys):
    fails(checker, _stub, "not implemented yet", capsys)
