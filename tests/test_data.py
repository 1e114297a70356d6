"""helpers.data (the machinery) against a local HTTP server on 127.0.0.1: download, resume, checksums,
mirror, archives, unique temporary files, URL-keyed partial downloads, the folder lock."""
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers.data import files as hdata
from helpers.data import DataError, FileSpec

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = bytes(range(256)) * 4096          # 1 MiB, deterministic
SHA = hashlib.sha256(PAYLOAD).hexdigest()
OTHER = bytes(reversed(PAYLOAD))             # another file of the same length (a new upstream release)
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """/good: the payload with Range support; /flaky: half of it on the first request, then good;
    /short: claims the full length but sends half; /html: a login page; /missing: 404;
    /other: OTHER with Range support; /slow: the payload in 64 KiB pieces, 10 ms apart."""
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
        data = OTHER if self.path == "/other" else PAYLOAD
        start = 0
        rng = self.headers.get("Range")
        if rng and self.path in ("/good", "/flaky", "/other"):
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/short" or (self.path == "/flaky" and not Handler.flaky_done):
            Handler.flaky_done = True
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/slow":
            for i in range(0, len(body), 1 << 16):
                self.wfile.write(body[i:i + (1 << 16)])
                self.wfile.flush()
                time.sleep(0.01)
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
def folder(tmp_path, monkeypatch):
    """An empty cache folder, and no mirror."""
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    return tmp_path / "cache" / "toy"


def closed_port_url():
    """A URL on which nothing listens: connection refused, like no network."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/file.bin"


def leftovers(folder):
    """Files in a cache folder other than finished ones: temporaries, partials, rejects."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".") and p.name != ".lock"
                  or p.name.endswith((".part", ".tmp", ".rejected", ".download", ".mirror", ".extract")))


def test_good_download(server, folder):
    got = hdata.retrieve(server + "/good", "sha256:" + SHA, fname="f.bin", folder=folder, quiet=True)
    assert got == folder / "f.bin" and got.read_bytes() == PAYLOAD
    assert leftovers(folder) == [], "no temporary or partial file is left behind"
    hdata.retrieve(server + "/good", "sha256:" + SHA, fname="f.bin", folder=folder, quiet=True)
    assert len(Handler.requests) == 1, "second call: from the cache, no request"


def test_resume_partial_download(server, folder):
    spec = FileSpec("f.bin", urls=(server + "/flaky",), sha256=SHA, size=len(PAYLOAD))
    with pytest.raises(DataError, match="run again to resume"):
        hdata.obtain(spec, folder, print)
    part = hdata.partial_path(folder / "f.bin", server + "/flaky")
    assert part.exists() and part.stat().st_size == len(PAYLOAD) // 2
    assert hdata.obtain(spec, folder, print).read_bytes() == PAYLOAD
    assert Handler.requests[-1] == ("/flaky", f"bytes={len(PAYLOAD) // 2}-"), "second request must resume"
    assert leftovers(folder) == []


def test_partial_from_one_url_is_never_completed_from_another(server, folder):
    # URL A breaks off half-way; then the registry moves to URL B, which serves a new release.
    with pytest.raises(DataError, match="run again to resume"):
        hdata.obtain(FileSpec("f.bin", urls=(server + "/flaky",), sha256=SHA), folder, print)
    Handler.requests.clear()
    got = hdata.obtain(FileSpec("f.bin", urls=(server + "/other",), sha256=OTHER_SHA), folder, print)
    assert got.read_bytes() == OTHER, "A's half must not be spliced into B's file"
    assert Handler.requests == [("/other", None)], "B is downloaded from its first byte"
    assert hdata.partial_path(folder / "f.bin", server + "/flaky").stat().st_size == len(PAYLOAD) // 2


