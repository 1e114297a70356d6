"""Dataset registry, verified downloads into a cache, an offline mirror, safe extraction, loaders.

Data flows one way: registry entry -> verified file in the cache -> NumPy arrays.
`fetch(name)` looks in the cache, then in the mirror folder `$DLC_DATA_MIRROR`, then on the
network, and every failure raises `DataError` naming the file, the URL and the mirror variable.
Downloaded content is never unpickled.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

MIRROR_VAR = "DLC_DATA_MIRROR"
CACHE_VAR = "DLC_DATA_DIR"
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


@dataclass(frozen=True)
class Dataset:
    """A registry entry: alternative file sets ('variants'), tried in order, and the licence."""
    name: str
    description: str
    licence: str
    variants: dict = field(default_factory=dict)   # variant name -> tuple of FileSpec
    homepage: str = ""
    notes: str = ""


# ---------------------------------------------------------------- content validators

def _csv_shape(rows: int, cols: int, sep=",", header=True, encoding="utf-8-sig"):
    def check(path: Path):
        import csv
        with open(path, newline="", encoding=encoding) as f:
            reader = csv.reader(f, delimiter=sep)
            lines = list(reader)
        body = lines[1:] if header else lines
        if len(body) != rows or any(len(r) != cols for r in body):
            widths = sorted({len(r) for r in body})
            raise DataError(f"{path.name}: expected {rows} rows x {cols} columns, found {len(body)} rows "
                            f"with widths {widths[:5]}; the file is not the expected dataset")
    return check


def _whitespace_table(rows: int, cols: int):
    def check(path: Path):
        n = 0
        with open(path) as f:
            for line in f:
                if line.strip():
                    n += 1
                    if len(line.split()) != cols:
                        raise DataError(f"{path.name}: line {n} has {len(line.split())} fields, expected {cols}")
        if n != rows:
            raise DataError(f"{path.name}: expected {rows} rows, found {n}")
    return check


def _zip_members(pattern_count: dict):
    def check(path: Path):
        try:
            names = zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile as e:
            raise DataError(f"{path.name}: not a valid zip archive ({e})") from None
        for suffix, want in pattern_count.items():
            got = sum(n.endswith(suffix) for n in names)
            if got != want:
                raise DataError(f"{path.name}: expected {want} '{suffix}' entries, found {got}")
    return check


_CMAPSS = ("https://raw.githubusercontent.com/alireza-javanmardi/conformal-RUL-intervals/"
           "37e450ac8b656229d44aed3ac39dcf85ea11b86c/data/CMAPSS/")
_AGNEWS = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"

REGISTRY: dict[str, Dataset] = {d.name: d for d in [
    Dataset(
        "cifar10", "CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train, 10,000 test).",
        "No licence stated upstream; cite Krizhevsky 2009, 'Learning Multiple Layers of Features from Tiny Images'.",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        variants={
            # The classroom mirror holds a JPEG (quality 75) re-encoding in ImageFolder layout;
            # pixels differ slightly from the official release, accuracies a little lower.
            "jpeg": (FileSpec("cifar10-jpeg.zip", mirror="cifar10-jpeg.zip", size=62_190_935,
                              sha256="d04893ead3171e906e171cb9bc629b66a9d3f5cd36676564a009658746d75a46",
                              validate=_zip_members({".jpg": 60_000})),),
            # The official binary release: parsed as bytes, never unpickled. Upstream publishes an MD5.
            "binary": (FileSpec("cifar-10-binary.tar.gz", md5="c32a1d4ab5d03f1284b67883e8d87530",
                                size=170_052_171, mirror="cifar-10-binary.tar.gz",
                                urls=("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)),),
        }),
    Dataset(
        "ag_news", "AG's News topic classification: 4 classes; test split 7,600 rows, train 120,000.",
        "Provided by the academic community for research and non-commercial use (upstream readme).",
        homepage="http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html",
        notes="MD5s are the ones torchtext publishes for the original files. The offline mirror has the test split only.",
        variants={"csv": (
            FileSpec("test.csv", mirror="text/ag_news_csv/test.csv", urls=(_AGNEWS + "test.csv",),
                     md5="d52ea96a97a2d943681189a97654912d", size=1_857_427,
                     sha256="521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                     validate=_csv_shape(7_600, 3, header=False, encoding="utf-8")),
            FileSpec("classes.txt", mirror="text/ag_news_csv/classes.txt", urls=(_AGNEWS + "classes.txt",),
                     sha256="612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5"),
            FileSpec("train.csv", urls=(_AGNEWS + "train.csv",), md5="b1a00f826fdfbd249f79597b59e1dc12",
                     mirror="text/ag_news_csv/train.csv", optional=True,
                     validate=_csv_shape(120_000, 3, header=False, encoding="utf-8")),
        )}),
    Dataset(
        "bbc_news", "BBC News: 2,225 full-text articles in 5 classes (2004-2005).",
        "Research dataset; article copyright is the BBC's. Cite Greene & Cunningham, ICML 2006.",
        homepage="http://mlg.ucd.ie/datasets/bbc.html",
        notes="The mirror's zip was rebuilt (same article bytes), so the upstream zip is checked by content.",
        variants={"zip": (
            FileSpec("bbc-news-fulltext.zip", mirror="text/bbc-news-fulltext.zip", extract=True,
                     sha256="961cf53e05471f097da743bf52e390a0b9d667363ba6cb75390aa1ff0add74d2",
                     urls=(("http://mlg.ucd.ie/files/datasets/bbc-fulltext.zip", None),),
                     validate=_zip_members({".txt": 2_225})),)}),
    Dataset(
        "ai4i2020", "AI4I 2020 predictive maintenance: 10,000 rows x 14 columns, 339 machine failures (synthetic).",
        "CC BY 4.0 (UCI Machine Learning Repository, dataset 601). Cite Matzka, AI4I 2020.",
        homepage="https://archive.ics.uci.edu/dataset/601/ai4i+2020+predictive+maintenance+dataset",
        notes="The SHA-256 is of the pinned GitHub copy (= the mirror). UCI's own CSV may have CRLF "
              "line endings, so its bytes are unknown here: it is checked by content instead.",
        variants={"csv": (
            FileSpec("ai4i2020.csv", mirror="ai4i2020.csv", size=512_047,
                     sha256="59db4f1d9c34c58136d89e5a006ec190dcea19e9dbea74f6b3b0c6f22a44d183",
                     urls=("https://raw.githubusercontent.com/Sarrveshwer/Risk-eval-using-Logistic-Regression/"
                           "8c3a6b384563b8dc4bef1a9508b21534d6219769/Backup/ai4i2020.csv",
                           ("https://archive.ics.uci.edu/ml/machine-learning-databases/00601/ai4i2020.csv", None)),
                     validate=_csv_shape(10_000, 14)),)}),
    Dataset(
        "cmapss", "NASA C-MAPSS turbofan run-to-failure simulation: FD001 (train/test/RUL) and the FD003 test set.",
        "Public release by NASA Ames PCoE (US Government); no licence file. Cite Saxena et al., PHM08.",
        homepage="https://www.nasa.gov/intelligent-systems-division/discovery-and-systems-health/pcoe/pcoe-data-set-repository/",
        notes="Pinned copies of the original text files; train_FD003 and FD002/FD004 are not in the mirror.",
        variants={"fd001": tuple(
            FileSpec(f, mirror=f"cmapss/{f}", urls=(_CMAPSS + f,), sha256=h, validate=v)
            for f, h, v in [
                ("train_FD001.txt", "963b5e22825b34d8b21c69e1aeb4af3e647050eb672ee8834ba4b5d91d2de0f8",
                 _whitespace_table(20_631, 26)),
                ("test_FD001.txt", "3cda7109ce17bafb5443f2ac926cfcf88154b941b8c4cf95eb55d1ddd6f52851",
                 _whitespace_table(13_096, 26)),
                ("RUL_FD001.txt", "a19c8ec94931949d0485bdc35118206e9c81c4547b422efb9cf86f4ceddbceca",
                 _whitespace_table(100, 1)),
                ("test_FD003.txt", "299babd63c8d987cef079c4a425429f33b3a34797d803bbe2ad48c29dbd0d790",
                 _whitespace_table(16_596, 26)),
                ("RUL_FD003.txt", "df1e0566306b174a2de41c67a3e7a51877889598b78643fc3e5685259091b7cb",
                 _whitespace_table(100, 1)),
                ("readme.txt", "4f5270554b775c67e73aff383c5436fd329d6e4cc3d3a116913276fae511269b", None),
            ])}),
    Dataset(
        "neu_surface_defects", "NEU steel surface defects (NEU-DET): 1,800 200x200 greyscale images, 6 classes.",
        "No licence stated; academic dataset. Cite Song & Yan, Applied Surface Science 285 (2013).",
        homepage="http://faculty.neu.edu.cn/songkechen/zh_CN/zdylm/263270/list/index.htm",
        notes="Upstream offers no stable direct download; obtain neu-surface-defects.zip through the course "
              "mirror ($DLC_DATA_MIRROR) or place it in the cache folder yourself.",
        variants={"zip": (
            FileSpec("neu-surface-defects.zip", mirror="neu-surface-defects.zip", size=28_712_349, extract=True,
                     sha256="334b2076525e946386b12dd7f0e2bf1e87545312dcf185c5a988e085cc3d2e0b",
                     validate=_zip_members({".jpg": 1_800, ".xml": 1_800})),)}),
    Dataset(
        "power_load", "Hourly electricity load of American Electric Power (PJM), 2004-2018: 121,273 rows.",
        "CC0 per the Kaggle page 'Hourly Energy Consumption' (robikscube); data from PJM.",
        homepage="https://www.kaggle.com/datasets/robikscube/hourly-energy-consumption",
        notes="Rows are not in time order and DST days have duplicates and gaps: sort, dedupe, resample.",
        variants={"csv": (
            FileSpec("AEP_hourly.csv", mirror="timeseries/AEP_hourly.csv", size=3_395_509,
                     sha256="109d122f7b485555c609eecdec2cd5a03172e0a08acd358d863acc93eb452585",
                     urls=("https://raw.githubusercontent.com/JacobWangTengda/predictT-serving/"
                           "b60474ef05172674ca1e8bafeaac8669307b20f8/data/AEP_hourly.csv",),
                     validate=_csv_shape(121_273, 2)),)}),
]}


# ---------------------------------------------------------------- locations

def cache_dir() -> Path:
    """The download cache: $DLC_DATA_DIR, else the repository's data/ folder."""
    env = os.environ.get(CACHE_VAR)
    return Path(env).expanduser() if env else Path(__file__).resolve().parent.parent / "data"


