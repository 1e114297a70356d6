"""Exercise checkers of notebook 08 (predictive maintenance), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _result


def _pump_table(rng, n, names):
    """A hidden maintenance table: ids, measurements, a category, the label and leaky columns (names vary)."""
    import pandas as pd
    failed = (rng.random(n) < 0.08).astype(np.int64)
    cause = rng.integers(0, 2, n)
    cols = {names["id"]: [f"P{i:05d}" for i in rng.permutation(n)],
            names["serial"]: rng.permutation(n) + 10_000,
            names["flow"]: rng.normal(120, 15, n).round(1),
            names["site"]: rng.choice(["north", "south", "east"], n),
            names["pressure"]: rng.normal(6, 0.8, n).round(2),
            names["label"]: failed,
            names["vib"]: rng.gamma(2.0, 1.5, n),           # unrounded: every value distinct
            names["fault_a"]: failed * cause,
            names["fault_b"]: failed * (1 - cause),
            names["downtime"]: (failed * rng.uniform(2, 48, n)).round(1),
            names["temp"]: rng.normal(60, 5, n).round(1)}
    keep = [names[k] for k in ("flow", "site", "pressure", "vib", "temp")]
    kinds = {"id": [names["id"], names["serial"]], "breakdown": [names["fault_a"], names["fault_b"]],
             "after": [names["downtime"]]}
    return pd.DataFrame(cols), names["label"], keep, kinds


_PUMP_NAMES = [
    dict(id="pump_id", serial="serial_no", flow="flow_l_min", site="site", pressure="pressure_bar",
         label="failed", vib="vibration_mm_s", fault_a="fault_bearing", fault_b="fault_seal",
         downtime="downtime_h", temp="bearing_temp_c"),
    dict(id="asset", serial="row", flow="q", site="plant", pressure="dp", label="broke_down",
         vib="rms", fault_a="code_E1", fault_b="code_E2", downtime="repair_cost", temp="t_oil")]


@_checker
def check_leak_free_columns(fn) -> bool:
    """Check fn(df, label) -> the columns a failure model may use (no label, ids, or columns that know the label)."""
    rng = np.random.default_rng(801)
    for names, n in zip(_PUMP_NAMES, (2000, 1500)):
        df, label, keep, kinds = _pump_table(rng, n, names)
        before = df.copy()
        raw = fn(df, label)
        if not df.equals(before):
            raise _Fail("your function changed the table it was given; work on a copy or just return names")
        try:
            got = [str(c) for c in raw]
        except TypeError:
            raise _Fail(f"return a list of column names, got {type(raw).__name__}") from None
        if len(set(got)) != len(got):
            raise _Fail("some column names appear twice in your list")
        unknown = set(got) - set(df.columns)
        if unknown:
            raise _Fail(f"{len(unknown)} of the names you returned are not columns of the table")
        if label in got:
            raise _Fail("the label itself is among your features")
        bad = {k: len(set(got) & set(v)) for k, v in kinds.items()}
        if bad["breakdown"]:
            raise _Fail(f"{bad['breakdown']} kept column(s) are nonzero only on failed rows and add up to the "
                        "label: the label broken down by cause, known only after the failure")
        if bad["after"]:
            raise _Fail(f"{bad['after']} kept column(s) are measured after the event (nonzero only when the "
                        "machine failed): a model would not have them at prediction time")
        if bad["id"]:
            raise _Fail(f"{bad['id']} kept column(s) take a different value on every row: identifiers, "
                        "which let a model memorise rows instead of learning")
        missing = set(keep) - set(got)
        if missing:
            raise _Fail(f"you dropped {len(missing)} measured column(s) that do not reveal the label "
                        "(a categorical column counts too, and a float measurement may differ on every row "
                        "without being an identifier)")
    print("PASS check_leak_free_columns: right on 2 hidden maintenance tables with different column names")
    return True


def _total_cost(y, p, t, cost_miss, cost_stop, strict=False):
    """Cost of alarming when p >= t (p > t if strict): misses x cost_miss + needless stops x cost_stop."""
    alarm = p > t if strict else p >= t
    return cost_miss * np.sum((y == 1) & ~alarm) + cost_stop * np.sum((y == 0) & alarm)


def _best_threshold(y, p, cost_miss, cost_stop):
    """Reference: the candidate threshold (a score, or above all scores) with the least total cost."""
    cands = np.r_[np.unique(p), np.inf]
    costs = np.array([_total_cost(y, p, t, cost_miss, cost_stop) for t in cands])
    return cands[int(np.argmin(costs))], float(costs.min())


@_checker
def check_cost_threshold(fn) -> bool:
    """Check fn(y_true, scores, cost_miss, cost_stop) -> threshold t (alarm when score >= t) of least total cost."""
    rng = np.random.default_rng(802)
    # the last case: a stop costs 40 misses and the highest score is a healthy machine, so never alarming
    # (a threshold above every score) is the cheapest choice
    for n, rate, cost_miss, cost_stop, skew in [(3000, 0.04, 5000.0, 250.0, 3.0), (2000, 0.1, 800.0, 400.0, 0.3),
                                                 (4000, 0.02, 20000.0, 100.0, 2.0), (600, 0.05, 50.0, 2000.0, 1.0)]:
        y = (rng.random(n) < rate).astype(np.int64)
        z = rng.normal(0, 1, n) + 2.2 * y
        p = 1.0 / (1.0 + np.exp(-(z - 2.0) * skew))            # scores, deliberately not calibrated
        if cost_stop > cost_miss:
            p[np.flatnonzero(y == 0)[0]] = p.max() + 0.01
        out = float(_call(fn, (y, p), cost_miss, cost_stop, shape=(), what="threshold"))
        best_t, best = _best_threshold(y, p, cost_miss, cost_stop)
        mine = _total_cost(y, p, out, cost_miss, cost_stop)
        if mine <= best * (1 + 1e-12) + 1e-9:
            continue
        swapped_t, _ = _best_threshold(y, p, cost_stop, cost_miss)
        bayes = cost_stop / (cost_stop + cost_miss)
        f1s = []
        for t in np.unique(p):
            tp = np.sum((y == 1) & (p >= t))
            f1s.append(2 * tp / (np.sum(p >= t) + np.sum(y == 1)))
        f1_t = np.unique(p)[int(np.argmax(f1s))]
        if np.isinf(best_t) and out >= np.min(p) and mine > best:
            raise _Fail("never alarming (a threshold above every score, np.inf) can be the cheapest choice: "
                        "when a stop costs far more than a miss, include it among the candidates")
        if _total_cost(y, p, out, cost_miss, cost_stop, strict=True) <= best * (1 + 1e-12) + 1e-9:
            raise _Fail("your threshold is right for 'alarm when score > t'; the convention here is "
                        "score >= t (a score equal to the threshold raises the alarm)")
        for hint, t in [("you swapped the two costs: a missed failure costs cost_miss", swapped_t),
                        ("0.5 is the default threshold, not the cheapest one", 0.5),
                        ("cost_stop / (cost_stop + cost_miss) is optimal only for calibrated probabilities; "
                         "these scores are not calibrated: pick the threshold that minimises the cost "
                         "on the data you are given", bayes),
                        ("this threshold maximises F1, which weighs both errors alike; minimise the total cost",
                         f1_t)]:
            if abs(out - t) < 1e-12 or np.isclose(mine, _total_cost(y, p, t, cost_miss, cost_stop), rtol=1e-12):
                raise _Fail(hint)
        raise _Fail(f"with cost_miss={cost_miss:g}, cost_stop={cost_stop:g} your threshold costs {mine:,.0f}; "
                    f"a cheaper threshold exists (try every distinct score as a candidate)")
    print("PASS check_cost_threshold: your thresholds reach the least total cost on 4 hidden validation sets")
    return True


def _hydraulic_w(bar, l_min):
    """Reference: hydraulic power in W = pressure [Pa] x volume flow [m^3/s]."""
    return np.asarray(bar, np.float64) * 1e5 * np.asarray(l_min, np.float64) / 60_000.0


@_checker
def check_hydraulic_power(fn) -> bool:
    """Check fn(pressure_bar, flow_l_min) -> hydraulic power in watts (elementwise, arrays)."""
    rng = np.random.default_rng(803)
    for n in (5, 40):
        bar, flow = rng.uniform(1, 12, n), rng.uniform(20, 400, n)
        out = _result(fn(bar.copy(), flow.copy()), (n,), "power array")
        expected = _hydraulic_w(bar, flow)
        if _close(out, expected, 1e-9):
            continue
        cands = [("that is in kW; the feature is in watts", expected / 1000),
                 ("litres per minute must become m^3 per SECOND: divide by 60 as well", expected * 60),
                 ("a litre is 1/1000 of a cubic metre", expected * 1000),
                 ("1 bar is 100,000 Pa, not 1 Pa", expected / 1e5),
                 ("1 bar is 100,000 Pa (10^5), not 1,000", expected / 100),
                 ("bar x L/min is not in watts: convert both to SI units (Pa, m^3/s) first", bar * flow)]
        _diagnose(out, expected, cands, "the values do not match pressure x volume flow in SI units")
    print("PASS check_hydraulic_power: right on 2 hidden arrays of pumps")
    return True
