"""Loaders for the tabular and sensor datasets of the case studies (NumPy/pandas out)."""
from __future__ import annotations

import numpy as np


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
    import pandas as pd
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


def load_ai4i2020():
    """AI4I 2020 (10,000 rows, synthetic milling machine) from the catalogue -> DataFrame, see AI4I_COLUMNS."""
    from .datasets import fetch
    return read_ai4i_csv(fetch("ai4i2020", quiet=True) / "ai4i2020.csv")


# ---------------------------------------------------------------- NASA C-MAPSS turbofan engines (notebook 09)

CMAPSS_COLUMNS = ["unit", "cycle", "op1", "op2", "op3"] + [f"s{i}" for i in range(1, 22)]


def read_cmapss_table(path):
    """Read one C-MAPSS data file (space-separated, two trailing spaces a row, no header) into a DataFrame."""
    import pandas as pd
    # sep=r"\s+" treats the trailing spaces as part of the line end; sep=" " would add two empty columns
    df = pd.read_csv(path, sep=r"\s+", header=None, names=CMAPSS_COLUMNS)
    if df.isna().any().any():
        raise ValueError(f"{path}: missing values; not the expected 26-column C-MAPSS table")
    return df.astype({"unit": int, "cycle": int})


def load_cmapss(subset: str = "FD001"):
    """C-MAPSS subset -> (train DataFrame, or None where the mirror lacks it; test DataFrame; true RUL per test engine)."""
    from .datasets import fetch
    folder = fetch("cmapss", quiet=True)
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
