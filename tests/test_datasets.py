"""helpers.data (the catalogue and loaders): fetch, CIFAR-10 parsers and cache, two processes
sharing one cache, the offline stand-in, the real registry and mirror."""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_data import PAYLOAD, SHA, Handler, closed_port_url, server  # noqa: F401  (server: a fixture)

from helpers.data import catalogue as hds
from helpers.data import cifar
from helpers.data import DataError, FileSpec
from helpers.data.catalogue import Dataset

ROOT = Path(__file__).resolve().parents[1]
SHARED_MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")


def files(folder):
    """The names in a cache folder, but its lock file (which filelock may or may not remove)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name != ".lock")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache, no mirror, no stand-in used yet, and a registry holding only test entries."""
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    monkeypatch.setattr(hds, "_STANDINS", set())
    reg = {}
    monkeypatch.setattr(hds, "REGISTRY", reg)

    def add(*specs, name="toy", variants=None):
        reg[name] = Dataset(name, "test data", "none", variants=variants or {"v": tuple(specs)})
        return name
    return add


def test_fetch_caches_and_needs_no_second_request(server, env):  # noqa: F811
    name = env(FileSpec("f.bin", urls=(server + "/good",), sha256=SHA, size=len(PAYLOAD)))
    folder = hds.fetch(name, quiet=True)
    assert (folder / "f.bin").read_bytes() == PAYLOAD
    hds.fetch(name, quiet=True)
    assert len(Handler.requests) == 1
    assert files(folder) == ["f.bin"], "nothing temporary is left"


def test_optional_file_may_be_missing(server, env):  # noqa: F811
    name = env(FileSpec("a.bin", urls=(server + "/good",), sha256=SHA),
               FileSpec("b.bin", urls=(server + "/missing",), optional=True))
    folder = hds.fetch(name, quiet=True)
    assert (folder / "a.bin").exists() and not (folder / "b.bin").exists()


def test_next_variant_when_the_first_fails(server, env):  # noqa: F811
    name = env(variants={"gone": (FileSpec("a.bin", urls=(server + "/missing",), sha256=SHA),),
                         "here": (FileSpec("b.bin", urls=(server + "/good",), sha256=SHA),)})
    assert (hds.fetch(name, quiet=True) / "b.bin").read_bytes() == PAYLOAD
    assert hds.variant_in_cache(name) == "here"
    with pytest.raises(DataError, match="no variant 'nope'"):
        hds.fetch(name, "nope")


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        hds.fetch("no_such_dataset")


# ---------------------------------------------------------------- CIFAR-10 parsers and cache

def _cifar_binary_archive(path, n_train=10, n_test=4):
    """A small archive with the official layout: 3073-byte records (label, R plane, G plane, B plane)."""
    rng = np.random.default_rng(0)
    batches = {}
    for name, n in [(f"data_batch_{i}.bin", n_train) for i in range(1, 6)] + [("test_batch.bin", n_test)]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        pix = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        batches[name] = (labels, pix)
    with tarfile.open(path, "w:gz") as t:
        for name, (labels, pix) in batches.items():
            raw = np.concatenate([labels[:, None], pix.reshape(len(labels), -1)], axis=1).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            t.addfile(info, io.BytesIO(raw))
    return batches


def test_parse_cifar10_binary_layout(tmp_path):
    arc = tmp_path / "cifar-10-binary.tar.gz"
    batches = _cifar_binary_archive(arc)
    X, y = cifar.parse_cifar10_binary(arc, "train")
    assert X.shape == (50, 32, 32, 3) and X.dtype == np.uint8 and y.dtype == np.int64
    labels, pix = batches["data_batch_1.bin"]
    assert (y[:10] == labels).all()
    assert (X[0, :, :, 0] == pix[0, 0]).all() and (X[0, :, :, 2] == pix[0, 2]).all(), "R, G, B planes -> HWC"
    assert (X[10] == batches["data_batch_2.bin"][1][0].transpose(1, 2, 0)).all(), "batches in order 1..5"
    Xt, yt = cifar.parse_cifar10_binary(arc, "test")
    assert Xt.shape == (4, 32, 32, 3) and (yt == batches["test_batch.bin"][0]).all()


