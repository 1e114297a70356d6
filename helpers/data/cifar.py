"""CIFAR-10: the official binary archive or the JPEG image-folder zip -> NumPy arrays, decoded once.

Downloaded content is never unpickled; the decoded arrays are cached as .npz beside the archive.
With nothing obtainable and standin_ok=True, a generated stand-in of the same shapes is returned.
"""
from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from . import catalogue
from .catalogue import announce_standin
from .files import DataError, atomic, cache_dir, lock

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "parse_cifar10_binary", "parse_imagefolder_zip", "standin_images"]


def standin_images(split: str, classes, n: int, size: int = 32, seed: int = 0):
    """Generated images (grey noise with a disc of the class's colour) -> (X uint8 N×size×size×3, y int64, classes)."""
    # One palette for every split (a class keeps its colour from train to test); the images differ by split.
    palette = np.random.default_rng(seed).integers(40, 216, size=(len(classes), 3), dtype=np.uint8)
    rng = np.random.default_rng(seed + 1 + (split == "test"))
    y = rng.integers(0, len(classes), n).astype(np.int64)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    X = np.empty((n, size, size, 3), dtype=np.uint8)
    for s in range(0, n, 4096):  # in chunks, to keep the temporaries small
        m = min(n - s, 4096)
        cx, cy = rng.uniform(8, size - 8, (2, m, 1, 1)).astype(np.float32)
        r = rng.uniform(4, 10, (m, 1, 1)).astype(np.float32)
        blob = (((xx - cx) ** 2 + (yy - cy) ** 2) < r * r)[..., None]
        noise = (np.frombuffer(rng.bytes(m * size * size * 3), np.uint8).reshape(m, size, size, 3) >> 1) + 64
        X[s:s + m] = np.where(blob, palette[y[s:s + m]][:, None, None, :], noise)
    return X, y, list(classes)


# ---------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_SIZES = {"train": 50_000, "test": 10_000}


def parse_cifar10_binary(archive: Path, split: str):
    """Read CIFAR-10's official binary tar.gz as bytes (no unpickling) -> (X uint8 NHWC, y int64)."""
    want = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    parts = {}
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            base = PurePosixPath(m.name).name
            if m.isfile() and base in want:
                parts[base] = np.frombuffer(t.extractfile(m).read(), dtype=np.uint8)
    missing = [w for w in want if w not in parts]
    if missing:
        raise DataError(f"{archive}: missing {missing}; not the official CIFAR-10 binary archive")
    raw = np.concatenate([parts[w] for w in want])
    if raw.size % 3073:
        raise DataError(f"{archive}: batch size {raw.size} is not a multiple of 3073-byte records")
    rec = raw.reshape(-1, 3073)
    y = rec[:, 0].astype(np.int64)
    X = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return X, y


def parse_imagefolder_zip(archive: Path, split: str, classes=None, size=None):
    """Decode `split/<class>/*.jpg|png` images of a zip -> (X uint8 NHWC, y int64, class names)."""
    with zipfile.ZipFile(archive) as z:
        names = sorted(n for n in z.namelist() if n.startswith(split + "/") and not n.endswith("/")
                       and n.lower().endswith((".jpg", ".jpeg", ".png", ".bmp")))
        found = sorted({n.split("/")[1] for n in names})
        classes = list(classes) if classes is not None else found
        if sorted(classes) != found:
            raise DataError(f"{archive}: classes {found} under {split}/ differ from {classes}")
        index = {c: i for i, c in enumerate(classes)}
        X, y = [], np.empty(len(names), dtype=np.int64)
        for i, n in enumerate(names):
            img = Image.open(io.BytesIO(z.read(n))).convert("RGB")
            if size is not None and img.size != size:
                img = img.resize(size)
            X.append(np.asarray(img, dtype=np.uint8))
            y[i] = index[n.split("/")[1]]
    return np.stack(X), y, classes


def _cached_arrays(folder: Path, split: str):
    """The decoded CIFAR-10 split from its .npz cache, or None."""
    for v in catalogue.REGISTRY["cifar10"].variants:
        npz = folder / f"cifar10-{v}-{split}.npz"
        if npz.exists():
            with np.load(npz, allow_pickle=False) as d:
                return d["X"], d["y"]
    return None


def load_cifar10(split: str = "train", standin_ok: bool = False):
    """Return CIFAR-10 as (X uint8 N×32×32×3, y int64, class names); decoded arrays are cached.

    With standin_ok=True and no data obtainable, returns a generated stand-in of the same shapes
    and dtypes, prints a large banner and adds "cifar10" to standin_used(). Without it, raises
    the DataError that names the file, its URLs and DLC_DATA_MIRROR.
    """
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    folder = cache_dir() / "cifar10"
    got = _cached_arrays(folder, split)  # fast path: complete .npz files only ever appear whole
    if got is not None:
        return (*got, list(CIFAR10_CLASSES))
    try:
        with lock(folder):
            got = _cached_arrays(folder, split)  # built by another process while this one waited?
            if got is None:
                catalogue.fetch("cifar10")
                v = catalogue.variant_in_cache("cifar10")
                archive = folder / catalogue.REGISTRY["cifar10"].variants[v][0].name
                print(f"cifar10: decoding the {split} split of {archive.name} (once; later loads read "
                      f"cifar10-{v}-{split}.npz)", file=sys.stderr)
                if v == "binary":
                    got = parse_cifar10_binary(archive, split)
                else:
                    got = parse_imagefolder_zip(archive, split, CIFAR10_CLASSES)[:2]
                with atomic(folder / f"cifar10-{v}-{split}.npz", ".npz") as tmp, open(tmp, "wb") as f:
                    np.savez(f, X=got[0], y=got[1])
    except DataError as e:
        if not standin_ok:
            raise
        announce_standin("cifar10", str(e))
        return standin_images(split, CIFAR10_CLASSES, n=CIFAR10_SIZES[split])
    return (*got, list(CIFAR10_CLASSES))
