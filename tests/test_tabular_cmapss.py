"""helpers.tabular's C-MAPSS loader and preparation: the files' quirks, names, counts, windows, the NASA score."""
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import tabular as T

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(not (MIRROR / "cmapss" / "train_FD001.txt").exists(),
                                  reason=f"the C-MAPSS files are not in the offline mirror at {MIRROR} "
                                         "(set DLC_DATA_MIRROR to the course's data folder)")


@pytest.fixture(scope="module")
def cmapss(tmp_path_factory):
    """Load FD001 and FD003 once through the catalogue (mirror -> a fresh cache -> DataFrames)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLC_DATA_MIRROR", str(MIRROR))
        mp.setenv("DLC_DATA_DIR", str(tmp_path_factory.mktemp("cache")))
        return T.load_cmapss("FD001"), T.load_cmapss("FD003")


# ------------------------------------------------------------------ the files and the loader

@needs_mirror
def test_rows_end_with_two_spaces_and_a_naive_reader_gets_extra_columns():
    path = MIRROR / "cmapss" / "train_FD001.txt"
    first = path.read_text().splitlines()[0]
    assert first.endswith("  ") and not first.endswith("   ")
    naive = pd.read_csv(path, sep=" ", header=None, nrows=5)
    assert naive.shape[1] == 28 and naive.iloc[:, 26:].isna().all().all()   # two empty columns
    good = T.read_cmapss_table(path)
    assert good.shape == (20_631, 26) and not good.isna().any().any()


def test_column_names():
    assert T.CMAPSS_COLUMNS[:5] == ["unit", "cycle", "op1", "op2", "op3"]
    assert T.CMAPSS_COLUMNS[5:] == [f"s{i}" for i in range(1, 22)] and len(T.CMAPSS_COLUMNS) == 26


@needs_mirror
def test_fd001_counts_names_and_types(cmapss):
    (train, test, rul), _ = cmapss
    assert list(train.columns) == T.CMAPSS_COLUMNS and list(test.columns) == T.CMAPSS_COLUMNS
    assert train.shape == (20_631, 26) and test.shape == (13_096, 26)
    assert train["unit"].dtype.kind == "i" and train["cycle"].dtype.kind == "i"
    assert train["unit"].nunique() == 100 and test["unit"].nunique() == 100
    assert (train.groupby("unit")["cycle"].min() == 1).all()
    assert (train.groupby("unit")["cycle"].diff().dropna() == 1).all()        # contiguous cycles
    assert train.groupby("unit")["cycle"].max().max() == 362
    assert rul.shape == (100,) and rul.dtype.kind == "i" and (rul.min(), rul.max()) == (7, 145)
    assert math.isclose(train["s2"].iloc[0], 641.82, rel_tol=1e-12)            # first row, first sensor


@needs_mirror
def test_fd003_has_test_and_rul_but_no_training_file(cmapss):
    _, (train3, test3, rul3) = cmapss
    assert train3 is None                                  # train_FD003 is not in the mirror
    assert test3.shape == (16_596, 26) and test3["unit"].nunique() == 100
    assert rul3.shape == (100,) and (rul3.min(), rul3.max()) == (6, 145)


def test_reader_rejects_a_short_row(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(" ".join(["1"] * 26) + "  \n" + " ".join(["1"] * 25) + "  \n")
    with pytest.raises(ValueError, match="missing values"):
        T.read_cmapss_table(bad)


# ------------------------------------------------------------------ labels, windows, score

def _toy():
    return pd.DataFrame({"unit": [1, 1, 1, 1, 2, 2, 2], "cycle": [1, 2, 3, 4, 1, 2, 3]})


def test_rul_labels_count_down_to_zero_and_cap():
    df = _toy()
    assert T.rul_labels(df).tolist() == [3, 2, 1, 0, 2, 1, 0]
    assert T.rul_labels(df, cap=2).tolist() == [2, 2, 1, 0, 2, 1, 0]


def test_sliding_windows_stay_inside_each_group():
    values = np.arange(7 * 2).reshape(7, 2)
    groups = np.array([1, 1, 1, 1, 2, 2, 2])
    X, ends = T.sliding_windows(values, groups, 3)
    assert X.shape == (3, 3, 2) and ends.tolist() == [2, 3, 6]
    assert np.array_equal(X[1], values[1:4]) and np.array_equal(X[2], values[4:7])
    X, ends = T.sliding_windows(values, groups, 4)          # group 2 is too short for a window
    assert X.shape == (1, 4, 2) and ends.tolist() == [3]
    X, ends = T.sliding_windows(values, groups, 5)
    assert X.shape == (0, 5, 2) and ends.shape == (0,)


def test_windows_refuse_interleaved_groups():
    with pytest.raises(ValueError, match="contiguous"):
        T.sliding_windows(np.zeros((4, 1)), np.array([1, 2, 1, 2]), 2)


def test_last_windows_pad_short_groups_with_their_first_row():
    values = np.arange(7.0)[:, None]
    W = T.last_windows(values, np.array([1, 1, 1, 1, 2, 2, 2]), 4)
    assert W.shape == (2, 4, 1)
    assert W[0, :, 0].tolist() == [0, 1, 2, 3] and W[1, :, 0].tolist() == [4, 4, 5, 6]


def test_nasa_score_penalises_late_more_than_early():
    assert math.isclose(T.nasa_score([50], [60]), math.e - 1, rel_tol=1e-12)     # 10 late: e^1 - 1
    assert math.isclose(T.nasa_score([50], [37]), math.e - 1, rel_tol=1e-12)     # 13 early: e^1 - 1
    assert T.nasa_score([50], [60]) > T.nasa_score([50], [40]) > 0
    assert abs(T.nasa_score([10, 20], [10, 20])) < 1e-12
    assert math.isclose(T.nasa_score([0, 0], [10, -13]), 2 * (math.e - 1), rel_tol=1e-12)   # a sum
