"""helpers.data against a local HTTP server on 127.0.0.1: download, resume, checksums, mirror, archives."""
import hashlib
import io
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from helpers import data as hdata
from helpers.data import DataError, Dataset, FileSpec

PAYLOAD = bytes(range(256)) * 4096          # 1 MiB, deterministic
SHA = hashlib.sha256(PAYLOAD).hexdigest()
SHARED_MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or Path(__file__).resolve().parents[2] / "shared" / "data")


class Handler(BaseHTTPRequestHandler):
    """/good: the payload with Range support; /flaky: half of it on the first request, then good;
    /short: claims the full length but sends half; /html: a login page; /missing: 404."""
    requests = []
    flaky_done = False

    def log_message(self, *a):
        pass

    def do_GET(self):
        Handler.requests.append((self.path, self.headers.get("Range")))
        if self.path == "/html":
            body = b"<html><body>Please log in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/missing":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and self.path in ("/good", "/flaky"):
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/short" or (self.path == "/flaky" and not Handler.flaky_done):
            Handler.flaky_done = True
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    Handler.requests, Handler.flaky_done = [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache, no mirror, and a registry holding only test entries."""
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    reg = {}
    monkeypatch.setattr(hdata, "REGISTRY", reg)

    def add(*specs, name="toy"):
        reg[name] = Dataset(name, "test data", "none", variants={"v": tuple(specs)})
        return name
    return add


def closed_port_url():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused, like no network
    return f"http://127.0.0.1:{port}/file.bin"


def test_good_download(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/good",), sha256=SHA, size=len(PAYLOAD)))
    folder = hdata.fetch(name, quiet=True)
    assert (folder / "f.bin").read_bytes() == PAYLOAD
    assert not list(folder.glob("*.part")), "no partial file is left behind"
    hdata.fetch(name, quiet=True)  # second call: from the cache, no request
    assert len(Handler.requests) == 1


def test_resume_partial_download(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/flaky",), sha256=SHA, size=len(PAYLOAD)))
    with pytest.raises(DataError, match="run again to resume"):
        hdata.fetch(name, quiet=True)
    part = hdata.cache_dir() / "toy" / "f.bin.download.part"
    assert part.exists() and part.stat().st_size == len(PAYLOAD) // 2
    folder = hdata.fetch(name, quiet=True)
    assert (folder / "f.bin").read_bytes() == PAYLOAD
    assert Handler.requests[-1] == ("/flaky", f"bytes={len(PAYLOAD) // 2}-"), "second request must resume"


def test_checksum_mismatch_names_file_url_and_mirror(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/good",), sha256="0" * 64))
    with pytest.raises(DataError) as e:
        hdata.fetch(name, quiet=True)
    msg = str(e.value)
    assert "checksum mismatch" in msg and "f.bin" in msg and server + "/good" in msg and "DLC_DATA_MIRROR" in msg
    assert not (hdata.cache_dir() / "toy" / "f.bin").exists(), "a bad download never becomes the cached file"


def test_truncated_download_is_refused(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/short",), sha256=SHA))
    with pytest.raises(DataError, match="partial|broke off"):
        hdata.fetch(name, quiet=True)
    assert not (hdata.cache_dir() / "toy" / "f.bin").exists()


def test_html_instead_of_file(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/html",), sha256=SHA))
    with pytest.raises(DataError, match="HTML page"):
        hdata.fetch(name, quiet=True)


def test_second_url_used_when_first_fails(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/missing", server + "/good"), sha256=SHA))
    assert (hdata.fetch(name, quiet=True) / "f.bin").read_bytes() == PAYLOAD


def test_mirror_hit_needs_no_network(server, env, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "f.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("DLC_DATA_MIRROR", str(mirror))
    name = env(FileSpec("f.bin", urls=(server + "/good",), sha256=SHA, mirror="sub/f.bin"))
    assert (hdata.fetch(name, quiet=True) / "f.bin").read_bytes() == PAYLOAD
    assert Handler.requests == [], "the mirror is tried before the network"


def test_bad_mirror_copy_is_refused(env, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "f.bin").write_bytes(PAYLOAD[:100])
    monkeypatch.setenv("DLC_DATA_MIRROR", str(mirror))
    name = env(FileSpec("f.bin", sha256=SHA, mirror="f.bin"))
    with pytest.raises(DataError, match="mirror copy .* does not verify"):
        hdata.fetch(name, quiet=True)
    assert (mirror / "f.bin").stat().st_size == 100, "the mirror is never modified"


def test_no_network_no_cache_clear_error(env):
    url = closed_port_url()
    name = env(FileSpec("f.bin", urls=(url,), sha256=SHA, mirror="f.bin"))
    with pytest.raises(DataError) as e:
        hdata.fetch(name, quiet=True)
    msg = str(e.value)
    assert "f.bin" in msg and url in msg and "DLC_DATA_MIRROR" in msg and "no network" in msg


def test_corrupt_cached_file_is_left_untouched(server, env):
    name = env(FileSpec("f.bin", urls=(server + "/good",), sha256=SHA))
    folder = hdata.cache_dir() / "toy"
    folder.mkdir(parents=True)
    (folder / "f.bin").write_bytes(b"my own edits")
    with pytest.raises(DataError, match="left untouched"):
        hdata.fetch(name, quiet=True)
    assert (folder / "f.bin").read_bytes() == b"my own edits", "nothing the user had is overwritten"


def test_unknown_checksum_validates_content(server, env):
    def must_be_small(path):
        if path.stat().st_size > 10:
            raise DataError(f"{path.name}: too big for this dataset")
    name = env(FileSpec("f.bin", urls=((server + "/good", None),), validate=must_be_small))
    with pytest.raises(DataError, match="too big"):
        hdata.fetch(name, quiet=True)
    assert not (hdata.cache_dir() / "toy" / "f.bin").exists()


def test_optional_file_may_be_missing(server, env):
    name = env(FileSpec("a.bin", urls=(server + "/good",), sha256=SHA),
               FileSpec("b.bin", urls=(server + "/missing",), optional=True))
    folder = hdata.fetch(name, quiet=True)
    assert (folder / "a.bin").exists() and not (folder / "b.bin").exists()


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        hdata.fetch("no_such_dataset")


# ---------------------------------------------------------------- archives

def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_path_traversal_refused(tmp_path, evil):
    arc = _zip(tmp_path / "a.zip", [("ok.txt", "fine"), (evil, "pwned")])
    with pytest.raises(DataError, match="outside the extraction folder"):
        hdata.extract(arc, tmp_path / "out" / "a")
    assert list((tmp_path / "out").iterdir()) == [], "nothing is left half-extracted"
    assert not (tmp_path / "evil.txt").exists()


def test_tar_escaping_symlink_refused(tmp_path):
    arc = tmp_path / "a.tar"
    with tarfile.open(arc, "w") as t:
        info = tarfile.TarInfo("link")
        info.type, info.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        t.addfile(info)
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="links outside"):
        hdata.extract(arc, tmp_path / "out" / "a")
    assert os.listdir(tmp_path / "out") == []


def test_tar_traversal_refused(tmp_path):
    arc = tmp_path / "a.tar.gz"
    with tarfile.open(arc, "w:gz") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 4
        t.addfile(info, io.BytesIO(b"evil"))
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="outside"):
        hdata.extract(arc, tmp_path / "out" / "a")
    assert not (tmp_path / "escape.txt").exists()


def test_good_archive_extracts(tmp_path):
    arc = _zip(tmp_path / "a.zip", [("d/x.txt", "1"), ("y.txt", "2")])
    out = hdata.extract(arc, tmp_path / "a")
    assert (out / "d" / "x.txt").read_text() == "1" and (out / "y.txt").read_text() == "2"


# ---------------------------------------------------------------- CIFAR-10 parsers

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
    X, y = hdata.parse_cifar10_binary(arc, "train")
    assert X.shape == (50, 32, 32, 3) and X.dtype == np.uint8 and y.dtype == np.int64
    labels, pix = batches["data_batch_1.bin"]
    assert (y[:10] == labels).all()
    assert (X[0, :, :, 0] == pix[0, 0]).all() and (X[0, :, :, 2] == pix[0, 2]).all(), "R, G, B planes -> HWC"
    assert (X[10] == batches["data_batch_2.bin"][1][0].transpose(1, 2, 0)).all(), "batches in order 1..5"
    Xt, yt = hdata.parse_cifar10_binary(arc, "test")
    assert Xt.shape == (4, 32, 32, 3) and (yt == batches["test_batch.bin"][0]).all()


def test_load_cifar10_from_binary_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    folder = tmp_path / "cifar10"
    folder.mkdir()
    arc = folder / "cifar-10-binary.tar.gz"
    _cifar_binary_archive(arc)
    spec = hdata.REGISTRY["cifar10"].variants["binary"][0]
    monkeypatch.setitem(hdata.REGISTRY, "cifar10", Dataset("cifar10", "", "", variants={
        "binary": (FileSpec(spec.name, sha256=hashlib.sha256(arc.read_bytes()).hexdigest()),)}))
    X, y, classes = hdata.load_cifar10("test")
    assert X.shape == (4, 32, 32, 3) and classes[0] == "airplane"
    assert (folder / "cifar10-binary-test.npz").exists()
    arc.unlink()  # the decoded arrays are cached: no archive needed the second time
    X2, y2, _ = hdata.load_cifar10("test")
    assert (X2 == X).all() and (y2 == y).all()


def test_parse_imagefolder_zip_exact_pixels(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(1)
    imgs = {f"train/{c}/{i}.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            for c in ("cat", "dog") for i in range(3)}
    entries = []
    for name, arr in imgs.items():
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        entries.append((name, buf.getvalue()))
    arc = _zip(tmp_path / "imgs.zip", entries)
    X, y, classes = hdata.parse_imagefolder_zip(arc, "train", ["dog", "cat"])
    assert X.shape == (6, 32, 32, 3) and classes == ["dog", "cat"]
    assert (X[0] == imgs["train/cat/0.png"]).all() and y[0] == 1 and y[-1] == 0


def test_standin_when_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    url = closed_port_url()
    monkeypatch.setitem(hdata.REGISTRY, "cifar10", Dataset("cifar10", "", "", variants={
        "binary": (FileSpec("cifar-10-binary.tar.gz", urls=(url,), md5="0" * 32),)}))
    with pytest.raises(DataError, match="DLC_DATA_MIRROR"):
        hdata.load_cifar10("test")
    X, y, classes = hdata.load_cifar10("test", standin_ok=True)
    assert X.shape[1:] == (32, 32, 3) and X.dtype == np.uint8 and y.dtype == np.int64 and len(classes) == 10
    assert "STAND-IN DATA" in capsys.readouterr().out


# ---------------------------------------------------------------- the real registry

def test_registry_entries_are_complete():
    for name in ["cifar10", "ag_news", "ai4i2020", "cmapss", "neu_surface_defects", "power_load"]:
        ds = hdata.REGISTRY[name]
        assert ds.licence and ds.description and ds.variants
        for specs in ds.variants.values():
            for s in specs:
                assert s.sha256 or s.md5 or s.validate, f"{name}/{s.name}: no checksum and no content check"
                for u in s.urls:
                    assert (u if isinstance(u, str) else u[0]).startswith("http")
        assert hdata.describe(name).startswith(name)


@pytest.mark.skipif(not SHARED_MIRROR.exists(), reason="the course's offline mirror is not beside this checkout")
def test_real_mirror_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DLC_DATA_MIRROR", str(SHARED_MIRROR))
    for name in ["ai4i2020", "cmapss", "power_load", "ag_news"]:
        folder = hdata.fetch(name, quiet=True)
        assert any(folder.iterdir())
    assert (tmp_path / "cmapss" / "train_FD001.txt").stat().st_size == 3_515_356