def mirror_dir() -> Path | None:
    """The offline mirror folder from $DLC_DATA_MIRROR, or None."""
    env = os.environ.get(MIRROR_VAR)
    return Path(env).expanduser() if env else None


def _hint(spec: FileSpec) -> str:
    m = mirror_dir()
    where = f"{MIRROR_VAR}={m}" if m else f"{MIRROR_VAR} is not set"
    urls = ", ".join(_url(u) for u in spec.urls) or "no public URL"
    return (f"[file {spec.name}; URL {urls}; {where}]. To fix: connect to the network, or copy the file "
            f"to ${MIRROR_VAR}/{spec.mirror or spec.name} (a course mirror folder) or to "
            f"{cache_dir()}/<dataset>/{spec.name}, then run again.")


def _url(u) -> str:
    return u if isinstance(u, str) else u[0]


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
                            f"(a partial or different file) {_hint(spec)}")
        for algo in ("sha256", "md5"):
            want = getattr(spec, algo)
            if want:
                got = file_digest(path, algo)
                if got != want:
                    raise DataError(f"{path}: {algo} checksum mismatch: expected {want}, got {got} "
                                    f"(corrupt, truncated or a different file) {_hint(spec)}")
                break
    if spec.validate is not None:
        spec.validate(path)


# ---------------------------------------------------------------- download

