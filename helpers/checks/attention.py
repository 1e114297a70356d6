"""Exercise checkers of notebook 07 (attention and transformers), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _diagnose, _Fail, _hint, _np, _result

__all__ = ["check_attention_mask", "check_sinusoidal_pe", "check_attend_one", "check_block_params"]


# ----------------------------------------------------------------------------- masks

def _allowed(lengths, max_len):
    """Reference: [n, max_len, max_len] bool, True where query i may attend key j (j <= i and j < length)."""
    lengths = np.asarray(lengths)
    i = np.arange(max_len)[:, None]
    j = np.arange(max_len)[None, :]
    return (j <= i)[None] & (j[None] < lengths[:, None, None])


@_checker
def check_attention_mask(fn) -> bool:
    """Check fn(lengths, max_len) -> bool [n, max_len, max_len], True where query i may attend key j."""
    for lengths, max_len in [([3, 5, 1], 5), ([4, 2], 6), ([7, 7, 3, 5], 7), ([2], 4)]:
        lens = np.array(lengths)
        try:
            raw = fn(lens.copy(), max_len)
            out = _result(raw, (len(lengths), max_len, max_len), "mask")
        except _Fail:
            raise
        except (TypeError, ValueError) as e:
            raise _Fail(f"return a boolean array of shape (len(lengths), max_len, max_len) ({e})") from None
        if np.any((out != 0) & (out != 1)):
            raise _Fail("the mask must hold only True/False (or 1/0)")
        got = out.astype(bool)
        expected = _allowed(lens, max_len)
        if np.array_equal(got, expected):
            continue
        causal = np.broadcast_to(np.tril(np.ones((max_len, max_len), bool)), expected.shape)
        j = np.arange(max_len)
        pad_keys = np.broadcast_to((j[None, None, :] < lens[:, None, None]), expected.shape)
        pad_both = pad_keys & (j[None, :, None] < lens[:, None, None])
        cands = [("True must mean 'may attend'; your mask marks the BLOCKED positions (that is PyTorch's "
                  "attn_mask convention, the opposite of this exercise)", ~expected),
                 ("that is only the causal part: keys at padding positions (j >= length) must be blocked too",
                  causal),
                 ("that is only the padding part: a query may not look at keys after it (causal)", pad_keys),
                 ("the causal part is transposed: query i may attend keys j <= i (the past), not j >= i",
                  np.triu(np.ones((max_len, max_len), bool))[None] & pad_keys),
                 ("a query must be allowed to attend to itself (j <= i, not j < i)",
                  np.tril(np.ones((max_len, max_len), bool), -1)[None] & pad_keys),
                 ("the padding part blocks keys by their position j (j >= length), whatever the query is; "
                  "rows of padded queries are not to be blanked", causal & pad_both),
                 ("off by one in the padding part: a sequence of length L has valid positions 0 .. L-1",
                  causal & np.broadcast_to((j[None, None, :] <= lens[:, None, None]), expected.shape))]
        for hint, cand in cands:
            if np.array_equal(got, cand):
                raise _Fail(hint)
        raise _Fail(f"for lengths {lengths} and max_len {max_len}, {int((got != expected).sum())} entries are "
                    "wrong; allowed means: the key is not padding AND it does not come after the query")
    print("PASS check_attention_mask: right on 4 hidden batches of lengths")
    return True


# ----------------------------------------------------------------------------- positional encoding

def _pe(n, d, base, interleave=True, swap=False, expo=2.0):
    """Reference sinusoidal encoding and its typical variants."""
    pos = np.arange(n)[:, None]
    i = np.arange(d // 2)[None, :]
    ang = pos / base ** (expo * i / d)
    s, c = (np.cos(ang), np.sin(ang)) if swap else (np.sin(ang), np.cos(ang))
    if not interleave:
        return np.concatenate([s, c], axis=1)
    out = np.empty((n, d))
    out[:, 0::2], out[:, 1::2] = s, c
    return out


@_checker
def check_sinusoidal_pe(fn) -> bool:
    """Check fn(n_positions, d_model, base) -> [n_positions, d_model] sinusoidal encodings with that base."""
    for n, d, base in [(12, 8, 300.0), (30, 16, 500.0), (7, 4, 10_000.0), (50, 32, 2_000.0)]:
        out = _result(fn(n, d, base), (n, d), "encoding")
        expected = _pe(n, d, base)
        if np.all(np.isfinite(out)) and np.allclose(out, expected, rtol=1e-6, atol=1e-6):
            continue
        cands = [("you used the base 10000 whatever `base` is: the wavelengths must follow the argument",
                  _pe(n, d, 10_000.0) if base != 10_000.0 else None),
                 ("sin and cos are swapped: even columns 2i hold sin, odd columns 2i+1 hold cos",
                  _pe(n, d, base, swap=True)),
                 ("you put all the sines first and all the cosines after; they alternate column by column "
                  "(sin in 2i, cos in 2i+1)", _pe(n, d, base, interleave=False)),
                 ("the exponent is 2i/d_model where i counts sin/cos PAIRS; you used i/d_model",
                  _pe(n, d, base, expo=1.0)),
                 ("the exponent is 2i/d_model where i counts PAIRS; you used the column index (2i) times 2",
                  _pe(n, d, base, expo=4.0)),
                 ("the positions start at 0 (the first row is sin 0 = 0, cos 0 = 1)", _pe(n + 1, d, base)[1:]),
                 ("you multiplied the position by base^(2i/d) instead of dividing",
                  _pe(n, d, 1.0 / base))]
        _diagnose(out, expected, cands, f"with n={n}, d_model={d}, base={base:g} the values are wrong; "
                  "PE[p, 2i] = sin(p / base^(2i/d_model)) and PE[p, 2i+1] = cos(the same angle)")
    print("PASS check_sinusoidal_pe: right for 4 hidden bases and sizes")
    return True


# ----------------------------------------------------------------------------- one query

def _softmax(z):
    """Softmax of a 1-D vector (reference)."""
    e = np.exp(z - z.max())
    return e / e.sum()


@_checker
def check_attend_one(fn) -> bool:
    """Check fn(q, K, V, allowed) -> output vector of scaled dot-product attention for one query."""
    rng = np.random.default_rng(701)
    for n_keys, d_k, d_v in [(5, 4, 3), (8, 16, 6), (3, 2, 5), (10, 64, 8)]:
        q, K, V = rng.normal(size=d_k), rng.normal(size=(n_keys, d_k)), rng.normal(size=(n_keys, d_v))
        q *= 1.5                                       # so that scaling matters
        allowed = rng.random(n_keys) < 0.7
        allowed[0] = True
        allowed[-1] = False
        out = _call(fn, (q, K, V, allowed), shape=(d_v,), what="output", changed="your function changed its inputs")
        s = K @ q
        z = np.where(allowed, s / np.sqrt(d_k), -np.inf)
        w = _softmax(z)
        expected = w @ V
        if np.all(np.isfinite(out)) and np.allclose(out, expected, rtol=1e-7, atol=1e-9):
            continue
        w_post = np.where(allowed, _softmax(s / np.sqrt(d_k)), 0.0)
        cands = [("the scores are not scaled: divide q.k by sqrt(d_k)", _softmax(np.where(allowed, s, -np.inf)) @ V),
                 ("the scale is sqrt(d_k), not d_k", _softmax(np.where(allowed, s / d_k, -np.inf)) @ V),
                 ("the mask is ignored: blocked keys must get weight 0 (score -inf before the softmax)",
                  _softmax(s / np.sqrt(d_k)) @ V),
                 ("you zeroed the blocked weights AFTER the softmax without renormalising: the allowed weights "
                  "must sum to 1 (mask the scores before the softmax)", w_post @ V),
                 ("the mask is inverted: `allowed` is True where the query MAY attend",
                  _softmax(np.where(~allowed, s / np.sqrt(d_k), -np.inf)) @ V),
                 ("you divided by sqrt(d_v); the scale comes from the dimension of the queries and keys, d_k",
                  _softmax(np.where(allowed, s / np.sqrt(d_v), -np.inf)) @ V)]
        _diagnose(out, expected, cands, "the output is not softmax(q.K^T / sqrt(d_k), masked) @ V")
    print("PASS check_attend_one: right on 4 hidden queries with masks")
    return True


# ----------------------------------------------------------------------------- parameter count

def _block(d, h, f, bias=True):
    """Reference: parameters of one encoder block; bias=False drops every additive bias, as PyTorch does."""
    b = 1 if bias else 0
    attn = 3 * d * d + 3 * d * b + d * d + d * b
    ffn = d * f + f * b + f * d + d * b
    return attn + ffn + 2 * (1 + b) * d


@_checker
def check_block_params(fn) -> bool:
    """Check fn(d_model, n_heads, d_ff, bias) -> int, the parameters of one transformer encoder block."""
    for d, h, f, bias in [(48, 6, 192, True), (100, 4, 400, True), (96, 8, 256, False), (20, 2, 30, True)]:
        try:
            out = _np(fn(d, h, f, bias))
        except (TypeError, ValueError):
            raise _Fail("return one number (the count of parameters)") from None
        if out.shape != ():
            raise _Fail(f"return one number, not an array of shape {out.shape}")
        got = float(out)
        expected = _block(d, h, f, bias)
        if got == expected:
            continue
        b = 1 if bias else 0
        cands = [("the two LayerNorms have parameters too (a scale and a shift of size d_model each)",
                  expected - 2 * (1 + b) * d),
                 ("each LayerNorm has TWO vectors of size d_model (scale and shift)",
                  expected - 2 * d if bias else None),
                 ("with bias=False the LayerNorms lose their shift too (as PyTorch's bias=False): only the scale "
                  "is left", expected + 2 * d if not bias else None),
                 ("with bias=False the linear layers have no biases", _block(d, h, f, True) if not bias else None),
                 ("you forgot the biases of the linear layers", _block(d, h, f, False) if bias else None),
                 ("the heads split d_model between them: the number of heads does not change the count "
                  "(you multiplied the attention by n_heads)", expected + (h - 1) * (4 * d * d + 4 * d * b)),
                 ("the attention has FOUR projections: query, key, value and the output projection",
                  expected - d * d - d * b),
                 ("the feed-forward part has two linear layers: d_model -> d_ff and d_ff -> d_model",
                  expected - f * d - d * b)]
        _hint(got, cands, f"for d_model={d}, n_heads={h}, d_ff={f}, bias={bias} the count is wrong; count the "
              "attention's projections, the feed-forward layers and the LayerNorms, weights and biases")
    print("PASS check_block_params: exact on 4 hidden block shapes")
    return True
