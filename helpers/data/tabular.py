"""Loaders for the tabular and sensor datasets of the case studies (NumPy/pandas out)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import fetch_or_standin

# ---------------------------------------------------------------- AI4I 2020 predictive maintenance (notebook 08)

# The CSV's headers -> the names used in the notebooks: lower case, no spaces, the unit in the name.
AI4I_COLUMNS = {
    "UDI": "udi",                                   # row number 1..10000
    "Product ID": "product_id",                     # e.g. "M14860": quality letter + serial number
    "Type": "type",                                 # product quality variant L / M / H
    "Air temperature [K]": "air_temp_k",
    "Process temperature [K]": "process_temp_k",
    "Rotational speed [rpm]": "speed_rpm",
    "Torque [Nm]": "torque_nm",
    "Tool wear [min]": "tool_wear_min",
    "Machine failure": "failure",                   # the label: 1 = the machine failed
    "TWF": "twf", "HDF": "hdf", "PWF": "pwf", "OSF": "osf", "RNF": "rnf",   # the label broken down
}
AI4I_MODES = ["twf", "hdf", "pwf", "osf", "rnf"]   # tool wear, heat dissipation, power, overstrain, random


def read_ai4i_csv(path):
    """Read the AI4I 2020 CSV (UTF-8 with a byte-order mark) -> DataFrame with the AI4I_COLUMNS names."""
    # 'utf-8-sig' drops the BOM; plain 'utf-8' would name the first column '\ufeffUDI' in some readers
    df = pd.read_csv(path, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    if list(df.columns) != list(AI4I_COLUMNS):
        raise ValueError(f"{path}: unexpected header {list(df.columns)}; expected {list(AI4I_COLUMNS)}")
    df = df.rename(columns=AI4I_COLUMNS)
    ints = ["udi", "speed_rpm", "tool_wear_min", "failure"] + AI4I_MODES
    df = df.astype({**{c: "int64" for c in ints}, "air_temp_k": "float64", "process_temp_k": "float64",
                    "torque_nm": "float64", "product_id": "string"})
    df["type"] = pd.Categorical(df["type"], categories=["L", "M", "H"], ordered=True)
    return df


def load_ai4i2020(standin_ok: bool = False):
    """AI4I 2020 (10,000 rows, synthetic milling machine) from the catalogue -> DataFrame, see AI4I_COLUMNS.

    With standin_ok=True and no data obtainable, returns standin_ai4i2020() instead, prints the
    STAND-IN banner and adds "ai4i2020" to helpers.data.standin_used(); without it, raises the
    DataError that names the file, its URLs and DLC_DATA_MIRROR.
    """
    folder = fetch_or_standin("ai4i2020", standin_ok)
    if folder is None:
        return standin_ai4i2020()
    return read_ai4i_csv(folder / "ai4i2020.csv")


def _random_walk(rng, n: int, centre: float, sd: float) -> np.ndarray:
    """A Gaussian random walk of n steps, shifted and scaled to the given mean and standard deviation."""
    walk = np.cumsum(rng.normal(size=n))
    return centre + (walk - walk.mean()) / walk.std() * sd


def standin_ai4i2020(n: int = 10_000, seed: int = 0):
    """A generated table with AI4I 2020's columns and dtypes, made by the data set's documented rules.

    The rules of Matzka (2020) and the UCI page: air temperature a random walk around 300 K with
    sd 2 K; process temperature air + 10 K plus a random walk with sd 1 K; torque N(40, 10) Nm,
    not negative; speed from a power of 2860 W with noise (the constants of speed ~ torque^-0.368
    and its range 1168-2886 rpm are fitted to the published file); tool wear +2/3/5 min a job for
    L/M/H, the tool replaced or failing (TWF, 51 of 120 times) at a random wear of 200-240 min;
    HDF: gap < 8.6 K and speed < 1380 rpm; PWF: power outside 3500-9000 W; OSF: wear x torque
    above 11000/12000/13000 min Nm for L/M/H; RNF: probability 0.1 % a job; failure = any mode.
    Type shares are the file's 60/30/10 % (the UCI text says 50/30/20). The file's quirks
    (no-mode failures, RNF without failure) are not reproduced.
    """
    rng = np.random.default_rng(seed)
    code = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])                     # L, M, H
    letters = np.array(["L", "M", "H"])[code]
    air = np.round(_random_walk(rng, n, 300.0, 2.0), 1)
    process = np.round(air + _random_walk(rng, n, 10.0, 1.0), 1)
    torque = np.round(np.maximum(rng.normal(40.0, 10.0, n), 0.1), 1)
    speed = np.round(np.exp(8.676 + 0.0357 * rng.normal(size=n)) * torque ** -0.368)
    speed = np.clip(speed, 1168, 2886).astype(np.int64)
    wear, twf = np.zeros(n, np.int64), np.zeros(n, np.int64)
    step, life, used = np.array([2, 3, 5])[code], rng.uniform(200, 240), 0
    for i in range(n):                                                  # one tool after another
        wear[i] = used
        if used >= life:                                                # this tool's time is up:
            twf[i] = rng.random() < 51 / 120                            # it fails, or is replaced
            used, life = 0, rng.uniform(200, 240)
        else:
            used += step[i]
    power = torque * 2 * np.pi * speed / 60                            # the order notebook 08 computes it in
    modes = {"twf": twf, "hdf": (process - air < 8.6) & (speed < 1380),
             "pwf": (power < 3500) | (power > 9000),
             "osf": wear * torque > np.array([11_000, 12_000, 13_000])[code],
             "rnf": rng.random(n) < 0.001}
    modes = {m: np.asarray(v, dtype=np.int64) for m, v in modes.items()}
    udi = np.arange(1, n + 1)
    serial = np.array([47_179, 14_859, 29_413])[code] + udi             # the file's numbering per type
    values = [udi, [f"{t}{s}" for t, s in zip(letters, serial)], letters, air, process, speed, torque, wear,
              np.max(list(modes.values()), axis=0), *modes.values()]
    df = pd.DataFrame(dict(zip(AI4I_COLUMNS.values(), values)))
    df = df.astype({"product_id": "string", "failure": "int64"})
    df["type"] = pd.Categorical(df["type"], categories=["L", "M", "H"], ordered=True)
    return df


# ---------------------------------------------------------------- NASA C-MAPSS turbofan engines (notebook 09)

CMAPSS_COLUMNS = ["unit", "cycle", "op1", "op2", "op3"] + [f"s{i}" for i in range(1, 22)]


def read_cmapss_table(path):
    """Read one C-MAPSS data file (space-separated, two trailing spaces a row, no header) into a DataFrame."""
    # sep=r"\s+" treats the trailing spaces as part of the line end; sep=" " would add two empty columns
    df = pd.read_csv(path, sep=r"\s+", header=None, names=CMAPSS_COLUMNS)
    if df.isna().any().any():
        raise ValueError(f"{path}: missing values; not the expected 26-column C-MAPSS table")
    return df.astype({"unit": int, "cycle": int})


# Stand-in data: per column (healthy level, noise std, drift at failure), rounded like the files; FD001's values.
_CMAPSS_LEVELS = {
    "op1": (0.0, 0.0022, 0.0), "op2": (0.0, 0.0003, 0.0), "op3": (100.0, 0.0, 0.0),
    "s1": (518.67, 0.0, 0.0), "s2": (642.38, 0.38, 1.21), "s3": (1586.9, 4.6, 14.5), "s4": (1402.8, 5.9, 24.6),
    "s5": (14.62, 0.0, 0.0), "s6": (21.61, 0.0, 0.0), "s7": (553.95, 0.62, -2.32), "s8": (2388.06, 0.055, 0.16),
    "s9": (9056.1, 8.4, 39.5), "s10": (1.3, 0.0, 0.0), "s11": (47.36, 0.18, 0.74), "s12": (521.9, 0.51, -1.98),
    "s13": (2388.06, 0.055, 0.165), "s14": (8137.4, 8.0, 27.8), "s15": (8.4184, 0.026, 0.097),
    "s16": (0.03, 0.0, 0.0), "s17": (392.3, 1.14, 3.77), "s18": (2388.0, 0.0, 0.0), "s19": (100.0, 0.0, 0.0),
    "s20": (38.93, 0.13, -0.46), "s21": (23.359, 0.079, -0.276),
}
# (test rows, shortest and longest test record) of the mirror's files; train_FD001: 20,631 rows, lives 128-362
_CMAPSS_TEST_SHAPES = {"FD001": (13_096, 31, 303), "FD003": (16_596, 38, 475)}


def _lengths(rng, n: int, total: int, lo: int, hi: int) -> np.ndarray:
    """n integers in [lo, hi] that sum to total, spread like a skewed life distribution."""
    x = np.clip(np.round(lo + rng.gamma(2.0, 1.0, n) * (total / n - lo) / 2.0), lo, hi).astype(np.int64)
    while x.sum() != total:
        i, step = rng.integers(n), int(np.sign(total - x.sum()))
        if lo <= x[i] + step <= hi:
            x[i] += step
    return x


def _standin_engines(rng, lives, observed, second_fault: bool):
    """Rows of engines that would fail at `lives` cycles, of which the first `observed` are recorded."""
    unit = np.repeat(np.arange(len(lives)), observed)                # one row per recorded cycle
    t = np.arange(len(unit)) - np.repeat(np.cumsum(observed) - observed, observed) + 1
    k = rng.uniform(3.0, 6.0, len(lives))[unit]                      # how late the wear accelerates
    wear = np.expm1(k * t / np.asarray(lives)[unit]) / np.expm1(k)   # 0 when new -> 1 at failure
    fan = wear * rng.uniform(0, 1, len(lives))[unit] * second_fault  # FD003: a second fault, of the fan
    cols = {"unit": unit + 1, "cycle": t}
    for c, (level, noise, drift) in _CMAPSS_LEVELS.items():
        offset = rng.normal(0, noise / 2, len(lives))[unit]           # engines differ a little when new
        sign = -1.0 if c in ("s8", "s9", "s13") else 1.0              # the fan fault moves these the other way
        cols[c] = level + offset + drift * (wear + 2 * sign * fan) + rng.normal(0, noise, len(unit))
    return pd.DataFrame(cols)


def standin_cmapss(subset: str = "FD001", seed: int = 0):
    """Generated stand-in for load_cmapss: same columns, dtypes and shapes as the mirror's files (FD001, FD003)."""
    if subset not in _CMAPSS_TEST_SHAPES:
        raise ValueError(f"no stand-in for {subset!r}; there is one for {sorted(_CMAPSS_TEST_SHAPES)}")
    rng = np.random.default_rng([seed, int(subset[2:])])
    train = None
    if subset == "FD001":                                           # the mirror has no train_FD003 either
        lives = _lengths(rng, 100, 20_631, 128, 362)
        train = _standin_engines(rng, lives, lives, second_fault=False)
    rows, lo, hi = _CMAPSS_TEST_SHAPES[subset]
    observed = _lengths(rng, 100, rows, lo, hi)
    rul = rng.integers(7, 146, 100)
    test = _standin_engines(rng, observed + rul, observed, second_fault=subset == "FD003")
    for df in (d for d in (train, test) if d is not None):
        df["s6"] = np.where(rng.random(len(df)) < 0.01, 21.60, 21.61)   # two values, as in the files
        for c in _CMAPSS_LEVELS:
            df[c] = df[c].round(4)
        df[["s17", "s18"]] = df[["s17", "s18"]].round().astype(np.int64)   # whole numbers in the files
    return train, test, rul.astype(np.int64)


