"""News text for notebooks 06-07: AG News and BBC News loaders, a seeded split, one tokenizer and vocabulary.

`load_corpus(name)` returns a `Corpus` (texts, int64 labels, class names). `split_corpus` makes a
stratified, seeded train/validation/test split (keeping an official test split when there is
one). `tokenize` and `build_vocab` give ids that PyTorch uses directly (`Vocab.encode`) and
Keras gets through `Vocab.keras_layer`, a `TextVectorization` that produces the same ids.

Tokenizer rule: ASCII letters and digits form tokens, everything else separates them, tokens are
lowercased (`re.findall(r"[A-Za-z0-9]+", text)` then `.lower()`): "Don't stop" -> don, t, stop.
"""
from __future__ import annotations

import csv
import html
import json
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from . import catalogue as _ds
from .files import DataError

__all__ = ["Corpus", "load_corpus", "split_corpus", "tokenize", "Vocab", "build_vocab", "decode_bytes",
           "clean_ag", "standin_corpus", "TOKEN_PATTERN", "SPECIALS", "CORPORA", "DataError"]

TOKEN_PATTERN = r"[A-Za-z0-9]+"
SPECIALS = ("<pad>", "<unk>", "<mask>")
CORPORA = ("ag_news", "bbc_news")
AG_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
BBC_CLASSES = ["business", "entertainment", "politics", "sport", "tech"]


@dataclass
class Corpus:
    """Labelled texts: texts[i] has class classes[labels[i]]; `test` holds an official test split if any."""
    texts: list
    labels: np.ndarray
    classes: list
    split: str = "all"            # "all", "train" or "test"
    source: str = ""              # where the texts came from
    test: "Corpus | None" = field(default=None, repr=False)

    def __len__(self):
        """Number of texts."""
        return len(self.texts)

    def __repr__(self):
        """Name, size and class counts."""
        counts = np.bincount(self.labels, minlength=len(self.classes)).tolist()
        return (f"Corpus({self.split}, {len(self)} texts, classes={self.classes}, counts={counts}, "
                f"source={self.source!r})")

    def subset(self, idx, split: str | None = None) -> "Corpus":
        """The texts at positions idx (a new Corpus, same classes)."""
        idx = np.asarray(idx, dtype=np.int64)
        return Corpus([self.texts[i] for i in idx], self.labels[idx].copy(), list(self.classes),
                      split or self.split, self.source)

    def counts(self) -> np.ndarray:
        """Number of texts per class."""
        return np.bincount(self.labels, minlength=len(self.classes))


# ---------------------------------------------------------------- decoding and cleaning

def decode_bytes(raw: bytes) -> str:
    """UTF-8, else cp1252, else latin-1 (never fails): BBC's sport/199.txt has one non-UTF-8 byte."""
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


_NUMREF = re.compile(r"(?<!&) ?#(\d+);")  # AG turned "&" into a space: " #39;s" was "&#39;s"
_NAMEDREF = re.compile(r"(?<!&) ?\b(quot|amp|lt|gt|hellip|nbsp);")
_TAG = re.compile(r"<[^<>]{0,200}>")


def clean_ag(text: str) -> str:
    """Undo AG News' escapes: backslash = newline, ' #39;' -> ', 'quot;' -> ", '&lt;b&gt;' tags dropped."""
    text = text.replace("\\", " ")
    text = _NAMEDREF.sub(r"&\1;", _NUMREF.sub(r"&#\1;", text))
    text = _TAG.sub(" ", html.unescape(text))
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------- loaders

def _read_ag_csv(path: Path):
    """AG News CSV (class 1-4, title, description) -> (texts, labels 0-3)."""
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            title, desc = clean_ag(row[1]), clean_ag(row[2])
            texts.append(f"{title}. {desc}" if title and not title.endswith((".", "?", "!")) else f"{title} {desc}")
            labels.append(int(row[0]) - 1)
    return texts, np.asarray(labels, dtype=np.int64)