def _progress(total, desc):
    try:
        from tqdm.auto import tqdm
        return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)
    except ImportError:
        return None


def download(url: str, dest: Path, size: int | None = None, timeout: float = 30) -> Path:
    """Download url to dest via dest.part, resuming a partial file with an HTTP Range request."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "dlc-curriculum/0.1"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and size is not None and have == size:  # already complete
            part.replace(dest)
            return dest
        raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"download of {url} failed: {getattr(e, 'reason', e)} (no network?)") from None
    with resp:
        ctype = resp.headers.get("Content-Type", "")
        if "text/html" in ctype and not url.endswith((".html", ".htm")):
            raise DataError(f"download of {url} returned an HTML page instead of the file "
                            "(a moved link or a login page)")
        resumed = have and resp.status == 206
        mode = "ab" if resumed else "wb"
        length = resp.headers.get("Content-Length")
        total = (have if resumed else 0) + int(length) if length else size
        bar = _progress(total, dest.name)
        if bar is not None and resumed:
            bar.update(have)
        got = have if resumed else 0
        try:
            with open(part, mode) as f:
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
    part.replace(dest)
    return dest


# ---------------------------------------------------------------- safe extraction

def _safe_target(root: Path, name: str) -> Path:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise DataError(f"archive entry {name!r} would write outside the extraction folder; refused")
    target = (root / Path(*p.parts)).resolve() if p.parts else root.resolve()
    if root.resolve() not in (target, *target.parents):
        raise DataError(f"archive entry {name!r} would write outside the extraction folder; refused")
    return target


def extract(archive: Path, dest: Path) -> Path:
    """Extract a zip or tar archive into dest, refusing absolute paths, '..' and escaping links.

    Extraction happens in a temporary folder that is renamed to dest at the end, so an
    interrupted or refused extraction leaves nothing half-written and never touches dest.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    _safe_target(tmp, info.filename)
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise DataError(f"archive entry {info.filename!r} is a symbolic link; refused")
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                members = t.getmembers()
                for m in members:
                    target = _safe_target(tmp, m.name)
                    if m.issym() or m.islnk():
                        link = (target.parent / m.linkname) if m.issym() else tmp / m.linkname
                        if PurePosixPath(m.linkname).is_absolute() or \
                                tmp.resolve() not in Path(os.path.normpath(link)).parents:
                            raise DataError(f"archive entry {m.name!r} links outside the folder "
                                            f"({m.linkname!r}); refused")
                    elif not (m.isfile() or m.isdir()):
                        raise DataError(f"archive entry {m.name!r} is a device or fifo; refused")
                t.extractall(tmp, members=members, filter="data")
        else:
            raise DataError(f"{archive}: not a zip or tar archive")
        tmp.replace(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


# ---------------------------------------------------------------- fetch

def _obtain(spec: FileSpec, folder: Path, log) -> Path:
    """Return a verified copy of one file in folder: from the cache, the mirror, then each URL."""
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
            tmp = dest.with_name(dest.name + ".mirror-tmp")
            shutil.copyfile(src, tmp)
            try:
                verify(tmp, spec, pinned=True)
            except DataError as e:
                tmp.unlink(missing_ok=True)
                raise DataError(f"the mirror copy {src} does not verify: {e}") from None
            tmp.replace(dest)
            log(f"{spec.name}: copied from the mirror {src}")
            return dest
        errors.append(f"not in the mirror ({src})")
    for u in spec.urls:
        url, pinned = (u, True) if isinstance(u, str) else (u[0], u[1] is not None)
        try:
            log(f"{spec.name}: downloading {url}")
            got = download(url, folder / (spec.name + ".download"), spec.size if pinned else None)
            try:
                verify(got, spec, pinned=pinned)
            except DataError:
                bad = got.with_name(spec.name + ".rejected")
                got.replace(bad)
                raise
            got.replace(dest)
            return dest
        except DataError as e:
            errors.append(str(e))
    if not spec.urls:
        errors.append("this file has no public download URL")
    raise DataError(f"could not obtain {spec.name}: " + "; ".join(errors) + ". " + _hint(spec))


def fetch(name: str, variant: str | None = None, quiet: bool = False) -> Path:
    """Return the dataset's cache folder with its files present and verified (archives extracted)."""
    if name not in REGISTRY:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}")
    ds = REGISTRY[name]
    folder = cache_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    order = [variant] if variant else list(ds.variants)
    if variant and variant not in ds.variants:
        raise DataError(f"dataset {name!r} has no variant {variant!r}; it has {list(ds.variants)}")
    # A variant already complete in the cache wins; then the variants in registry order.
    cached = [v for v in order if all((folder / s.name).exists() for s in ds.variants[v] if not s.optional)]
    errors = []
    for v in cached + [v for v in order if v not in cached]:
        try:
            for spec in ds.variants[v]:
                try:
                    path = _obtain(spec, folder, log)
                except DataError as e:
                    if spec.optional:
                        log(f"note: optional file {spec.name} is not available: {e}")
                        continue
                    raise
                if spec.extract:
                    extract(path, folder / (spec.name.rsplit(".", 1)[0]))
            return folder
        except DataError as e:
            errors.append(f"[{v}] {e}")
    raise DataError(f"dataset {name!r} is not available.\n" + "\n".join(errors))