def load_cmapss(subset: str = "FD001", standin_ok: bool = False):
    """C-MAPSS subset -> (train DataFrame, or None where the mirror lacks it; test DataFrame; true RUL per test engine).

    With standin_ok=True and no data obtainable, returns standin_cmapss(subset) and announces it
    (helpers.data.announce_standin); without it, raises the DataError that says what to do.
    """
    folder = fetch_or_standin("cmapss", standin_ok)
    if folder is None:
        return standin_cmapss(subset)
    train_path = folder / f"train_{subset}.txt"
    train = read_cmapss_table(train_path) if train_path.exists() else None
    test = read_cmapss_table(folder / f"test_{subset}.txt")
    rul = np.loadtxt(folder / f"RUL_{subset}.txt", dtype=np.int64).reshape(-1)
    if len(rul) != test["unit"].nunique():
        raise ValueError(f"RUL_{subset}.txt has {len(rul)} values for {test['unit'].nunique()} test engines")
    return train, test, rul


def rul_labels(df, cap: float | None = None) -> np.ndarray:
    """Remaining useful life of every row of run-to-failure data: last cycle of its unit minus cycle, capped."""
    rul = (df.groupby("unit")["cycle"].transform("max") - df["cycle"]).to_numpy(dtype=np.float64)
    return rul if cap is None else np.minimum(rul, cap)


