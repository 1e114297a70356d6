"""helpers.data.tabular's C-MAPSS loader and preparation: the files' quirks, names, counts, windows, the NASA score."""
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data import tabular as T

# One worker runs this module: its module-scoped fixture then runs once (pytest -n N --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_tabular_cmapss")

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


# ------------------------------------------------------------------ the stand-in for offline quick runs

def test_standin_has_the_files_shapes_columns_and_dtypes():
    train, test, rul = T.standin_cmapss("FD001")
    assert list(train.columns) == T.CMAPSS_COLUMNS and list(test.columns) == T.CMAPSS_COLUMNS
    assert train.shape == (20_631, 26) and test.shape == (13_096, 26) and rul.shape == (100,)
    ints = ["unit", "cycle", "s17", "s18"]                      # read_cmapss_table gives these as integers
    assert [c for c in train.columns if train[c].dtype.kind == "i"] == ints
    assert [c for c in test.columns if test[c].dtype.kind == "i"] == ints
    assert rul.dtype.kind == "i" and 0 < rul.min() and rul.max() <= 145
    for df in (train, test):
        assert df["unit"].nunique() == 100 and (df.groupby("unit")["cycle"].min() == 1).all()
        assert (df.groupby("unit")["cycle"].diff().dropna() == 1).all()
    lives = train.groupby("unit")["cycle"].max()
    assert 128 <= lives.min() and lives.max() <= 362
    # the same 14 informative sensors as the real files; the other 7 hold at most two values
    assert [c for c in T.CMAPSS_COLUMNS[5:] if train[c].nunique() > 2] == [
        "s2", "s3", "s4", "s7", "s8", "s9", "s11", "s12", "s13", "s14", "s15", "s17", "s20", "s21"]
    _, test3, rul3 = T.standin_cmapss("FD003")
    assert test3.shape == (16_596, 26) and rul3.shape == (100,)


def test_standin_engines_degrade_towards_failure_and_are_reproducible():
    train, _, _ = T.standin_cmapss("FD001")
    rul = T.rul_labels(train)
    young, old = train[rul > 150], train[rul < 10]
    assert old["s4"].mean() > young["s4"].mean() + 15              # s4 climbs with wear (as in FD001)
    assert old["s7"].mean() < young["s7"].mean() - 1.5             # s7 falls
    again = T.standin_cmapss("FD001")[0]
    assert np.allclose(again.to_numpy(float), train.to_numpy(float), rtol=1e-12)
    assert not np.allclose(T.standin_cmapss("FD001", seed=1)[0]["s4"].to_numpy()[:100],
                           train["s4"].to_numpy()[:100])
    with pytest.raises(ValueError, match="no stand-in"):
        T.standin_cmapss("FD002")


def test_loader_falls_back_to_the_standin_only_when_allowed(tmp_path, monkeypatch, capsys):
    from helpers.data import catalogue as datasets
    from helpers.data import DataError
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))

    def offline(name, **kw):
        raise DataError(f"dataset {name!r} is not available: no network, no mirror")

    monkeypatch.setattr(datasets, "fetch", offline)
    monkeypatch.setattr(datasets, "_STANDINS", set())          # what this process announced so far
    with pytest.raises(DataError, match="not available"):
        T.load_cmapss("FD001")
    assert "cmapss" not in datasets.standin_used()
    train, test, rul = T.load_cmapss("FD001", standin_ok=True)
    assert "STAND-IN" in capsys.readouterr().out and "cmapss" in datasets.standin_used()
    assert train.shape == (20_631, 26) and test.shape == (13_096, 26) and rul.shape == (100,)
    train3, test3, _ = T.load_cmapss("FD003", standin_ok=True)
    assert train3 is None and test3.shape == (16_596, 26)
