"""The dataset catalogue: one registry entry per dataset, `fetch(name)`, and the stand-in record.

Data flows one way: registry entry -> verified file in the cache (`helpers.data.files` obtains it from
the cache, the mirror `$DLC_DATA_MIRROR` or the network) -> NumPy arrays. Downloaded content is
never unpickled. A process that fills a dataset's cache folder holds its lock, so a second process
waits and then finds the finished files. With nothing obtainable, a loader called with
`standin_ok=True` returns generated stand-in data of the same shapes, says so in large letters,
and `standin_used()` names it.
"""
from __future__ import annotations

import csv
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .files import DataError, FileSpec, cache_dir, extract, lock, obtain, url_of

__all__ = ["Dataset", "REGISTRY", "describe", "fetch", "variant_in_cache", "standin_used",
           "fetch_or_standin", "announce_standin", "csv_shape", "whitespace_table", "zip_members", "DataError"]


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

def csv_shape(rows: int, cols: int, sep=",", header=True, encoding="utf-8-sig"):
    """A validator: the CSV file has exactly `rows` data rows of `cols` fields."""
    def check(path: Path):
        with open(path, newline="", encoding=encoding) as f:
            lines = list(csv.reader(f, delimiter=sep))
        body = lines[1:] if header else lines
        if len(body) != rows or any(len(r) != cols for r in body):
            widths = sorted({len(r) for r in body})
            raise DataError(f"{path.name}: expected {rows} rows x {cols} columns, found {len(body)} rows "
                            f"with widths {widths[:5]}; the file is not the expected dataset")
    return check


def whitespace_table(rows: int, cols: int):
    """A validator: a whitespace-separated text table of `rows` non-empty lines of `cols` fields."""
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


def zip_members(pattern_count: dict):
    """A validator: the zip archive holds exactly the given number of entries per name suffix."""
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
                              validate=zip_members({".jpg": 60_000})),),
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
                     validate=csv_shape(7_600, 3, header=False, encoding="utf-8")),
            FileSpec("classes.txt", mirror="text/ag_news_csv/classes.txt", urls=(_AGNEWS + "classes.txt",),
                     sha256="612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5"),
            FileSpec("train.csv", urls=(_AGNEWS + "train.csv",), md5="b1a00f826fdfbd249f79597b59e1dc12",
                     mirror="text/ag_news_csv/train.csv", optional=True,
                     validate=csv_shape(120_000, 3, header=False, encoding="utf-8")),
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
                     validate=zip_members({".txt": 2_225})),)}),
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
                     validate=csv_shape(10_000, 14)),)}),
    Dataset(
        "cmapss", "NASA C-MAPSS turbofan run-to-failure simulation: FD001 (train/test/RUL) and the FD003 test set.",
        "Public release by NASA Ames PCoE (US Government); no licence file. Cite Saxena et al., PHM08.",
        homepage="https://www.nasa.gov/intelligent-systems-division/discovery-and-systems-health/pcoe/pcoe-data-set-repository/",
        notes="Pinned copies of the original text files; train_FD003 and FD002/FD004 are not in the mirror.",
        variants={"fd001": tuple(
            FileSpec(f, mirror=f"cmapss/{f}", urls=(_CMAPSS + f,), sha256=h, validate=v)
            for f, h, v in [
                ("train_FD001.txt", "963b5e22825b34d8b21c69e1aeb4af3e647050eb672ee8834ba4b5d91d2de0f8",
                 whitespace_table(20_631, 26)),
                ("test_FD001.txt", "3cda7109ce17bafb5443f2ac926cfcf88154b941b8c4cf95eb55d1ddd6f52851",
                 whitespace_table(13_096, 26)),
                ("RUL_FD001.txt", "a19c8ec94931949d0485bdc35118206e9c81c4547b422efb9cf86f4ceddbceca",
                 whitespace_table(100, 1)),
                ("test_FD003.txt", "299babd63c8d987cef079c4a425429f33b3a34797d803bbe2ad48c29dbd0d790",
                 whitespace_table(16_596, 26)),
                ("RUL_FD003.txt", "df1e0566306b174a2de41c67a3e7a51877889598b78643fc3e5685259091b7cb",
                 whitespace_table(100, 1)),
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
                     validate=zip_members({".jpg": 1_800, ".xml": 1_800})),)}),
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
                     validate=csv_shape(121_273, 2)),)}),
]}