def variant_in_cache(name: str) -> str | None:
    """Name of the first variant of a dataset whose required files are all in the cache, or None."""
    folder = cache_dir() / name
    for v, specs in REGISTRY[name].variants.items():
        if all((folder / s.name).exists() for s in specs if not s.optional):
            return v
    return None


# ---------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_cifar10_binary(archive: Path, split: str):
    """Read CIFAR-10's official binary tar.gz as bytes (no unpickling) -> (X uint8 NHWC, y int64)."""
    import numpy as np
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
    import io

    import numpy as np
    from PIL import Image
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


def load_cifar10(split: str = "train", standin_ok: bool = False):
    """Return CIFAR-10 as (X uint8 N×32×32×3, y int64, class names); decoded arrays are cached.

    With standin_ok=True and no data obtainable, returns a small generated stand-in of the same
    shapes and dtypes, and says so loudly.
    """
    import numpy as np
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    folder = cache_dir() / "cifar10"
    for v in ("binary", "jpeg"):  # fast path: decoded arrays already cached
        npz = folder / f"cifar10-{v}-{split}.npz"
        if npz.exists():
            with np.load(npz, allow_pickle=False) as d:
                return d["X"], d["y"], CIFAR10_CLASSES
    try:
        fetch("cifar10")
    except DataError:
        if not standin_ok:
            raise
        return standin_images(split, CIFAR10_CLASSES, n=5000 if split == "train" else 1000)
    v = variant_in_cache("cifar10")
    spec = REGISTRY["cifar10"].variants[v][0]
    if v == "binary":
        X, y = parse_cifar10_binary(folder / spec.name, split)
    else:
        X, y, _ = parse_imagefolder_zip(folder / spec.name, split, CIFAR10_CLASSES)
    tmp = folder / f"cifar10-{v}-{split}.tmp.npz"
    np.savez(tmp, X=X, y=y)
    tmp.replace(folder / f"cifar10-{v}-{split}.npz")
    return X, y, CIFAR10_CLASSES


