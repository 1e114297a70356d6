"""The AI4I 2020 loader: the CSV's byte-order mark, the renamed columns, dtypes and the documented counts."""
import os
from pathlib import Path

import numpy as np
import pytest

import helpers.data.catalogue
from helpers.data import DataError
from helpers.data.tabular import AI4I_COLUMNS, AI4I_MODES, load_ai4i2020, read_ai4i_csv, standin_ai4i2020

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(not (MIRROR / "ai4i2020.csv").exists(),
                                  reason=f"ai4i2020.csv is not in the offline mirror {MIRROR} "
                                         "(set DLC_DATA_MIRROR to the course's mirror)")

HEADER = ",".join(AI4I_COLUMNS)
ROWS = ["1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0",
        "2,L47181,L,298.2,308.7,1408,46.3,3,1,0,1,0,0,0"]


def _write(path, header=HEADER, bom=True):
    """A two-row AI4I-shaped CSV, with or without the UTF-8 byte-order mark."""
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\n".join([header] + ROWS + [""]).encode())
    return path


@pytest.mark.parametrize("bom", [True, False])
def test_bom_is_dropped_and_columns_renamed(tmp_path, bom):
    df = read_ai4i_csv(_write(tmp_path / "a.csv", bom=bom))
    assert list(df.columns) == list(AI4I_COLUMNS.values())
    assert df.columns[0] == "udi"                         # not '\ufeffUDI'
    assert df["hdf"].tolist() == [0, 1] and df["failure"].tolist() == [0, 1]


def test_a_bom_left_in_would_break_the_first_name(tmp_path):
    import pandas as pd
    path = _write(tmp_path / "a.csv")
    with open(path, encoding="utf-8") as f:     # the quirk the loader guards against
        assert f.readline().startswith("\ufeffUDI")
    assert pd.read_csv(path, encoding="utf-8-sig").columns[0] == "UDI"


def test_renamed_header_variant_is_refused(tmp_path):
    # a copy in the wild writes UID for UDI: refuse it rather than silently mislabel columns
    with pytest.raises(ValueError, match="unexpected header"):
        read_ai4i_csv(_write(tmp_path / "uid.csv", header=HEADER.replace("UDI", "UID")))


def test_modes_are_the_last_five_columns():
    assert list(AI4I_COLUMNS.values())[-5:] == AI4I_MODES
    assert list(AI4I_COLUMNS.values())[-6] == "failure"


@needs_mirror
def test_real_file_counts_and_dtypes(tmp_path, monkeypatch):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DLC_DATA_MIRROR", str(MIRROR))
    assert (MIRROR / "ai4i2020.csv").read_bytes()[:3] == b"\xef\xbb\xbf"   # the file does carry a BOM
    df = load_ai4i2020()
    assert df.shape == (10_000, 14)
    assert list(df.columns) == list(AI4I_COLUMNS.values())
    assert int(df["failure"].sum()) == 339
    assert {m: int(df[m].sum()) for m in AI4I_MODES} == {"twf": 46, "hdf": 115, "pwf": 95, "osf": 98, "rnf": 19}
    assert df["udi"].tolist() == list(range(1, 10_001))
    assert df["product_id"].is_unique
    assert df["type"].value_counts().to_dict() == {"L": 6000, "M": 2997, "H": 1003}
    assert list(df["type"].cat.categories) == ["L", "M", "H"]
    for col in ["udi", "speed_rpm", "tool_wear_min", "failure"] + AI4I_MODES:
        assert df[col].dtype == "int64", col
    for col in ["air_temp_k", "process_temp_k", "torque_nm"]:
        assert df[col].dtype == "float64", col
    assert df["product_id"].dtype == "string"
    # plausible physical ranges (kelvin, not celsius; rpm; Nm)
    assert 290 < df["air_temp_k"].min() and df["process_temp_k"].max() < 320
    assert df["speed_rpm"].between(1000, 3000).all() and df["torque_nm"].between(0, 100).all()