def describe(name: str) -> str:
    """A short text card of a registry entry: files, sources, checksums, licence."""
    ds = REGISTRY[name]
    lines = [f"{ds.name}: {ds.description}", f"  licence: {ds.licence}", f"  homepage: {ds.homepage}"]
    if ds.notes:
        lines.append(f"  notes: {ds.notes}")
    for v, specs in ds.variants.items():
        for s in specs:
            check = f"sha256 {s.sha256[:12]}…" if s.sha256 else (f"md5 {s.md5}" if s.md5 else "content check only")
            lines.append(f"  [{v}] {s.name}: {check}; urls: {', '.join(url_of(u) for u in s.urls) or 'none'}")
    return "\n".join(lines)


def variant_in_cache(name: str) -> str | None:
    """Name of the first variant of a dataset whose required files are all in the cache, or None."""
    folder = cache_dir() / name
    for v, specs in REGISTRY[name].variants.items():
        if all((folder / s.name).exists() for s in specs if not s.optional):
            return v
    return None


def fetch(name: str, variant: str | None = None, quiet: bool = False) -> Path:
    """Return the dataset's cache folder with its files present and verified (archives extracted)."""
    if name not in REGISTRY:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}")
    ds = REGISTRY[name]
    if variant and variant not in ds.variants:
        raise DataError(f"dataset {name!r} has no variant {variant!r}; it has {list(ds.variants)}")
    folder = cache_dir() / name
    log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    order = [variant] if variant else list(ds.variants)
    errors = []
    with lock(folder):  # one process fills the folder; the others wait, then find the files
        # A variant already complete in the cache wins; then the variants in registry order.
        cached = [v for v in order if all((folder / s.name).exists() for s in ds.variants[v] if not s.optional)]
        for v in cached + [v for v in order if v not in cached]:
            try:
                for spec in ds.variants[v]:
                    try:
                        path = obtain(spec, folder, log)
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


# ---------------------------------------------------------------- stand-in data

_STANDINS: set[str] = set()


def standin_used() -> set[str]:
    """Names of the datasets that fell back to a generated stand-in in this process."""
    return set(_STANDINS)


def announce_standin(name: str, reason: str) -> None:
    """Record that `name` is a stand-in and print a banner nobody can miss."""
    import textwrap
    _STANDINS.add(name)
    w = 80
    text = [f"STAND-IN DATA:  {name.upper()}  IS  NOT  THE  REAL  DATASET", "",
            f"{name} could not be obtained (no network, no mirror, nothing cached). These are GENERATED "
            "data of the same shapes and dtypes: every number computed from them describes the "
            "stand-in, NOT the real dataset.", "",
            "For the real data: set DLC_DATA_MIRROR to a course mirror, or connect to the network."]
    rows = [""] + [r for t in text for r in (textwrap.wrap(t, w) or [""])]
    rows += textwrap.wrap("Why: " + reason.splitlines()[-1], w, max_lines=3) + [""]
    bar = "#" * (w + 8)
    print("\n".join([bar, bar] + [f"##  {r:<{w}}  ##" for r in rows] + [bar, bar]), flush=True)


def fetch_or_standin(name: str, standin_ok: bool = False, quiet: bool = True):
    """fetch(name); when it cannot be had and standin_ok, announce the stand-in and return None instead."""
    try:
        return fetch(name, quiet=quiet)
    except DataError as e:
        if not standin_ok:
            raise
        announce_standin(name, str(e))
        return None