def test_load_cifar10_from_binary_and_cache(env):
    folder = hds.cache_dir() / "cifar10"
    folder.mkdir(parents=True)
    arc = folder / "cifar-10-binary.tar.gz"
    _cifar_binary_archive(arc)
    env(variants={"binary": (FileSpec(arc.name, sha256=hashlib.sha256(arc.read_bytes()).hexdigest()),)},
        name="cifar10")
    X, y, classes = cifar.load_cifar10("test")
    assert X.shape == (4, 32, 32, 3) and classes[0] == "airplane"
    assert files(folder) == [arc.name, "cifar10-binary-test.npz"]
    arc.unlink()  # the decoded arrays are cached: no archive needed the second time
    X2, y2, _ = cifar.load_cifar10("test")
    assert (X2 == X).all() and (y2 == y).all() and hds.standin_used() == set()


def test_parse_imagefolder_zip_exact_pixels(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(1)
    imgs = {f"train/{c}/{i}.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            for c in ("cat", "dog") for i in range(3)}
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as z:
        for name, arr in imgs.items():
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="PNG")
            z.writestr(name, buf.getvalue())
    X, y, classes = cifar.parse_imagefolder_zip(tmp_path / "imgs.zip", "train", ["dog", "cat"])
    assert X.shape == (6, 32, 32, 3) and classes == ["dog", "cat"]
    assert (X[0] == imgs["train/cat/0.png"]).all() and y[0] == 1 and y[-1] == 0


# ---------------------------------------------------------------- offline: full mode and the stand-in

@pytest.fixture
def real_cifar10_entry():
    """The real registry's CIFAR-10 entry, read before the env fixture empties the registry."""
    return hds.REGISTRY["cifar10"]


def test_full_mode_offline_raises_naming_file_urls_and_mirror(real_cifar10_entry, env, capsys):
    url = closed_port_url()
    env(variants={v: tuple(FileSpec(s.name, urls=(url,), sha256=s.sha256, md5=s.md5, mirror=s.mirror)
                           for s in specs) for v, specs in real_cifar10_entry.variants.items()}, name="cifar10")
    with pytest.raises(DataError) as e:
        cifar.load_cifar10("test")
    msg = str(e.value)
    assert "cifar-10-binary.tar.gz" in msg and "cifar10-jpeg.zip" in msg and url in msg
    assert "DLC_DATA_MIRROR is not set" in msg and "no network" in msg
    assert hds.standin_used() == set() and "STAND-IN" not in capsys.readouterr().out


def test_quick_mode_offline_gives_a_loud_standin(real_cifar10_entry, env, capsys):
    url = closed_port_url()
    env(variants={v: tuple(FileSpec(s.name, urls=(url,), sha256=s.sha256, md5=s.md5, mirror=s.mirror)
                           for s in specs) for v, specs in real_cifar10_entry.variants.items()}, name="cifar10")
    X, y, classes = cifar.load_cifar10("test", standin_ok=True)
    assert X.shape == (10_000, 32, 32, 3) and X.dtype == np.uint8 and y.dtype == np.int64
    assert classes == cifar.CIFAR10_CLASSES and set(np.unique(y)) == set(range(10))
    out = capsys.readouterr().out
    assert "STAND-IN DATA:  CIFAR10  IS  NOT  THE  REAL  DATASET" in out and out.count("#" * 88) == 4
    assert hds.standin_used() == {"cifar10"}
    assert not list((hds.cache_dir() / "cifar10").glob("*.npz")), "a stand-in is never cached as the real data"
    X2, y2, _ = cifar.load_cifar10("test", standin_ok=True)
    assert (X2 == X).all() and (y2 == y).all(), "the stand-in is the same every time"


def test_standin_images_are_learnable():
    X, y, _ = cifar.standin_images("train", list("abc"), n=300)
    # each class has its own disc colour, so the mean colour of a class differs from the others
    means = np.array([X[y == c].reshape(-1, 3).mean(0) for c in range(3)])
    assert X.shape == (300, 32, 32, 3) and np.ptp(means, axis=0).max() > 5
    # and a class keeps its colour from the training to the test split, so what is learnt transfers:
    # nearest class-mean colour, fitted on train, classifies the test split far above chance (1/3)
    Xt, yt, _ = cifar.standin_images("test", list("abc"), n=300)
    assert not np.array_equal(Xt, X)
    dist = ((Xt.reshape(300, -1, 3).mean(1)[:, None, :] - means[None]) ** 2).sum(-1)
    assert (dist.argmin(1) == yt).mean() > 0.6


# ---------------------------------------------------------------- the real registry and mirror

def test_registry_entries_are_complete():
    for name in ["cifar10", "ag_news", "ai4i2020", "cmapss", "neu_surface_defects", "power_load"]:
        ds = hds.REGISTRY[name]
        assert ds.licence and ds.description and ds.variants
        for specs in ds.variants.values():
            for s in specs:
                assert s.sha256 or s.md5 or s.validate, f"{name}/{s.name}: no checksum and no content check"
                for u in s.urls:
                    assert (u if isinstance(u, str) else u[0]).startswith("http")
        assert hds.describe(name).startswith(name)


needs_mirror = pytest.mark.skipif(not (SHARED_MIRROR / "cifar10-jpeg.zip").exists(),
                                  reason=f"the course's offline mirror is not at {SHARED_MIRROR} "
                                         "(set DLC_DATA_MIRROR to it)")


@needs_mirror
def test_real_mirror_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DLC_DATA_MIRROR", str(SHARED_MIRROR))
    for name in ["ai4i2020", "cmapss", "power_load", "ag_news"]:
        folder = hds.fetch(name, quiet=True)
        assert any(folder.iterdir())
    assert (tmp_path / "cmapss" / "train_FD001.txt").stat().st_size == 3_515_356


CHILD = """
import hashlib, json, os, sys, time
from helpers.data.cifar import load_cifar10
while not os.path.exists(sys.argv[1]):   # start together
    time.sleep(0.005)
X, y, classes = load_cifar10("test")
print(json.dumps({"X": hashlib.sha256(X.tobytes()).hexdigest(), "y": hashlib.sha256(y.tobytes()).hexdigest(),
                  "shape": list(X.shape), "dtypes": [str(X.dtype), str(y.dtype)],
                  "counts": [int(c) for c in (y[:, None] == range(10)).sum(0)]}))
"""


@needs_mirror
def test_two_processes_share_one_fresh_cache(tmp_path):
    env = dict(os.environ, DLC_DATA_DIR=str(tmp_path / "cache"), DLC_DATA_MIRROR=str(SHARED_MIRROR),
               DLC_THREADS="1", PYTHONPATH=str(ROOT))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(go)], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    time.sleep(1.0)  # both have imported helpers and wait for the signal
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    a, b = (json.loads(out.strip().splitlines()[-1]) for out, _ in outs)
    assert a == b, "both processes get identical arrays"
    assert a["shape"] == [10_000, 32, 32, 3] and a["dtypes"] == ["uint8", "int64"] and a["counts"] == [1000] * 10
    logs = "".join(err for _, err in outs)
    assert logs.count("copied from the mirror") == 1 and logs.count("decoding the test split") == 1, \
        "one process fills the cache while the other waits, then reads the finished file"
    folder = tmp_path / "cache" / "cifar10"
    assert files(folder) == ["cifar10-jpeg-test.npz", "cifar10-jpeg.zip"], \
        "no temporary file is left in the cache"