def _no_data(*args, **kwargs):
    """A fetch that finds nothing, as offline with no mirror."""
    raise DataError("dataset 'ai4i2020' is not available.\n[csv] no network, DLC_DATA_MIRROR is not set")


def test_loader_raises_without_data_unless_a_standin_is_allowed(monkeypatch, capsys):
    monkeypatch.setattr(helpers.data.catalogue, "fetch", _no_data)
    monkeypatch.setattr(helpers.data.catalogue, "_STANDINS", set())
    with pytest.raises(DataError, match="not available"):
        load_ai4i2020()
    assert helpers.data.standin_used() == set()
    df = load_ai4i2020(standin_ok=True)
    assert "STAND-IN DATA" in capsys.readouterr().out
    assert helpers.data.standin_used() == {"ai4i2020"}
    assert df.shape == (10_000, 14)


def test_loader_reads_the_file_when_fetch_finds_it(tmp_path, monkeypatch):
    _write(tmp_path / "ai4i2020.csv")
    monkeypatch.setattr(helpers.data.catalogue, "fetch", lambda name, **kw: tmp_path)
    monkeypatch.setattr(helpers.data.catalogue, "_STANDINS", set())
    df = load_ai4i2020(standin_ok=True)
    assert len(df) == 2 and helpers.data.standin_used() == set()


def test_standin_has_the_real_columns_and_dtypes(tmp_path):
    real = read_ai4i_csv(_write(tmp_path / "a.csv"))
    fake = standin_ai4i2020(n=3000, seed=1)
    assert list(fake.columns) == list(real.columns)
    assert fake.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict()
    assert list(fake["type"].cat.categories) == ["L", "M", "H"] and fake["type"].cat.ordered
    assert fake["udi"].tolist() == list(range(1, 3001)) and fake["product_id"].is_unique
    assert (fake["product_id"].str[0] == fake["type"].astype(str)).all()


def test_standin_follows_the_documented_rules():
    df = standin_ai4i2020()
    speed, torque, wear = (df[c].to_numpy() for c in ["speed_rpm", "torque_nm", "tool_wear_min"])
    gap = df["process_temp_k"].to_numpy() - df["air_temp_k"].to_numpy()
    power = torque * 2 * np.pi * speed / 60
    limit = np.array([11_000, 12_000, 13_000])[df["type"].cat.codes.to_numpy()]
    assert (df["hdf"] == ((gap < 8.6) & (speed < 1380))).all()
    assert (df["pwf"] == ((power < 3500) | (power > 9000))).all()
    assert (df["osf"] == (wear * torque > limit)).all()
    assert (df["failure"] == df[AI4I_MODES].max(axis=1)).all()
    assert df.loc[df["twf"] == 1, "tool_wear_min"].between(200, 245).all()
    assert df["tool_wear_min"].max() < 250 and df["torque_nm"].min() > 0
    # the published summary statistics, within what one random draw can promise
    assert abs(df["air_temp_k"].mean() - 300) < 0.01 and abs(df["air_temp_k"].std() - 2) < 0.01
    assert abs(gap.mean() - 10) < 0.01 and abs(gap.std() - 1) < 0.01
    assert abs(df["torque_nm"].mean() - 40) < 0.5 and abs(df["speed_rpm"].mean() - 1539) < 15
    assert 0.02 < df["failure"].mean() < 0.05
    assert min(int(df[m].sum()) for m in ["twf", "hdf", "pwf", "osf"]) >= 20 and 1 <= df["rnf"].sum() <= 30
    assert df["type"].value_counts(normalize=True).round(1).to_dict() == {"L": 0.6, "M": 0.3, "H": 0.1}


def test_standin_is_reproducible_by_seed():
    a, b, c = standin_ai4i2020(n=500, seed=3), standin_ai4i2020(n=500, seed=3), standin_ai4i2020(n=500, seed=4)
    assert a.equals(b) and not a.equals(c)