def _runs(groups) -> list:
    """(start, stop) row ranges of the consecutive runs of equal values in groups (each group one run)."""
    groups = np.asarray(groups)
    cuts = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(groups)]
    if len(set(groups[starts].tolist())) != len(starts):
        raise ValueError("rows of a group must be contiguous (sort by group, then time)")
    return list(zip(starts.tolist(), stops.tolist()))


def sliding_windows(values, groups, window: int):
    """Every window of `window` consecutive rows inside each group -> (X (n, window, features), index of each window's last row)."""
    values = np.asarray(values)
    xs, ends = [], []
    for start, stop in _runs(groups):
        if stop - start >= window:
            view = np.lib.stride_tricks.sliding_window_view(values[start:stop], window, axis=0)
            xs.append(view.transpose(0, 2, 1))   # (n, features, window) -> (n, window, features)
            ends.append(np.arange(start + window - 1, stop))
    if not xs:
        return np.empty((0, window, values.shape[1]), values.dtype), np.empty(0, np.int64)
    return np.concatenate(xs), np.concatenate(ends)


def last_windows(values, groups, window: int) -> np.ndarray:
    """The last `window` rows of each group -> (groups, window, features); short groups repeat their first row in front."""
    values = np.asarray(values)
    out = []
    for start, stop in _runs(groups):
        rows = values[max(start, stop - window):stop]
        pad = np.repeat(rows[:1], window - len(rows), axis=0)
        out.append(np.concatenate([pad, rows]))
    return np.stack(out)


def nasa_score(y_true, y_pred) -> float:
    """PHM08 scoring function: sum of exp(-d/13) - 1 for early (d < 0) and exp(d/10) - 1 for late, d = pred - true."""
    d = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))
