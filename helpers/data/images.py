"""Loaders of the case studies' image data: the NEU steel surface defects (notebook 10), and a stand-in.

NumPy arrays out (uint8 greyscale N×H×W, int64 labels, class names); no framework is imported.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .catalogue import DataError, fetch_or_standin

NEU_CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]
NEU_PER_CLASS = 300
NEU_SIZE = 200                     # the images are 200×200 pixels


def _number(path: Path) -> int:
    """The image number n of '<class>_<n>.jpg' (for a numeric, not alphabetic, order)."""
    m = re.search(r"_(\d+)$", path.stem)
    if m is None:
        raise ValueError(f"{path.name}: expected a file name '<class>_<n>.jpg'")
    return int(m.group(1))


def read_neu_folder(root, size: int | None = None):
    """Decode `root/<class>/<class>_<n>.jpg` -> (X uint8 N×size×size, y int64, class names), sorted by class then n.

    The JPEGs hold three identical channels: they are read as one grey channel ('L'). size: resize
    (PIL's antialiased bilinear filter) to size×size; None keeps 200×200.
    """
    root = Path(root)
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if found != sorted(NEU_CLASSES):
        raise ValueError(f"{root}: class folders {found} differ from {sorted(NEU_CLASSES)}")
    X, y = [], []
    for label, cls in enumerate(NEU_CLASSES):
        files = sorted((root / cls).glob("*.jpg"), key=_number)
        for f in files:
            if not f.stem.startswith(cls + "_"):
                raise ValueError(f"{f}: the file name does not start with its folder's class {cls!r}")
            with Image.open(f) as img:
                img = img.convert("L")
                if size is not None and img.size != (size, size):
                    img = img.resize((size, size), Image.Resampling.BILINEAR)
                X.append(np.asarray(img, dtype=np.uint8))
            y.append(label)
    return np.stack(X), np.asarray(y, dtype=np.int64), list(NEU_CLASSES)


def load_neu(size: int | None = 64, standin_ok: bool = False, seed: int = 0):
    """NEU surface defects -> (X uint8 1800×size×size, y int64, class names); a stand-in if allowed and offline.

    With standin_ok=True and the data not obtainable, returns `standin_neu` images of the same shapes,
    prints the STAND-IN banner and adds "neu_surface_defects" to helpers.data.standin_used().
    """
    folder = fetch_or_standin("neu_surface_defects", standin_ok)
    if folder is None:
        return standin_neu(NEU_PER_CLASS, size or NEU_SIZE, seed)
    X, y, classes = read_neu_folder(folder / "neu-surface-defects" / "images", size)
    counts = np.bincount(y, minlength=len(classes))
    if len(y) != NEU_PER_CLASS * len(classes) or counts.min() != NEU_PER_CLASS:
        raise DataError(f"{folder}: expected {NEU_PER_CLASS} images per class, found {counts.tolist()}")
    print(f"neu_surface_defects: {len(y)} images, {X.shape[1]}x{X.shape[2]} grey", file=sys.stderr)
    return X, y, classes


# ---------------------------------------------------------------- a generated stand-in

def _lines(rng, size, n, length, width, vertical=None):
    """A mask of n straight strokes of the given length and width (at random angles, or near-vertical)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    mask = np.zeros((size, size), bool)
    for _ in range(n):
        cx, cy = rng.uniform(0, size, 2)
        a = rng.uniform(-0.25, 0.25) + np.pi / 2 if vertical else rng.uniform(0, np.pi)
        dx, dy = np.cos(a), np.sin(a)
        along = (xx - cx) * dx + (yy - cy) * dy
        across = np.abs(-(xx - cx) * dy + (yy - cy) * dx)
        mask |= (np.abs(along) < length / 2) & (across < width)
    return mask


def _blobs(rng, size, n, r_lo, r_hi, stretch=1.0):
    """A mask of n ellipses with radii in [r_lo, r_hi] (stretched horizontally by `stretch`)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    mask = np.zeros((size, size), bool)
    for _ in range(n):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(r_lo, r_hi)
        mask |= ((xx - cx) / (r * stretch)) ** 2 + ((yy - cy) / r) ** 2 < 1
    return mask


def standin_neu(per_class: int = NEU_PER_CLASS, size: int = 64, seed: int = 0):
    """Generated grey 'steel' textures, one pattern per NEU class -> (X uint8 N×size×size, y int64, class names).

    Not the real data: crazing = a net of thin dark cracks, inclusion = a few dark elongated spots,
    patches = large dark blobs, pitted surface = many small pits, rolled-in scale = bright flakes,
    scratches = long thin near-vertical bright lines; on a noisy mid-grey background.
    """
    rng = np.random.default_rng(seed)
    s = size / 64
    makers = [lambda: (_lines(rng, size, 14, 20 * s, 0.6 * s), -60),
              lambda: (_blobs(rng, size, 4, 1.5 * s, 3 * s, stretch=3.0), -70),
              lambda: (_blobs(rng, size, 3, 8 * s, 14 * s), -55),
              lambda: (_blobs(rng, size, 25, 0.8 * s, 1.8 * s), -65),
              lambda: (_blobs(rng, size, 12, 1.5 * s, 3 * s, stretch=1.8), 55),
              lambda: (_lines(rng, size, 3, 50 * s, 0.8 * s, vertical=True), 70)]
    X = np.empty((per_class * len(NEU_CLASSES), size, size), np.uint8)
    y = np.repeat(np.arange(len(NEU_CLASSES)), per_class).astype(np.int64)
    for i, label in enumerate(y):
        mask, shade = makers[label]()
        base = rng.normal(rng.uniform(100, 150), rng.uniform(8, 16), (size, size))
        X[i] = np.clip(base + shade * mask, 0, 255).astype(np.uint8)
    return X, y, list(NEU_CLASSES)


# ---------------------------------------------------------------- splits

def stratified_split(y, fractions=(0.7, 0.15, 0.15), seed: int = 0):
    """Index arrays (train, validation, test) with each class in the given fractions (scikit-learn, seeded)."""
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0):
        raise ValueError("fractions must be three shares (train, validation, test) that add up to 1")
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=fractions[2], random_state=seed, stratify=y)
    val_share = fractions[1] / (fractions[0] + fractions[1])
    train, val = train_test_split(rest, test_size=val_share, random_state=seed, stratify=np.asarray(y)[rest])
    return np.sort(train), np.sort(val), np.sort(test)


def load_digits_split(seed: int = 0, test_size: float = 0.2, standardize: bool = True):
    """scikit-learn's 8x8 digits, split stratified; standardised with the training split's statistics.

    Returns X_train, X_test, y_train, y_test (float64 features, int labels).
    """
    digits = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(digits.data, digits.target, test_size=test_size,
                                              random_state=seed, stratify=digits.target)
    if standardize:
        mu, sd = X_tr.mean(0), X_tr.std(0)
        sd[sd == 0] = 1.0  # a few border pixels are always 0
        X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    return X_tr, X_te, y_tr, y_te
