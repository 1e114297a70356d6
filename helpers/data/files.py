"""The data machinery: cache and mirror folders, verification, resumable downloads, safe extraction, locks.

`retrieve(url, known_hash)` (shaped like pooch's) returns one verified file in the cache;
`obtain(spec, folder)` does the same for a `FileSpec`: the cache, then the mirror folder
`$DLC_DATA_MIRROR`, then each URL. Every failure raises `DataError` naming the file, the URL
and the mirror variable. Safe when processes share the cache: every temporary file is unique and
made beside its target, then renamed into place; a partial download is kept under a name keyed
by its URL, so it is only ever resumed from that URL; `lock(folder)` makes a second process wait
for the first. The catalogue and the loaders are beside this module, in `helpers.data`."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

MIRROR_VAR = "DLC_DATA_MIRROR"
CACHE_VAR = "DLC_DATA_DIR"
LOCK_TIMEOUT_VAR = "DLC_LOCK_TIMEOUT"
LOCK_TIMEOUT_S = 3600.0
CHUNK = 1 << 20


class DataError(RuntimeError):
    """A dataset could not be obtained or failed verification; the message says what to do."""


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset: where it comes from and how it is checked."""
    name: str                                  # file name in the dataset's cache folder
    urls: tuple = ()                           # str (bytes known: sha256 applies) or (url, None): other bytes
    sha256: str | None = None                  # of the canonical bytes (pinned URLs and the mirror)
    md5: str | None = None                     # where upstream publishes only an MD5
    size: int | None = None                    # bytes, when known
    mirror: str | None = None                  # path inside $DLC_DATA_MIRROR
    extract: bool = False                      # unpack the archive next to it
    optional: bool = False                     # a missing optional file warns instead of failing
    validate: Callable[[Path], None] | None = None  # content check; raises DataError


# ---------------------------------------------------------------- locations and names

def cache_dir() -> Path:
    """The download cache: $DLC_DATA_DIR, else the repository's data/ folder."""
    env = os.environ.get(CACHE_VAR)
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "data"


def mirror_dir() -> Path | None:
    """The offline mirror folder from $DLC_DATA_MIRROR, or None."""
    env = os.environ.get(MIRROR_VAR)
    return Path(env).expanduser() if env else None


def url_of(u) -> str:
    """The URL of a FileSpec.urls entry (a string, or a (url, None) pair for unknown bytes)."""
    return u if isinstance(u, str) else u[0]


def hint(spec: FileSpec) -> str:
    """What to do when a file cannot be had: its name, its URLs and the mirror variable."""
    m = mirror_dir()
    where = f"{MIRROR_VAR}={m}" if m else f"{MIRROR_VAR} is not set"
    urls = ", ".join(url_of(u) for u in spec.urls) or "no public URL"
    return (f"[file {spec.name}; URL {urls}; {where}]. To fix: connect to the network, or copy the file "
            f"to ${MIRROR_VAR}/{spec.mirror or spec.name} (a course mirror folder) or to "
            f"{cache_dir()}/<dataset>/{spec.name}, then run again.")


def partial_path(dest: Path, url: str) -> Path:
    """Where an interrupted download of `url` to `dest` waits to be resumed: keyed by the URL."""
    return Path(dest).with_name(f"{Path(dest).name}.{hashlib.sha256(url.encode()).hexdigest()[:12]}.part")


def temp_beside(dest: Path, suffix: str = ".tmp") -> Path:
    """A new, unique, empty file in dest's folder (same file system, so os.replace is atomic)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic(dest: Path, suffix: str = ".tmp"):
    """Yield a unique temporary path beside dest; on success it replaces dest, on error it is removed."""
    tmp = temp_beside(dest, suffix)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def lock(folder: Path, timeout: float | None = None):
    """Hold the lock of a cache folder (file `.lock` in it): other processes wait; DataError after timeout."""
    import filelock
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    wait = float(os.environ.get(LOCK_TIMEOUT_VAR, LOCK_TIMEOUT_S)) if timeout is None else timeout
    fl = filelock.FileLock(path, is_singleton=True)  # one object per path: re-entrant in this process
    try:
        fl.acquire(timeout=wait)
    except filelock.Timeout:
        raise DataError(f"waited {wait:g} s for another process that is filling {folder} (lock {path}); "
                        f"it is still downloading or decoding. Wait for it and run again, or raise "
                        f"${LOCK_TIMEOUT_VAR} (seconds)") from None
    try:
        yield path
    finally:
        fl.release()


# ---------------------------------------------------------------- verification

def file_digest(path: Path, algo: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, spec: FileSpec, pinned: bool = True) -> None:
    """Raise DataError unless `path` has the spec's size/checksum (when pinned) and valid content."""
    if pinned:
        if spec.size is not None and path.stat().st_size != spec.size:
            raise DataError(f"{path}: size {path.stat().st_size:,} bytes, expected {spec.size:,} "
                            f"(a partial or different file) {hint(spec)}")
        for algo in ("sha256", "md5"):
            want = getattr(spec, algo)
            if want:
                got = file_digest(path, algo)
                if got != want:
                    raise DataError(f"{path}: {algo} checksum mismatch: expected {want}, got {got} "
                                    f"(corrupt, truncated or a different file) {hint(spec)}")
                break
    if spec.validate is not None:
        spec.validate(path)


