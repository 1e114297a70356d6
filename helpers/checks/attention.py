"""Exercise checkers of notebook 07 (attention and transformers), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _diagnose, _Fail, _hint, _np, _result

__all__ = ["check_attention_mask", "check_relative_positions", "check_mean_pool", "check_block_params"]


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


# ----------------------------------------------------------------------------- relative positions

def _rel(n, k, sign=1, clip=True, shift=True, lo=None):
    """Reference: index[i, j] = clip(j - i, -k, k) + k, and its typical variants."""
    d = sign * (np.arange(n)[None, :] - np.arange(n)[:, None])
    if clip:
        d = np.clip(d, -k if lo is None else lo, k)
    return d + (k if shift else 0)


@_checker
def check_relative_positions(fn) -> bool:
    """Check fn(n, max_distance) -> [n, n] ints, clip(j - i, -k, k) + k: the row of a (2k+1)-row table."""
    for n, k in [(6, 2), (9, 3), (4, 5), (1, 2), (12, 1)]:
        out = _result(fn(n, k), (n, n), "index matrix")
        expected = _rel(n, k)
        if np.array_equal(out, expected):
            continue
        cands = [("the offsets are not shifted by +max_distance: negative indices would silently pick rows from "
                  "the END of the table (Python and PyTorch wrap them); add max_distance", _rel(n, k, shift=False)),
                 ("the offset is key minus query, j - i (the key's position seen from the query), not i - j",
                  _rel(n, k, sign=-1)),
                 ("the offsets are not clipped: keys further than max_distance share the row of +/-max_distance",
                  _rel(n, k, clip=False)),
                 ("keys before the query need their own rows: clip to [-max_distance, max_distance], not at 0",
                  _rel(n, k, lo=0)),
                 ("the distance has a direction: a key 2 before and a key 2 after the query get different rows "
                  "(you used |j - i|)", np.clip(np.abs(_rel(n, k, shift=False)), 0, k) + k),
                 ("clip at max_distance itself, not one below it", _rel(n, k - 1) + 1 if k > 1 else None)]
        _diagnose(out, expected, cands, f"for n={n}, max_distance={k} the indices are wrong; row [i, j] is the "
                  "offset j - i clipped to [-max_distance, max_distance], plus max_distance")
    print("PASS check_relative_positions: right for 5 hidden sizes and distances")
    return True


# ----------------------------------------------------------------------------- mean pooling with a mask

@_checker
def check_mean_pool(fn) -> bool:
    """Check fn(h, mask) -> [B, d], the mean of h [B, L, d] over the positions where mask [B, L] is 1."""
    rng = np.random.default_rng(707)
    for lengths, L, d in [([3, 6, 1], 6, 4), ([2, 5], 8, 3), ([4], 4, 5), ([7, 0, 2], 7, 2)]:
        h = rng.normal(size=(len(lengths), L, d)) + 2.0           # padding rows hold real numbers too
        mask = (np.arange(L)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)
        out = _call(fn, (h, mask), shape=(len(lengths), d), what="pooled vectors")
        count = mask.sum(1, keepdims=True)
        total = (h * mask[:, :, None]).sum(1)
        expected = total / np.maximum(count, 1)
        if np.all(np.isfinite(out)) and np.allclose(out, expected, rtol=1e-7, atol=1e-9):
            continue
        if not np.all(np.isfinite(out)) and np.any(count == 0):
            raise _Fail("a sequence with no real token gives 0/0 = nan: divide by max(count, 1), so its "
                        "vector is 0")
        cands = [("you averaged over every position, padding included: the padding vectors pull the mean "
                  "(use the mask)", h.mean(1)),
                 ("the sum over the real tokens is right, but it must be divided by their count", total),
                 ("you divided by the padded length L, not by the number of real tokens", total / L),
                 ("you summed every position (padding too) and divided by the real count: zero the padding "
                  "vectors first", h.sum(1) / np.maximum(count, 1)),
                 ("the mask is inverted: 1 marks a real token", (h * (1 - mask)[:, :, None]).sum(1)
                  / np.maximum(L - count, 1))]
        _diagnose(out, expected, cands, "the pooled vectors are not sum(h * mask) / count of real tokens")
    print("PASS check_mean_pool: right on 4 hidden batches, an empty sequence included")
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
