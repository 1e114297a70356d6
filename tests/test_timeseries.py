"""helpers.data.timeseries: the power-load file's quirks (unsorted, repeated and missing hours), the fix, windows."""
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data import timeseries as T

# One worker runs this module: its module-scoped fixture then runs once (pytest -n N --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_timeseries")

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(not (MIRROR / "timeseries" / T.POWER_FILE).exists(),
                                  reason=f"{T.POWER_FILE} is not in the offline mirror at {MIRROR} "
                                         "(set DLC_DATA_MIRROR to the course's data folder)")

# a small file with every quirk: out of order, the autumn 02:00 twice, the spring 02:00 missing
ROWS = ["2017-11-05 03:00:00,103.0", "2017-11-05 01:00:00,100.0", "2017-11-05 02:00:00,110.0",
        "2017-11-05 02:00:00,90.0", "2018-03-11 01:00:00,200.0", "2018-03-11 03:00:00,220.0"]


def _write(path, rows=ROWS, header="Datetime,AEP_MW"):
    """A small power-load CSV."""
    path.write_text("\n".join([header] + rows) + "\n")
    return path


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The real file through the catalogue (mirror -> fresh cache -> DataFrame), and its cleaned series."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLC_DATA_MIRROR", str(MIRROR))
        mp.setenv("DLC_DATA_DIR", str(tmp_path_factory.mktemp("cache")))
        raw = T.load_power_load()
    return raw, *T.clean_hourly(raw)


# ------------------------------------------------------------------ reading

def test_read_renames_parses_and_keeps_file_order(tmp_path):
    df = T.read_power_csv(_write(tmp_path / "p.csv"))
    assert list(df.columns) == ["time", "load_mw"]
    assert df["time"].dtype.kind == "M" and df["load_mw"].dtype == np.float64
    assert df["time"].iloc[0] == pd.Timestamp("2017-11-05 03:00") and not df["time"].is_monotonic_increasing


def test_read_refuses_another_header(tmp_path):
    with pytest.raises(ValueError, match="unexpected header"):
        T.read_power_csv(_write(tmp_path / "p.csv", header="ds,y"))


def test_read_refuses_another_date_format(tmp_path):
    # a day-first re-save must fail loudly, not swap days and months
    with pytest.raises(ValueError):
        T.read_power_csv(_write(tmp_path / "p.csv", rows=["05/11/2017 01:00,100.0", "05/11/2017 02:00,101.0"]))


# ------------------------------------------------------------------ diagnosis and the fix

def test_diagnose_finds_every_quirk(tmp_path):
    d = T.diagnose_hourly(T.read_power_csv(_write(tmp_path / "p.csv"))["time"])
    assert d["rows"] == 6 and d["steps_back"] == 1 and d["duplicate_stamps"] == 1
    # the spring hole: 02:00 missing; the long jump from November to March is a gap too
    assert ("2018-03-11 02:00:00", 1) in d["gaps"]
    assert d["gaps"][0][0] == "2017-11-05 04:00:00"
    assert d["first"] == "2017-11-05 01:00:00" and d["last"] == "2018-03-11 03:00:00"


def test_clean_sorts_averages_repeats_and_fills_holes(tmp_path):
    df = T.read_power_csv(_write(tmp_path / "p.csv", rows=ROWS[:4] + ["2017-11-05 05:00:00,107.0"]))
    y, filled = T.clean_hourly(df)
    assert list(y.index) == list(pd.date_range("2017-11-05 01:00", "2017-11-05 05:00", freq="h"))
    assert math.isclose(y["2017-11-05 02:00"], 100.0, rel_tol=1e-12)     # mean of 110 and 90
    assert math.isclose(y["2017-11-05 04:00"], 105.0, rel_tol=1e-12)     # halfway between 103 and 107
    assert filled.tolist() == [False, False, False, True, False]
    assert y.index.freq == "h"


def test_clean_leaves_a_clean_series_alone():
    t = pd.date_range("2020-01-01", periods=48, freq="h")
    df = pd.DataFrame({"time": t, "load_mw": np.arange(48.0)})
    y, filled = T.clean_hourly(df.sample(frac=1.0, random_state=0))
    assert np.array_equal(y.to_numpy(), np.arange(48.0)) and not filled.any()