def _load_ag(folder: Path) -> Corpus:
    """Full AG News (train + official test) when train.csv is there, else the test split as the whole corpus."""
    classes = (folder / "classes.txt").read_text().split()
    tx, ty = _read_ag_csv(folder / "test.csv")
    if (folder / "train.csv").exists():
        rx, ry = _read_ag_csv(folder / "train.csv")
        test = Corpus(tx, ty, classes, "test", "AG News official test.csv")
        return Corpus(rx, ry, classes, "train", "AG News official train.csv", test=test)
    print("ag_news: only the 7,600-row official TEST split is available (the offline mirror has no "
          "train.csv); it is used as the whole corpus and split by split_corpus. Numbers are not "
          "comparable with results trained on the 120,000-row training set.", file=sys.stderr)
    return Corpus(tx, ty, classes, "all", "AG News test.csv used as the whole corpus (offline)")


def _load_bbc(folder: Path) -> Corpus:
    """BBC News from the zip: bbc/<class>/NNN.txt, first line the title; sorted by class then file."""
    zips = [s.name for specs in _ds.REGISTRY["bbc_news"].variants.values() for s in specs]
    archive = next(folder / z for z in zips if (folder / z).exists())
    texts, labels = [], []
    with zipfile.ZipFile(archive) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".txt") and n.count("/") >= 2)
        found = sorted({n.split("/")[-2] for n in names})
        if found != BBC_CLASSES:
            raise DataError(f"{archive}: class folders {found}, expected {BBC_CLASSES}")
        for n in names:
            texts.append(re.sub(r"\s+", " ", decode_bytes(z.read(n))).strip())
            labels.append(BBC_CLASSES.index(n.split("/")[-2]))
    return Corpus(texts, np.asarray(labels, dtype=np.int64), list(BBC_CLASSES), "all", f"BBC News ({archive.name})")


def load_corpus(name: str, *, standin_ok: bool = False) -> Corpus:
    """AG News or BBC News as a Corpus; with standin_ok and no data, a generated stand-in (announced)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {CORPORA}")
    try:
        folder = _ds.fetch(name, quiet=True)
    except DataError as e:
        if not standin_ok:
            raise
        _ds.announce_standin(name, str(e))
        return standin_corpus(name)
    return _load_ag(folder) if name == "ag_news" else _load_bbc(folder)


# ---------------------------------------------------------------- the stand-in

def _pseudo_words(rng, n: int) -> list:
    """n distinct pronounceable made-up words (consonant-vowel syllables)."""
    cons, vow = "bcdfghjklmnprstvz", "aeiou"
    words = set()
    while len(words) < n:
        k = rng.integers(1, 4)
        words.add("".join(rng.choice(list(cons)) + rng.choice(list(vow)) for _ in range(k)))
    return sorted(words)


def standin_corpus(name: str = "ag_news", n: int | None = None, seed: int = 0) -> Corpus:
    """Generated texts: 70% of words from a shared Zipf vocabulary, 30% from the class's own 40 topic words."""
    classes = AG_CLASSES if name == "ag_news" else BBC_CLASSES
    n = n or (7_600 if name == "ag_news" else 2_225)
    rng = np.random.default_rng(seed)
    k = len(classes)
    words = _pseudo_words(rng, 600 + 40 * k)
    common, topic = words[:600], [words[600 + 40 * c: 640 + 40 * c] for c in range(k)]
    zipf = 1.0 / np.arange(1, 601)
    zipf /= zipf.sum()
    labels = np.arange(n, dtype=np.int64) % k
    rng.shuffle(labels)
    texts = []
    for c in labels:
        length = int(rng.integers(20, 60))
        own = rng.random(length) < 0.3
        toks = np.where(own, rng.choice(topic[c], length), rng.choice(common, length, p=zipf))
        texts.append(" ".join(toks))
    return Corpus(texts, labels, list(classes), "all", f"STAND-IN generated text (not {name})")


# ---------------------------------------------------------------- split

