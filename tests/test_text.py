"""helpers.data.text: news loaders on the mirror, the bad byte, the seeded split, tokenizer/vocabulary, Keras parity."""
import importlib.util
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_data import closed_port_url

from helpers.data import catalogue as hds
from helpers.data import text as ht
from helpers.data import DataError

# One worker runs this module: its module-scoped fixture then runs once (pytest -n N --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_text")

ROOT = Path(__file__).resolve().parents[1]
SHARED_MIRROR = Path(os.environ.get("DLC_DATA_MIRROR") or ROOT.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(not (SHARED_MIRROR / "text" / "bbc-news-fulltext.zip").exists(),
                                  reason=f"the course's offline mirror is not at {SHARED_MIRROR}")
needs_tf = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Both corpora loaded once from the mirror into a fresh cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLC_DATA_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("DLC_DATA_MIRROR", str(SHARED_MIRROR))
        return {name: ht.load_corpus(name) for name in ht.CORPORA}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, no mirror, and every text URL refused (like no network)."""
    monkeypatch.setenv("DLC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DLC_DATA_MIRROR", raising=False)
    monkeypatch.setattr(hds, "_STANDINS", set())
    url = closed_port_url()
    reg = dict(hds.REGISTRY)
    for name in ht.CORPORA:
        ds = reg[name]
        reg[name] = replace(ds, variants={v: tuple(replace(s, urls=(url,)) for s in specs)
                                          for v, specs in ds.variants.items()})
    monkeypatch.setattr(hds, "REGISTRY", reg)
    return url


# ---------------------------------------------------------------- loaders on the mirror

@needs_mirror
def test_ag_news_offline_is_the_test_split_as_whole_corpus(corpora):
    ag = corpora["ag_news"]
    assert len(ag) == 7_600 and ag.split == "all" and ag.test is None
    assert ag.classes == ["World", "Sports", "Business", "Sci/Tech"]
    assert ag.counts().tolist() == [1_900] * 4 and ag.labels.dtype == np.int64
    assert ag.texts[0].startswith("Fears for T N pension after talks. Unions representing workers")
    joined = " ".join(ag.texts)
    for escape in ["#39;", "quot;", "\\", "&lt;", "&gt;", "#36;"]:
        assert escape not in joined, f"AG escape {escape!r} left in the text"
    assert "$10 million Ansari X Prize" in ag.texts[1] and "A second team of" in ag.texts[1]


@needs_mirror
def test_bbc_news_counts_and_the_bad_byte(corpora):
    bbc = corpora["bbc_news"]
    assert len(bbc) == 2_225 and bbc.classes == ["business", "entertainment", "politics", "sport", "tech"]
    assert bbc.counts().tolist() == [510, 386, 417, 511, 401]
    with zipfile.ZipFile(SHARED_MIRROR / "text" / "bbc-news-fulltext.zip") as z:
        name = next(n for n in z.namelist() if n.endswith("sport/199.txt"))
        raw = z.read(name)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")   # the file really has a non-UTF-8 byte (0xA3, cp1252's pound sign)
    text = ht.decode_bytes(raw)
    assert "a \u00a315.8m signing from Parma" in text
    assert any("a \u00a315.8m signing from Parma" in t for t in bbc.texts), "the loader decodes it too"


def test_decode_bytes_falls_back():
    assert ht.decode_bytes("caf\u00e9".encode()) == "caf\u00e9"
    assert ht.decode_bytes(b"\x93quoted\x94 \xa35") == "\u201cquoted\u201d \u00a35"   # cp1252
    assert ht.decode_bytes(b"\x81") == "\x81"                                       # latin-1, never fails


def test_clean_ag_escapes():
    assert ht.clean_ag("It #39;s a quot;test quot; \\of &lt;b&gt;bold&lt;/b&gt;  #36;5 &#39; said  quot;no quot;") == \
        "It's a\"test\" of bold $5 ' said \"no\""


# ---------------------------------------------------------------- split

@needs_mirror
def test_split_is_stratified_and_deterministic(corpora):
    ag = corpora["ag_news"]
    tr, va, te = ht.split_corpus(ag, val=0.1, test=0.2, seed=0)
    assert (len(tr), len(va), len(te)) == (5_320, 760, 1_520)
    assert tr.counts().tolist() == [1_330] * 4 and te.counts().tolist() == [380] * 4
    again = ht.split_corpus(ag, val=0.1, test=0.2, seed=0)
    assert again[0].texts == tr.texts and again[2].texts == te.texts
    other = ht.split_corpus(ag, val=0.1, test=0.2, seed=1)
    assert other[2].texts != te.texts
    bbc_tr, _, bbc_te = ht.split_corpus(corpora["bbc_news"], val=0.0, test=0.2, seed=0)
    assert len(bbc_te) == 445 and np.abs(bbc_te.counts() / 445 - bbc_tr.counts() / len(bbc_tr)).max() < 0.01


def test_split_keeps_an_official_test_split():
    texts = [f"doc {i}" for i in range(100)]
    test = ht.Corpus(["t1", "t2", "t3", "t4"], np.array([0, 1, 0, 1]), ["a", "b"], "test")
    c = ht.Corpus(texts, np.arange(100) % 2, ["a", "b"], "train", test=test)
    tr, va, te = ht.split_corpus(c, val=0.2, seed=0)
    assert te.texts == test.texts and (len(tr), len(va)) == (80, 20) and va.counts().tolist() == [10, 10]
    with pytest.raises(ValueError, match="val \\+ test < 1"):
        ht.split_corpus(c, val=0.6, test=0.5)


# ---------------------------------------------------------------- tokenizer and vocabulary

def test_tokenize_rule():
    assert ht.tokenize("Don't STOP: 3.5% of U.S. café-goers!") == ["don", "t", "stop", "3", "5", "of", "u", "s",
                                                                   "caf", "goers"]
    assert ht.tokenize("") == [] and ht.tokenize("  --  ") == []


def test_vocab_specials_order_and_limits():
    v = ht.build_vocab(["b a a c", "a b d", "e"], max_size=5, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "<mask>", "a", "b"] and len(v) == 5 and v.mask_id == 2
    assert v.stoi["a"] == 3
    v2 = ht.build_vocab(["b a a c", "a b d", "e"], max_size=100, min_freq=1)
    assert v2.itos[3:] == ["a", "b", "c", "d", "e"], "ties are alphabetical"
    with pytest.raises(ValueError, match="<pad>"):
        ht.build_vocab(["a"], specials=("<unk>", "<pad>"))


def test_encode_pads_truncates_and_round_trips(tmp_path):
    v = ht.build_vocab(["the cat sat", "the dog sat on the mat"], min_freq=1)
    ids, lengths = v.encode(["The cat sat on the zebra", "", "dog"], max_len=4)
    assert ids.dtype == np.int64 and lengths.dtype == np.int64 and ids.shape == (3, 4)
    assert lengths.tolist() == [4, 1, 1]                         # truncated; empty text counts as 1
    assert ids[1].tolist() == [0, 0, 0, 0] and ids[2, 1:].tolist() == [0, 0, 0]
    assert v.decode(ids[0]) == "the cat sat on"
    ids2, _ = v.encode(["the zebra"], 3)
    assert v.decode(ids2)[0] == "the <unk>"
    back = ht.Vocab.load(v.save(tmp_path / "v.json"))
    assert back.itos == v.itos and (back.encode(["the cat"], 4)[0] == v.encode(["the cat"], 4)[0]).all()
    with pytest.raises(TypeError, match="list of texts"):
        v.encode("the cat", 4)


@needs_mirror
def test_round_trip_on_real_text(corpora):
    bbc = corpora["bbc_news"]
    v = ht.build_vocab(bbc.texts, max_size=50_000, min_freq=1)
    ids, lengths = v.encode(bbc.texts[:50], max_len=10_000)
    for i in range(50):
        assert v.decode(ids[i]) == " ".join(ht.tokenize(bbc.texts[i]))
        assert lengths[i] == len(ht.tokenize(bbc.texts[i]))


@needs_mirror
@needs_tf
def test_keras_layer_gives_the_same_ids(corpora):
    import helpers
    helpers.set_threads()
    for name, c in corpora.items():
        v = ht.build_vocab(c.texts[:3000], max_size=3000)
        ids, _ = v.encode(c.texts, 48)
        keras_ids = np.asarray(v.keras_layer(48)(np.array(c.texts, dtype=object)))
        assert keras_ids.shape == ids.shape and (keras_ids == ids).all(), name


# ---------------------------------------------------------------- no data

def test_no_data_raises_a_clear_error(offline, capsys):
    for name in ht.CORPORA:
        with pytest.raises(DataError) as e:
            ht.load_corpus(name)
        msg = str(e.value)
        assert name in msg and "DLC_DATA_MIRROR" in msg and offline in msg and "To fix" in msg
    assert hds.standin_used() == set() and "STAND-IN" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="ag_news"):
        ht.load_corpus("imdb")


def test_standin_works_offline_and_is_learnable(offline, capsys):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    c = ht.load_corpus("ag_news", standin_ok=True)
    assert "STAND-IN" in capsys.readouterr().out and hds.standin_used() == {"ag_news"}
    assert len(c) == 7_600 and c.classes == ht.AG_CLASSES and "STAND-IN" in c.source
    assert c.texts == ht.load_corpus("ag_news", standin_ok=True).texts, "the same every time"
    tr, _, te = ht.split_corpus(c, seed=0)
    vec = TfidfVectorizer(tokenizer=ht.tokenize, token_pattern=None)
    clf = LogisticRegression(max_iter=500).fit(vec.fit_transform(tr.texts), tr.labels)
    assert clf.score(vec.transform(te.texts), te.labels) > 0.8, "class-specific words make it learnable"
    bbc = ht.load_corpus("bbc_news", standin_ok=True)
    assert len(bbc) == 2_225 and len(bbc.classes) == 5