@needs_mirror
def test_real_file_has_the_documented_quirks(real):
    raw, y, filled = real
    d = T.diagnose_hourly(raw["time"])
    assert d["rows"] == 121_273 and d["first"] == "2004-10-01 01:00:00" and d["last"] == "2018-08-03 00:00:00"
    assert d["steps_back"] > 0 and not raw["time"].is_monotonic_increasing
    assert d["duplicate_stamps"] == 4
    dup = raw.loc[raw["time"].duplicated(keep=False), "time"]
    assert set(dup.dt.strftime("%Y-%m-%d %H:%M")) == {"2014-11-02 02:00", "2015-11-01 02:00",
                                                      "2016-11-06 02:00", "2017-11-05 02:00"}
    months = pd.to_datetime([g[0] for g in d["gaps"]]).month
    assert len(d["gaps"]) == 27 and all(n == 1 for _, n in d["gaps"])
    assert (sum(months == 3), sum(months == 4), sum(months.isin([10, 11])), sum(months == 12)) == (13, 2, 10, 2)
    assert raw["load_mw"].min() == 9_581 and raw["load_mw"].max() == 25_695


@needs_mirror
def test_real_file_cleaned(real):
    raw, y, filled = real
    assert len(y) == 121_273 - 4 + 27 == 121_296 and int(filled.sum()) == 27
    assert y.index.is_unique and y.notna().all() and (np.diff(y.index) == pd.Timedelta(hours=1)).all()
    assert math.isclose(y["2014-11-02 02:00"], (12_994 + 13_190) / 2, rel_tol=1e-12)
    # the reference points: same hour yesterday / last week over the last 365 days
    last = y[y.index > y.index[-1] - pd.Timedelta(days=365)]
    for lag, ref in [(24, 6.24), (168, 9.90)]:
        mape = 100 * np.mean(np.abs(last - y.shift(lag)[last.index]) / last)
        assert abs(mape - ref) < 0.02, (lag, mape)


# ------------------------------------------------------------------ the stand-in

def test_standin_has_the_shape_and_the_quirks():
    df = T.standin_power_load()
    assert list(df.columns) == ["time", "load_mw"] and df["load_mw"].dtype == np.float64
    d = T.diagnose_hourly(df["time"])
    assert d["first"] == "2004-10-01 01:00:00" and d["last"] == "2018-08-03 00:00:00"
    assert d["steps_back"] > 0 and d["duplicate_stamps"] == 14 and d["missing_hours"] == 14
    y, _ = T.clean_hourly(df)
    assert len(y) == 121_296 and 5_000 < y.min() < y.max() < 40_000
    cal = T.calendar_features(y.index)
    assert y[cal["off"] == 0].mean() > 1.05 * y[cal["off"] == 1].mean()      # a weekly rhythm to learn
    assert np.array_equal(df.to_numpy(), T.standin_power_load().to_numpy())   # reproducible


def test_loader_falls_back_to_the_standin_only_when_allowed(tmp_path, monkeypatch, capsys):
    import helpers.data.catalogue as D
    from helpers.data import DataError
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DLC_DATA_MIRROR", str(tmp_path / "no-mirror"))
    monkeypatch.setattr(D, "fetch", lambda *a, **k: (_ for _ in ()).throw(DataError("offline")))
    with pytest.raises(DataError):
        T.load_power_load()
    df = T.load_power_load(standin_ok=True)
    assert "STAND-IN" in capsys.readouterr().out and "power_load" in D.standin_used()
    assert len(df) == len(T.standin_power_load())


# ------------------------------------------------------------------ calendar and windows

def test_calendar_features():
    t = pd.date_range("2017-07-03 22:00", "2017-07-05 01:00", freq="h")
    cal = T.calendar_features(t)
    assert list(cal.columns) == ["hour", "dow", "month", "doy", "holiday", "off"]
    on_4th = cal.index.normalize() == pd.Timestamp("2017-07-04")
    assert cal["holiday"][on_4th].all() and not cal["holiday"][~on_4th].any()   # Independence Day, a Tuesday
    assert cal["off"].tolist() == cal["holiday"].tolist()                        # a working week otherwise
    assert cal["hour"].iloc[0] == 22 and cal["dow"].iloc[0] == 0                 # a Monday
    assert T.us_holidays(pd.DatetimeIndex(["2017-11-23 12:00", "2017-11-24 12:00"])).tolist() == [True, False]


def test_origin_windows():
    v = np.arange(100.0)
    past, future = T.origin_windows(v, [9, 50], lookback=10, horizon=3)
    assert past.shape == (2, 10) and future.shape == (2, 3)
    assert past[0].tolist() == list(range(0, 10)) and future[0].tolist() == [10, 11, 12]
    assert past[1, -1] == 50 and future[1, 0] == 51
    feats = np.stack([v, -v], 1)
    p2, f2 = T.origin_windows(feats, [96], 5, 3)
    assert p2.shape == (1, 5, 2) and f2[0, -1, 1] == -99
    for bad in ([8], [97]):
        with pytest.raises(ValueError, match="origins must lie"):
            T.origin_windows(v, bad, 10, 3)