def split_corpus(corpus: Corpus, *, val: float = 0.1, test: float = 0.2, seed: int = 0):
    """Stratified, seeded (train, val, test) Corpora; an official test split is kept and val comes from train.

    Without an official test split, `test` and `val` are fractions of the whole corpus.
    With one, `val` is a fraction of the training texts.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val={val}, test={test}: fractions in [0, 1) with val + test < 1")
    idx = np.arange(len(corpus))
    if corpus.test is not None:
        te = corpus.test.subset(np.arange(len(corpus.test)), "test")
        rest, frac = idx, val
    else:
        if test == 0:
            raise ValueError("this corpus has no official test split: give test > 0")
        rest, te_idx = train_test_split(idx, test_size=test, random_state=seed, stratify=corpus.labels)
        te = corpus.subset(np.sort(te_idx), "test")
        frac = val / (1 - test)
    if frac > 0:
        tr_idx, va_idx = train_test_split(rest, test_size=frac, random_state=seed, stratify=corpus.labels[rest])
    else:
        tr_idx, va_idx = rest, rest[:0]
    return corpus.subset(np.sort(tr_idx), "train"), corpus.subset(np.sort(va_idx), "val"), te


# ---------------------------------------------------------------- tokenizer and vocabulary

_TOKEN = re.compile(TOKEN_PATTERN)


def tokenize(text: str) -> list:
    """Lowercased runs of ASCII letters and digits; everything else separates tokens."""
    return [t.lower() for t in _TOKEN.findall(text)]


class Vocab:
    """Token <-> id: itos[i] is the token of id i; 0 = <pad>, 1 = <unk>, 2 = <mask>, then by frequency."""

    def __init__(self, itos):
        """A vocabulary from its token list (specials first)."""
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")
        self.pad_id, self.unk_id = 0, 1
        self.mask_id = self.stoi.get("<mask>", None)

    def __len__(self):
        """Number of ids, specials included."""
        return len(self.itos)

    def __repr__(self):
        """Size and the first tokens."""
        return f"Vocab({len(self)} tokens: {self.itos[:8]}...)"

    def ids(self, text: str) -> list:
        """The ids of one text's tokens, unknown tokens -> 1, no padding."""
        return [self.stoi.get(t, 1) for t in tokenize(text)]

    def encode(self, texts, max_len: int):
        """(ids int64 [n, max_len], lengths int64 [n]): truncated at max_len, padded with 0 at the end.

        lengths count the kept tokens, at least 1 (an empty text is one <pad>, so that packed
        sequences accept it); ids are exactly what keras_layer(max_len) gives.
        """
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; wrap a single text as [text]")
        if max_len < 1:
            raise ValueError(f"max_len={max_len}: must be >= 1")
        out = np.zeros((len(texts), max_len), dtype=np.int64)
        lengths = np.ones(len(texts), dtype=np.int64)
        for i, t in enumerate(texts):
            row = self.ids(t)[:max_len]
            out[i, :len(row)] = row
            lengths[i] = max(len(row), 1)
        return out, lengths

    def decode(self, ids, skip_pad: bool = True):
        """Token ids (one row, or a 2-d array of rows) back to space-joined text."""
        arr = np.asarray(ids)
        if arr.ndim == 2:
            return [self.decode(r, skip_pad) for r in arr]
        return " ".join(self.itos[int(i)] for i in arr if not (skip_pad and int(i) == 0))

    def keras_layer(self, max_len: int):
        """A Keras TextVectorization giving the same ids as encode(texts, max_len)."""
        import keras  # local (with the next line): the corpus serves torch-only notebooks too
        import tensorflow as tf

        def standardize(x):
            return tf.strings.lower(tf.strings.regex_replace(x, r"[^A-Za-z0-9]+", " "))
        return keras.layers.TextVectorization(
            standardize=standardize, split="whitespace", output_mode="int", output_sequence_length=max_len,
            vocabulary=self.itos[2:], name="shared_vocab")  # Keras adds '' (0) and '[UNK]' (1) itself

    def save(self, path) -> Path:
        """Write the token list as JSON."""
        Path(path).write_text(json.dumps({"itos": self.itos}, ensure_ascii=False))
        return Path(path)

    @classmethod
    def load(cls, path) -> "Vocab":
        """Read a vocabulary written by save()."""
        return cls(json.loads(Path(path).read_text())["itos"])


def build_vocab(texts, max_size: int = 20_000, min_freq: int = 2, specials=SPECIALS) -> Vocab:
    """The specials, then tokens seen >= min_freq times, most frequent first (ties alphabetical); max_size ids."""
    if len(specials) < 2 or specials[0] != "<pad>" or specials[1] != "<unk>":
        raise ValueError(f"specials={specials}: must start with '<pad>', '<unk>' (ids 0 and 1, as in Keras)")
    if max_size <= len(specials):
        raise ValueError(f"max_size={max_size} leaves no room beyond the {len(specials)} special tokens")
    counts = Counter(t for text in texts for t in tokenize(text))
    words = sorted((w for w, c in counts.items() if c >= min_freq and w not in specials),
                   key=lambda w: (-counts[w], w))
    return Vocab(list(specials) + words[:max_size - len(specials)])
