"""helpers.data.images: the NEU surface-defect loader (grey from 3-channel JPEGs, numeric order, resizing,
the documented counts), its offline stand-in, and the seeded stratified split."""
import os
from pathlib import Path

import numpy as np
import pytest

from helpers.data import catalogue as hds
from helpers.data import images as him
from helpers.data import DataError

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(not (MIRROR / "neu-surface-defects.zip").exists(),
                                  reason=f"neu-surface-defects.zip is not in the offline mirror {MIRROR} "
                                         "(set DLC_DATA_MIRROR to the course's mirror)")


def _fake_neu(root, per_class=(1, 2, 10), size=20):
    """An NEU-shaped folder: images/<class>/<class>_<n>.jpg, grey stored as 3 identical channels like the real files."""
    from PIL import Image
    for label, cls in enumerate(him.NEU_CLASSES):
        (root / cls).mkdir(parents=True)
        for n in per_class:
            grey = np.full((size, size), 20 * label + n, np.uint8)
            Image.fromarray(np.stack([grey] * 3, -1)).save(root / cls / f"{cls}_{n}.jpg", quality=95)
    return root


def test_read_neu_folder_grey_numeric_order_and_labels(tmp_path):
    X, y, classes = him.read_neu_folder(_fake_neu(tmp_path / "images"))
    assert classes == him.NEU_CLASSES and X.dtype == np.uint8 and X.shape == (18, 20, 20)
    assert y.tolist() == [c for c in range(6) for _ in range(3)]
    # numeric order: _1, _2, _10 (an alphabetic sort would put _10 before _2); JPEG is lossy: a margin
    means = X.reshape(18, -1).mean(1)
    expected = np.array([20 * c + n for c in range(6) for n in (1, 2, 10)], float)
    assert np.abs(means - expected).max() < 2


def test_read_neu_folder_resizes(tmp_path):
    X, _, _ = him.read_neu_folder(_fake_neu(tmp_path / "images", size=40), size=16)
    assert X.shape == (18, 16, 16)
    assert np.abs(X[5].astype(float) - X[5].mean()).max() < 3   # a flat image stays flat


def test_read_neu_folder_rejects_wrong_layouts(tmp_path):
    root = _fake_neu(tmp_path / "images")
    (root / "crazing" / "crazing_1.jpg").rename(root / "crazing" / "patches_99.jpg")
    with pytest.raises(ValueError, match="does not start with its folder's class"):
        him.read_neu_folder(root)
    (root / "scratches").rename(root / "scratch")
    with pytest.raises(ValueError, match="class folders"):
        him.read_neu_folder(root)


def test_standin_is_neu_shaped_and_learnable():
    X, y, classes = him.standin_neu(40, 32, seed=0)
    assert X.shape == (240, 32, 32) and X.dtype == np.uint8 and classes == him.NEU_CLASSES
    assert np.bincount(y).tolist() == [40] * 6
    X2, _, _ = him.standin_neu(40, 32, seed=0)
    assert np.array_equal(X, X2), "the stand-in is the same every time"
    # the classes differ in simple statistics: a nearest-centroid rule on (mean, std, dark share,
    # bright share) of each image beats chance (1/6) by far
    f = np.stack([X.mean((1, 2)), X.std((1, 2)), (X < 60).mean((1, 2)), (X > 200).mean((1, 2))], 1)
    f = (f - f.mean(0)) / f.std(0)
    tr = np.arange(len(y)) % 2 == 0
    cent = np.stack([f[tr & (y == c)].mean(0) for c in range(6)])
    pred = ((f[~tr, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    assert (pred == y[~tr]).mean() > 0.4


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, no mirror, no network for the NEU entry, no stand-in used yet."""
    from test_data import closed_port_url
    from helpers.data import FileSpec
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    monkeypatch.setattr(hds, "_STANDINS", set())
    real = hds.REGISTRY["neu_surface_defects"]
    spec = real.variants["zip"][0]
    entry = hds.Dataset(real.name, real.description, real.licence, variants={"zip": (
        FileSpec(spec.name, urls=(closed_port_url(),), sha256=spec.sha256, extract=True),)})
    monkeypatch.setitem(hds.REGISTRY, "neu_surface_defects", entry)


def test_offline_without_standin_raises(offline, capsys):
    with pytest.raises(DataError, match="neu-surface-defects.zip"):
        him.load_neu(64)
    assert hds.standin_used() == set() and "STAND-IN" not in capsys.readouterr().out


def test_offline_quick_mode_gets_a_loud_standin(offline, capsys):
    X, y, classes = him.load_neu(48, standin_ok=True)
    assert X.shape == (1800, 48, 48) and X.dtype == np.uint8 and np.bincount(y).tolist() == [300] * 6
    assert "STAND-IN DATA:  NEU_SURFACE_DEFECTS  IS  NOT  THE  REAL  DATASET" in capsys.readouterr().out
    assert hds.standin_used() == {"neu_surface_defects"}


def test_split_is_stratified_disjoint_and_seeded():
    y = np.repeat(np.arange(6), 300)
    tr, va, te = him.stratified_split(y, (0.7, 0.15, 0.15), seed=0)
    assert (len(tr), len(va), len(te)) == (1260, 270, 270)
    assert np.bincount(y[te]).tolist() == [45] * 6 and np.bincount(y[va]).tolist() == [45] * 6
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(1800))
    assert np.array_equal(te, him.stratified_split(y, (0.7, 0.15, 0.15), seed=0)[2])
    assert not np.array_equal(te, him.stratified_split(y, (0.7, 0.15, 0.15), seed=1)[2])
    with pytest.raises(ValueError, match="add up to 1"):
        him.stratified_split(y, (0.7, 0.2, 0.2))


@needs_mirror
def test_real_neu_from_the_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DLC_DATA_MIRROR", str(MIRROR))
    X, y, classes = him.load_neu(None)
    assert X.shape == (1800, 200, 200) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [300] * 6 and classes == him.NEU_CLASSES
    assert 60 < X.mean() < 200 and X.std() > 10          # real grey images, not blank
    Xs, ys, _ = him.load_neu(64)
    assert Xs.shape == (1800, 64, 64) and np.array_equal(ys, y)
    # downsampling keeps the picture: the 64x64 image is close to the 200x200 one averaged down
    assert abs(float(Xs.mean()) - float(X.mean())) < 2