def test_unpinned_url_never_accepts_a_resumed_file(server, folder):
    part = hdata.partial_path(folder / "f.bin", server + "/other")
    folder.mkdir(parents=True)
    part.write_bytes(PAYLOAD[: len(PAYLOAD) // 2])  # a partial of other bytes under B's name

    def right_size(path):
        if path.stat().st_size != len(OTHER):
            raise DataError(f"{path.name}: wrong size")
    got = hdata.obtain(FileSpec("f.bin", urls=((server + "/other", None),), validate=right_size), folder, print)
    assert got.read_bytes() == OTHER, "bytes unknown: the download starts over"
    assert Handler.requests == [("/other", None)]


def test_concurrent_downloads_of_one_file(server, folder):
    spec = FileSpec("f.bin", urls=(server + "/slow",), sha256=SHA)
    errors = []

    def get():
        try:
            hdata.download(server + "/slow", folder / "f.bin", check=lambda p: hdata.verify(p, spec))
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
    folder.mkdir(parents=True)
    threads = [threading.Thread(target=get) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(Handler.requests) == 2
    assert (folder / "f.bin").read_bytes() == PAYLOAD and leftovers(folder) == []


def test_atomic_gives_each_writer_its_own_file(tmp_path):
    dest, barrier, seen = tmp_path / "x.bin", threading.Barrier(2), {}

    def write(tag):
        with hdata.atomic(dest) as tmp:
            tmp.write_bytes(tag * 1000)
            barrier.wait()   # both writers hold their temporary file at the same time
            seen[tag] = tmp.read_bytes()
    threads = [threading.Thread(target=write, args=(t,)) for t in (b"a", b"b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {b"a": b"a" * 1000, b"b": b"b" * 1000}
    assert dest.read_bytes() in (b"a" * 1000, b"b" * 1000) and [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_lock_makes_another_process_wait(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from helpers.data.files import lock\n"
         "with lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(1.5)", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataError, match="waited 0.3 s for another process .*DLC_LOCK_TIMEOUT"):
            with hdata.lock(tmp_path, timeout=0.3):
                pass
        t0 = time.perf_counter()
        with hdata.lock(tmp_path, timeout=30):
            waited = time.perf_counter() - t0
        assert holder.wait(10) == 0 and waited > 0.5, "the lock is had only once the holder has let go"
    finally:
        holder.kill()
    with hdata.lock(tmp_path), hdata.lock(tmp_path, timeout=0.1):
        pass  # re-entrant in one process


def test_checksum_mismatch_names_file_url_and_mirror(server, folder):
    spec = FileSpec("f.bin", urls=(server + "/good",), sha256="0" * 64)
    with pytest.raises(DataError) as e:
        hdata.obtain(spec, folder, print)
    msg = str(e.value)
    assert "checksum mismatch" in msg and "f.bin" in msg and server + "/good" in msg and "DLC_DATA_MIRROR" in msg
    assert not (folder / "f.bin").exists(), "a bad download never becomes the cached file"
    assert (folder / "f.bin.rejected").read_bytes() == PAYLOAD, "kept beside it to inspect"


def test_truncated_download_is_refused(server, folder):
    with pytest.raises(DataError, match="partial|broke off"):
        hdata.obtain(FileSpec("f.bin", urls=(server + "/short",), sha256=SHA), folder, print)
    assert not (folder / "f.bin").exists()


def test_html_instead_of_file(server, folder):
    with pytest.raises(DataError, match="HTML page"):
        hdata.obtain(FileSpec("f.bin", urls=(server + "/html",), sha256=SHA), folder, print)


def test_second_url_used_when_first_fails(server, folder):
    spec = FileSpec("f.bin", urls=(server + "/missing", server + "/good"), sha256=SHA)
    assert hdata.obtain(spec, folder, print).read_bytes() == PAYLOAD


def test_mirror_hit_needs_no_network(server, folder, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "f.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("DLC_DATA_MIRROR", str(mirror))
    spec = FileSpec("f.bin", urls=(server + "/good",), sha256=SHA, mirror="sub/f.bin")
    assert hdata.obtain(spec, folder, print).read_bytes() == PAYLOAD
    assert Handler.requests == [], "the mirror is tried before the network"
    assert leftovers(folder) == []


def test_bad_mirror_copy_is_refused(folder, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "f.bin").write_bytes(PAYLOAD[:100])
    monkeypatch.setenv("DLC_DATA_MIRROR", str(mirror))
    with pytest.raises(DataError, match="mirror copy .* does not verify"):
        hdata.obtain(FileSpec("f.bin", sha256=SHA, mirror="f.bin"), folder, print)
    assert (mirror / "f.bin").stat().st_size == 100, "the mirror is never modified"
    assert list(folder.iterdir()) == [], "the rejected copy is removed"


def test_no_network_no_cache_clear_error(folder):
    url = closed_port_url()
    with pytest.raises(DataError) as e:
        hdata.obtain(FileSpec("f.bin", urls=(url,), sha256=SHA, mirror="f.bin"), folder, print)
    msg = str(e.value)
    assert "f.bin" in msg and url in msg and "DLC_DATA_MIRROR" in msg and "no network" in msg


def test_corrupt_cached_file_is_left_untouched(server, folder):
    folder.mkdir(parents=True)
    (folder / "f.bin").write_bytes(b"my own edits")
    with pytest.raises(DataError, match="left untouched"):
        hdata.obtain(FileSpec("f.bin", urls=(server + "/good",), sha256=SHA), folder, print)
    assert (folder / "f.bin").read_bytes() == b"my own edits", "nothing the user had is overwritten"


def test_unknown_checksum_validates_content(server, folder):
    def must_be_small(path):
        if path.stat().st_size > 10:
            raise DataError(f"{path.name}: too big for this dataset")
    with pytest.raises(DataError, match="too big"):
        hdata.obtain(FileSpec("f.bin", urls=((server + "/good", None),), validate=must_be_small), folder, print)
    assert not (folder / "f.bin").exists()


def test_parse_hash():
    assert hdata.parse_hash("md5:ABC") == {"md5": "abc"}
    assert hdata.parse_hash("sha256:" + SHA) == hdata.parse_hash(SHA) == {"sha256": SHA}
    assert hdata.parse_hash(None) == {}
    with pytest.raises(ValueError, match="unsupported hash"):
        hdata.parse_hash("sha1:abc")


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


def test_concurrent_extractions_of_one_archive(tmp_path, monkeypatch):
    arc = _zip(tmp_path / "a.zip", [(f"d/{i}.txt", str(i) * 1000) for i in range(50)])
    errors, folders, barrier = [], [], threading.Barrier(2, timeout=10)
    extractall = zipfile.ZipFile.extractall

    def both_at_once(self, path=None, *a, **k):
        folders.append(Path(path))
        barrier.wait()   # the two extractions overlap
        return extractall(self, path, *a, **k)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", both_at_once)

    def run():
        try:
            hdata.extract(arc, tmp_path / "out" / "a")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(folders)) == 2, "each extraction has a folder of its own"
    assert os.listdir(tmp_path / "out") == ["a"] and len(os.listdir(tmp_path / "out" / "a" / "d")) == 50


def test_retrieve_with_unpack_from_the_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    arc = _zip(mirror / "pack.zip", [("d/x.txt", "1")])
    monkeypatch.setenv("DLC_DATA_MIRROR", str(mirror))
    out = hdata.retrieve(closed_port_url(), "sha256:" + hdata.file_digest(arc), fname="pack.zip",
                         folder=tmp_path / "cache", mirror="pack.zip", processor=hdata.unpack, quiet=True)
    assert out == tmp_path / "cache" / "pack" and (out / "d" / "x.txt").read_text() == "1"