# ---------------------------------------------------------------- download

def _progress(total, desc):
    """A tqdm byte counter, or None without tqdm."""
    try:
        from tqdm.auto import tqdm
        return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)
    except ImportError:
        return None


def _stream(url: str, tmp: Path, have: int, size: int | None, timeout: float, part: Path, desc: str) -> None:
    """Append the rest of url to tmp (or rewrite it when the server ignores the Range request)."""
    req = urllib.request.Request(url, headers={"User-Agent": "dlc-curriculum/0.1"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and size is not None and have == size:  # already complete
            return
        raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"download of {url} failed: {getattr(e, 'reason', e)} (no network?)") from None
    with resp:
        ctype = resp.headers.get("Content-Type", "")
        if "text/html" in ctype and not url.endswith((".html", ".htm")):
            raise DataError(f"download of {url} returned an HTML page instead of the file "
                            "(a moved link or a login page)")
        resumed = bool(have) and resp.status == 206 and \
            resp.headers.get("Content-Range", "").startswith(f"bytes {have}-")
        got = have if resumed else 0
        length = resp.headers.get("Content-Length")
        total = got + int(length) if length else size
        bar = _progress(total, desc)
        if bar is not None:
            bar.update(got)
        try:
            with open(tmp, "ab" if resumed else "wb") as f:
                while True:
                    try:
                        chunk = resp.read(CHUNK)
                    except (OSError, ValueError) as e:  # connection dropped mid-file
                        raise DataError(f"download of {url} broke off after {got:,} bytes ({e}); "
                                        f"run again to resume from {part}") from None
                    if not chunk:
                        break
                    f.write(chunk)
                    got += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    expected = total if total is not None else size
    if expected is not None and got < expected:
        raise DataError(f"download of {url} is partial: {got:,} of {expected:,} bytes; "
                        f"run again to resume from {part}")


def download(url: str, dest: Path, size: int | None = None, timeout: float = 30,
             check: Callable[[Path], None] | None = None, resume: bool = True) -> Path:
    """Download url to dest through a unique temporary file, resuming this URL's partial download.

    An interrupted download is kept as `partial_path(dest, url)` (keyed by the URL: it is never
    resumed from another URL). `check(tmp)` runs before the file becomes dest; a file it rejects
    is kept beside it as `<dest>.rejected`. resume=False starts over (for URLs of unknown bytes).
    """
    dest = Path(dest)
    part = partial_path(dest, url)
    tmp = temp_beside(dest, ".download")
    try:
        os.replace(part, tmp)  # claim this URL's partial file: atomic, so only one process gets it
    except FileNotFoundError:
        pass
    try:
        have = tmp.stat().st_size if resume else 0
        _stream(url, tmp, have, size, timeout, part, dest.name)
    except BaseException:
        if tmp.stat().st_size:
            os.replace(tmp, part)  # keep what arrived, for the next run to resume
        tmp.unlink(missing_ok=True)
        raise
    try:
        if check is not None:
            check(tmp)
    except BaseException:
        os.replace(tmp, dest.with_name(dest.name + ".rejected"))
        raise
    os.replace(tmp, dest)
    return dest


# ---------------------------------------------------------------- safe extraction

def _safe_target(root: Path, name: str) -> Path:
    """Where archive entry `name` lands under root; DataError if that is outside root."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise DataError(f"archive entry {name!r} would write outside the extraction folder; refused")
    target = (root / Path(*p.parts)).resolve() if p.parts else root.resolve()
    if root.resolve() not in (target, *target.parents):
        raise DataError(f"archive entry {name!r} would write outside the extraction folder; refused")
    return target


def _check_members(archive: Path, tmp: Path):
    """Refuse entries that would escape tmp (paths, links, devices); return the kind, 'zip' or 'tar'."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                _safe_target(tmp, info.filename)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise DataError(f"archive entry {info.filename!r} is a symbolic link; refused")
        return "zip"
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                target = _safe_target(tmp, m.name)
                if m.issym() or m.islnk():
                    link = (target.parent / m.linkname) if m.issym() else tmp / m.linkname
                    if PurePosixPath(m.linkname).is_absolute() or \
                            tmp.resolve() not in Path(os.path.normpath(link)).parents:
                        raise DataError(f"archive entry {m.name!r} links outside the folder "
                                        f"({m.linkname!r}); refused")
                elif not (m.isfile() or m.isdir()):
                    raise DataError(f"archive entry {m.name!r} is a device or fifo; refused")
        return "tar"
    raise DataError(f"{archive}: not a zip or tar archive")


def extract(archive: Path, dest: Path) -> Path:
    """Extract a zip or tar archive into dest, refusing absolute paths, '..' and escaping links.

    Extraction happens in a unique temporary folder that is renamed to dest at the end, so an
    interrupted or refused extraction leaves nothing half-written and never touches dest.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".extract", dir=dest.parent))
    try:
        if _check_members(archive, tmp) == "zip":
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():  # else another process finished the same extraction first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ---------------------------------------------------------------- obtain one verified file

def _log(quiet: bool):
    """A logger to stderr, or a silent one."""
    return (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))


def obtain(spec: FileSpec, folder: Path, log=None) -> Path:
    """Return a verified copy of one file in folder: from the cache, the mirror, then each URL.

    Callers that share the folder with other processes hold `lock(folder)` around it.
    """
    log = log or _log(quiet=False)
    folder = Path(folder)
    dest = folder / spec.name
    if dest.exists():
        try:
            verify(dest, spec, pinned=True)
            return dest
        except DataError as e:
            raise DataError(f"the cached file does not verify: {e}. It was left untouched; "
                            f"delete {dest} to download it again") from None
    errors = []
    mirror = mirror_dir()
    if mirror is not None and spec.mirror:
        src = mirror / spec.mirror
        if src.exists():
            with atomic(dest, ".mirror") as tmp:
                shutil.copyfile(src, tmp)
                try:
                    verify(tmp, spec, pinned=True)
                except DataError as e:
                    raise DataError(f"the mirror copy {src} does not verify: {e}") from None
            log(f"{spec.name}: copied from the mirror {src}")
            return dest
        errors.append(f"not in the mirror ({src})")
    for u in spec.urls:
        url, pinned = (u, True) if isinstance(u, str) else (u[0], u[1] is not None)
        try:
            log(f"{spec.name}: downloading {url}")
            # A URL of unknown bytes starts over: a resumed file could splice two versions of it.
            return download(url, dest, spec.size if pinned else None,
                            check=lambda p, pinned=pinned: verify(p, spec, pinned=pinned), resume=pinned)
        except DataError as e:
            errors.append(str(e))
    if not spec.urls:
        errors.append("this file has no public download URL")
    raise DataError(f"could not obtain {spec.name}: " + "; ".join(errors) + ". " + hint(spec))


def parse_hash(known_hash: str | None) -> dict:
    """pooch's hash notation -> FileSpec fields: 'sha256:<hex>', 'md5:<hex>', a bare sha256, or None."""
    if not known_hash:
        return {}
    algo, _, value = known_hash.rpartition(":")
    algo = (algo or "sha256").lower()
    if algo not in ("sha256", "md5"):
        raise ValueError(f"unsupported hash {known_hash!r}: use 'sha256:<hex>' or 'md5:<hex>'")
    return {algo: value.lower()}


def unpack(path: Path) -> Path:
    """A processor for retrieve(): extract the archive beside it, into a folder named without its suffix."""
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return extract(path, path.with_name(name))


def retrieve(url: str, known_hash: str | None, fname: str | None = None, folder: Path | None = None,
             processor: Callable[[Path], object] | None = None, mirror: str | None = None,
             quiet: bool = False):
    """One verified file in the cache, like pooch.retrieve; processor (e.g. `unpack`) runs on it.

    known_hash: 'sha256:<hex>', 'md5:<hex>' or None (bytes unknown: only the download's completeness
    is checked). fname defaults to the URL's last part; folder to <cache>/files; mirror is the
    file's path inside $DLC_DATA_MIRROR. Returns the path, or what the processor returns.
    """
    fname = fname or PurePosixPath(url.split("?")[0]).name
    folder = Path(folder) if folder is not None else cache_dir() / "files"
    pin = parse_hash(known_hash)
    spec = FileSpec(fname, urls=(url,) if pin else ((url, None),), mirror=mirror, **pin)
    with lock(folder):
        path = obtain(spec, folder, _log(quiet))
        return processor(path) if processor is not None else path