def standin_images(split: str, classes, n: int, size: int = 32, seed: int = 0):
    """A generated stand-in image set (class-dependent colour blobs) for quick mode offline."""
    import numpy as np
    banner = "!" * 78
    print(f"{banner}\n!! STAND-IN DATA: the real dataset is not available offline. These are generated\n"
          f"!! images of the same shapes; numbers below do NOT describe the real dataset.\n{banner}")
    rng = np.random.default_rng(seed + (split == "test"))
    y = rng.integers(0, len(classes), n).astype(np.int64)
    palette = rng.uniform(40, 215, size=(len(classes), 3))
    yy, xx = np.mgrid[:size, :size]
    X = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        cx, cy, r = rng.uniform(8, size - 8, 2).tolist() + [rng.uniform(4, 10)]
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None]
        img = rng.normal(128, 30, (size, size, 3)) * ~blob + palette[y[i]] * blob
        X[i] = np.clip(img, 0, 255)
    return X, y, list(classes)


def describe(name: str) -> str:
    """A short text card of a registry entry: files, sources, checksums, licence."""
    ds = REGISTRY[name]
    lines = [f"{ds.name}: {ds.description}", f"  licence: {ds.licence}", f"  homepage: {ds.homepage}"]
    if ds.notes:
        lines.append(f"  notes: {ds.notes}")
    for v, specs in ds.variants.items():
        for s in specs:
            check = f"sha256 {s.sha256[:12]}…" if s.sha256 else (f"md5 {s.md5}" if s.md5 else "content check only")
            lines.append(f"  [{v}] {s.name}: {check}; urls: {', '.join(_url(u) for u in s.urls) or 'none'}")
    return "\n".join(lines)
