"""Hourly time series for forecasting: the power-load loader, its cleaning, a stand-in, calendar features, windows."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from .catalogue import fetch_or_standin

POWER_FILE = "AEP_hourly.csv"
POWER_COLUMNS = {"Datetime": "time", "AEP_MW": "load_mw"}   # the CSV's header -> the names used here


# ---------------------------------------------------------------- reading and cleaning

def read_power_csv(path):
    """Read the hourly load CSV as it is stored (rows NOT in time order) -> DataFrame [time, load_mw]."""
    df = pd.read_csv(path)
    if list(df.columns) != list(POWER_COLUMNS):
        raise ValueError(f"{path}: unexpected header {list(df.columns)}; expected {list(POWER_COLUMNS)}")
    df = df.rename(columns=POWER_COLUMNS)
    # the format is fixed: a wrong guess would silently swap days and months
    df["time"] = pd.to_datetime(df["time"], format="%Y-%m-%d %H:%M:%S")
    return df.astype({"load_mw": "float64"})


def diagnose_hourly(times) -> dict:
    """What is wrong with a supposedly hourly time column: steps back in time, repeated stamps, missing hours."""
    t = pd.Series(pd.to_datetime(times)).reset_index(drop=True)
    step = t.diff().iloc[1:]
    s = pd.Series(t.sort_values().unique())
    gaps = s.diff()
    holes = gaps > pd.Timedelta(hours=1)
    return {"rows": len(t), "steps_back": int((step < pd.Timedelta(0)).sum()),
            "duplicate_stamps": int(t.duplicated().sum()),
            "gaps": [(str(a - g + pd.Timedelta(hours=1)), int(g / pd.Timedelta(hours=1)) - 1)   # (first missing, count)
                     for a, g in zip(s[holes], gaps[holes])],
            "missing_hours": int(((gaps[holes] / pd.Timedelta(hours=1)) - 1).sum()),
            "first": str(s.iloc[0]), "last": str(s.iloc[-1])}


def clean_hourly(df, time="time", value="load_mw"):
    """Sort, average repeated timestamps, put on a regular hourly index, fill missing hours by interpolation.

    Returns (series with a regular hourly DatetimeIndex, boolean Series: True where the value was filled).
    """
    ordered = df.sort_values(time, kind="stable")
    # two readings of one stamp (the repeated hour when clocks go back): keep their mean
    once = ordered.groupby(time, sort=True)[value].mean()
    regular = once.asfreq("h")                     # every hour from first to last; missing hours -> NaN
    filled = regular.isna()
    regular = regular.interpolate(method="time")   # a straight line across each gap
    regular.index.name, regular.name, filled.name = time, value, "filled"
    return regular, filled


# ---------------------------------------------------------------- the catalogue entry, or a stand-in

def load_power_load(standin_ok: bool = False):
    """Hourly AEP load from the catalogue (`power_load`) as stored -> DataFrame [time, load_mw], rows unsorted.

    With standin_ok=True and no data obtainable, returns standin_power_load() instead, prints the
    STAND-IN banner and adds "power_load" to helpers.data.standin_used().
    """
    folder = fetch_or_standin("power_load", standin_ok)
    return standin_power_load() if folder is None else read_power_csv(folder / POWER_FILE)


def standin_power_load(start="2004-10-01 01:00", end="2018-08-03 00:00", seed: int = 0):
    """A generated hourly load with the real file's rhythms and quirks (unsorted blocks, DST repeats and holes)."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, end, freq="h")
    day = np.asarray((t.normalize() - t[0].normalize()).days)
    doy, hour = np.asarray(t.dayofyear), np.asarray(t.hour)
    season = 1 + 0.10 * np.cos(4 * np.pi * (doy - 20) / 365.25) + 0.04 * np.cos(2 * np.pi * (doy - 20) / 365.25)
    profile = 1 + 0.12 * np.sin(2 * np.pi * (hour - 10) / 24) + 0.05 * np.sin(4 * np.pi * (hour - 4) / 24)
    off = np.asarray(t.dayofweek >= 5) | us_holidays(t)
    weather = np.zeros(day.max() + 1)                        # a slow random 'weather' factor per day
    for d in range(1, len(weather)):
        weather[d] = 0.8 * weather[d - 1] + rng.normal(0, 0.03)
    load = 15_000 * season * profile * np.where(off, 0.9, 1.0) * (1 + weather[day]) * (1 + rng.normal(0, 0.01, len(t)))
    df = pd.DataFrame({"time": t, "load_mw": load.round(0)})
    dst = pd.Series(t).dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT").isna().to_numpy()
    repeat = df[dst & np.asarray(t.month >= 10)]             # the hour that happens twice in autumn
    df = pd.concat([df[~(dst & np.asarray(t.month <= 4))], repeat.assign(load_mw=repeat["load_mw"] + 150)])
    df = df.sort_values("time", kind="stable")
    blocks = np.asarray(df["time"].dt.year)                 # stored in yearly blocks, newest first
    return pd.concat([df[blocks == y] for y in sorted(set(blocks), reverse=True)], ignore_index=True)


# ---------------------------------------------------------------- calendar

def us_holidays(index):
    """True for every timestamp of `index` that falls on a US federal holiday (pandas' calendar)."""
    index = pd.DatetimeIndex(index)
    days = USFederalHolidayCalendar().holidays(index.min().normalize(), index.max().normalize())
    return np.asarray(index.normalize().isin(days))


def calendar_features(index):
    """Calendar of each timestamp -> DataFrame: hour, day of week (Monday 0), month, day of year, holiday, off day."""
    index = pd.DatetimeIndex(index)
    hol = us_holidays(index)
    out = pd.DataFrame({"hour": index.hour, "dow": index.dayofweek, "month": index.month,
                        "doy": index.dayofyear, "holiday": hol.astype(np.int8)}, index=index)
    out["off"] = ((out["dow"] >= 5) | hol).astype(np.int8)     # weekend or holiday: offices and plants closed
    return out


# ---------------------------------------------------------------- windows for forecasting

def origin_windows(values, origins, lookback: int, horizon: int):
    """Rows before and after each forecast origin t -> (past values[t-lookback+1..t], future values[t+1..t+horizon])."""
    values, origins = np.asarray(values), np.asarray(origins, dtype=np.int64)
    if len(origins) and (origins.min() < lookback - 1 or origins.max() + horizon >= len(values)):
        raise ValueError(f"origins must lie in [{lookback - 1}, {len(values) - horizon - 1}] so that "
                         f"{lookback} past and {horizon} future rows exist")
    past = origins[:, None] + np.arange(-lookback + 1, 1)
    future = origins[:, None] + np.arange(1, horizon + 1)
    return values[past], values[future]
