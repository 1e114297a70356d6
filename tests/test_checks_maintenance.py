"""Notebook 08's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import maintenance as C
from checker_util import fails, in_place, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ leak-free feature columns

def leak_free_ok(df, label):
    """Keep measured columns: drop the label, identifiers, and columns nonzero only on failed rows."""
    keep = []
    for c in df.columns:
        col = df[c]
        if c == label or (col.dtype.kind != "f" and col.nunique() == len(df)):   # label, identifiers
            continue
        if col.dtype.kind in "if" and ((col != 0) <= (df[label] == 1)).all():
            continue
        keep.append(c)
    return keep


def test_leak_free_accepts_a_general_rule(capsys):
    passes(C.check_leak_free_columns, leak_free_ok, capsys)


def test_leak_free_works_on_ai4i_shaped_names(capsys):
    # the reference rule, applied to the AI4I header, keeps the six measured columns
    import pandas as pd
    rng = np.random.default_rng(0)
    n = 500
    y = (rng.random(n) < 0.1).astype(int)
    df = pd.DataFrame({"udi": np.arange(n), "product_id": [f"L{i}" for i in range(n)],
                       "type": rng.choice(list("LMH"), n), "torque_nm": rng.normal(40, 10, n),
                       "failure": y, "twf": y * (rng.random(n) < 0.5), "hdf": y * (rng.random(n) < 0.5)})
    assert leak_free_ok(df, "failure") == ["type", "torque_nm"]


@pytest.mark.parametrize("mistake, hint", [
    (lambda df, label: leak_free_ok(df, label) + [c for c in df.columns if c in ("pump_id", "asset")],
     "different value on every row"),
    (lambda df, label: [c for c in df.columns if c != label], "broken down"),
    (lambda df, label: list(df.columns), "label itself"),
    (lambda df, label: [c for c in leak_free_ok(df, label)] + [c for c in df.columns if c.startswith(("fault", "code"))],
     "broken down"),
    (lambda df, label: leak_free_ok(df, label) + [c for c in df.columns if c in ("downtime_h", "repair_cost")],
     "after the event"),
    (lambda df, label: [c for c in leak_free_ok(df, label) if df[c].dtype.kind in "if"], "categorical"),
    (lambda df, label: leak_free_ok(df, label) + ["nonexistent"], "not columns"),
    (lambda df, label: ["flow_l_min", "site", "pressure_bar", "vibration_mm_s", "bearing_temp_c"], "not columns"),
    (lambda df, label: [c for c in leak_free_ok(df, label) if df[c].nunique() < len(df)], "without being an identifier"),
    (in_place(leak_free_ok, lambda df, label: df.drop(columns=[label], inplace=True)), "changed the table"),
    (_stub, "not implemented yet"),
])
def test_leak_free_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_leak_free_columns, mistake, hint, capsys)


# ------------------------------------------------------------------ cost-based threshold

def cost_threshold_ok(y, p, cost_miss, cost_stop):
    """Try every distinct score (and 'never alarm') as the threshold; keep the cheapest."""
    cands = np.r_[np.unique(p), np.inf]
    costs = [cost_miss * np.sum((y == 1) & (p < t)) + cost_stop * np.sum((y == 0) & (p >= t)) for t in cands]
    return float(cands[int(np.argmin(costs))])


def cost_threshold_by_sorting(y, p, cost_miss, cost_stop):
    """The same answer by a cumulative sum over the scores sorted in descending order (vectorised)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]            # the last row of each run of equal scores
    tp, fp = np.cumsum(ys)[last], np.cumsum(1 - ys)[last]
    costs = np.r_[cost_miss * y.sum(), cost_miss * (y.sum() - tp) + cost_stop * fp]
    cands = np.r_[np.inf, ps[last]]
    return float(cands[int(np.argmin(costs))])


@pytest.mark.parametrize("fn", [cost_threshold_ok, cost_threshold_by_sorting])
def test_cost_threshold_accepts_right_answers(fn, capsys):
    passes(C.check_cost_threshold, fn, capsys)


def _strict(y, p, cost_miss, cost_stop):
    """Right threshold for 'alarm when p > t': the score just below the best one."""
    t = cost_threshold_ok(y, p, cost_miss, cost_stop)
    below = np.unique(p)[np.unique(p) < t]
    return float(below[-1]) if len(below) else 0.0


def _f1_best(y, p, cost_miss, cost_stop):
    cands = np.unique(p)
    f1 = [2 * np.sum((y == 1) & (p >= t)) / (np.sum(p >= t) + y.sum()) for t in cands]
    return float(cands[int(np.argmax(f1))])


def _without_never(y, p, cost_miss, cost_stop):
    """Every distinct score as a candidate, but not 'never alarm'."""
    cands = np.unique(p)
    costs = [cost_miss * np.sum((y == 1) & (p < t)) + cost_stop * np.sum((y == 0) & (p >= t)) for t in cands]
    return float(cands[int(np.argmin(costs))])


@pytest.mark.parametrize("mistake, hint", [
    (lambda y, p, m, s: cost_threshold_ok(y, p, s, m), "swapped"),
    (lambda y, p, m, s: 0.5, "default threshold"),
    (lambda y, p, m, s: s / (s + m), "calibrated"),
    (_f1_best, "maximises F1"),
    (_strict, "score >= t"),
    (lambda y, p, m, s: float(np.median(p)), "cheaper threshold exists"),
    (_without_never, "never alarming"),
    (lambda y, p, m, s: np.array([0.1, 0.2]), "shape"),
    (in_place(cost_threshold_ok, lambda y, p, m, s: p.sort()), "changed its input"),
    (_stub, "not implemented yet"),
])
def test_cost_threshold_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_cost_threshold, mistake, hint, capsys)


# ------------------------------------------------------------------ hydraulic power (a physics feature)

def test_hydraulic_power_accepts_right_answer(capsys):
    passes(C.check_hydraulic_power, lambda bar, q: bar * 1e5 * q / 1000 / 60, capsys)
    # 10 bar at 60 L/min is 10^6 Pa x 10^-3 m^3/s = 1 kW
    assert np.isclose(C._hydraulic_w(10.0, 60.0), 1000.0, rtol=1e-12)


@pytest.mark.parametrize("mistake, hint", [
    (lambda bar, q: bar * 1e5 * q / 1000 / 60 / 1000, "kW"),
    (lambda bar, q: bar * 1e5 * q / 1000, "divide by 60"),
    (lambda bar, q: bar * 1e5 * q / 60, "1/1000 of a cubic metre"),
    (lambda bar, q: bar * q / 1000 / 60, "100,000 Pa, not 1 Pa"),
    (lambda bar, q: bar * q, "SI units"),
    (lambda bar, q: bar + q, "do not match"),
    (lambda bar, q: float(bar[0] * q[0]), "shape"),
    (_stub, "not implemented yet"),
])
def test_hydraulic_power_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_hydraulic_power, mistake, hint, capsys)
