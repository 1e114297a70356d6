"""Notebook 07's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import attention as C
from checker_util import fails, passes, run, _stub  # noqa: E402


# ------------------------------------------------------------------ combined padding + causal mask

def mask_ok(lengths, max_len):
    i = np.arange(max_len)
    causal = i[None, :] <= i[:, None]
    return causal[None] & (i[None, None, :] < np.asarray(lengths)[:, None, None])


def mask_loop(lengths, max_len):
    out = np.zeros((len(lengths), max_len, max_len), dtype=int)
    for b, L in enumerate(lengths):
        for q in range(max_len):
            for k in range(min(q + 1, L)):
                out[b, q, k] = 1
    return out


@pytest.mark.parametrize("fn", [mask_ok, mask_loop])
def test_mask_accepts_right_answers(fn, capsys):
    passes(C.check_attention_mask, fn, capsys)


def _causal(lengths, max_len):
    return np.broadcast_to(np.tril(np.ones((max_len, max_len), bool)), (len(lengths), max_len, max_len))


def _pad(lengths, max_len):
    j = np.arange(max_len)
    return np.broadcast_to(j[None, None, :] < np.asarray(lengths)[:, None, None], (len(lengths), max_len, max_len))


@pytest.mark.parametrize("mistake, hint", [
    (lambda L, m: ~mask_ok(L, m), "BLOCKED"),
    (_causal, "only the causal part"),
    (_pad, "only the padding part"),
    (lambda L, m: np.triu(np.ones((m, m), bool))[None] & _pad(L, m), "transposed"),
    (lambda L, m: np.tril(np.ones((m, m), bool), -1)[None] & _pad(L, m), "attend to itself"),
    (lambda L, m: mask_ok(L, m) & np.swapaxes(_pad(L, m), 1, 2), "rows of padded queries"),
    (lambda L, m: _causal(L, m) & (np.arange(m)[None, None, :] <= np.asarray(L)[:, None, None]), "off by one"),
    (lambda L, m: mask_ok(L, m)[:, :, :-1], "shape"),
    (lambda L, m: mask_ok(L, m) * 2, "only True/False"),
    (lambda L, m: mask_ok(L, m) ^ np.eye(m, dtype=bool)[None], "entries are wrong"),
    (_stub, "not implemented yet"),
])
def test_mask_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_attention_mask, mistake, hint, capsys)


# ------------------------------------------------------------------ sinusoidal encoding with another base

def pe_ok(n, d, base):
    pos = np.arange(n)[:, None]
    ang = pos / base ** (np.arange(0, d, 2) / d)
    pe = np.zeros((n, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(ang), np.cos(ang)
    return pe


def pe_torch(n, d, base):
    import torch
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-np.log(base) / d))
    return torch.stack([torch.sin(pos * div), torch.cos(pos * div)], dim=-1).reshape(n, d)


@pytest.mark.parametrize("fn", [pe_ok, pe_torch])
def test_pe_accepts_right_answers(fn, capsys):
    passes(C.check_sinusoidal_pe, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda n, d, b: pe_ok(n, d, 10_000.0), "base 10000"),
    (lambda n, d, b: pe_ok(n, d, b)[:, np.arange(d) ^ 1], "swapped"),
    (lambda n, d, b: np.concatenate([pe_ok(n, d, b)[:, 0::2], pe_ok(n, d, b)[:, 1::2]], 1), "all the sines first"),
    (lambda n, d, b: C._pe(n, d, b, expo=1.0), "i/d_model"),
    (lambda n, d, b: C._pe(n, d, b, expo=4.0), "times 2"),
    (lambda n, d, b: pe_ok(n + 1, d, b)[1:], "start at 0"),
    (lambda n, d, b: pe_ok(n, d, 1.0 / b), "instead of dividing"),
    (lambda n, d, b: pe_ok(n, d, b).T, "shape"),
    (lambda n, d, b: pe_ok(n, d, b) + 0.01, "values are wrong"),
    (_stub, "not implemented yet"),
])
def test_pe_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_sinusoidal_pe, mistake, hint, capsys)


# ------------------------------------------------------------------ one query by hand

def attend_ok(q, K, V, allowed):
    s = K @ q / np.sqrt(len(q))
    s = np.where(allowed, s, -np.inf)
    w = np.exp(s - s.max())
    return (w / w.sum()) @ V


def attend_torch(q, K, V, allowed):
    import torch
    import torch.nn.functional as F
    t = lambda a: torch.as_tensor(a)[None, None]  # noqa: E731
    return F.scaled_dot_product_attention(t(q)[:, :, None], t(K), t(V), attn_mask=t(allowed)[:, :, None])[0, 0, 0]


def _sm(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("fn", [attend_ok, attend_torch])
def test_attend_accepts_right_answers(fn, capsys):
    passes(C.check_attend_one, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda q, K, V, a: _sm(np.where(a, K @ q, -np.inf)) @ V, "not scaled"),
    (lambda q, K, V, a: _sm(np.where(a, K @ q / len(q), -np.inf)) @ V, "not d_k"),
    (lambda q, K, V, a: _sm(K @ q / np.sqrt(len(q))) @ V, "mask is ignored"),
    (lambda q, K, V, a: np.where(a, _sm(K @ q / np.sqrt(len(q))), 0) @ V, "without renormalising"),
    (lambda q, K, V, a: _sm(np.where(~a, K @ q / np.sqrt(len(q)), -np.inf)) @ V, "inverted"),
    (lambda q, K, V, a: _sm(np.where(a, K @ q / np.sqrt(V.shape[1]), -np.inf)) @ V, "d_v"),
    (lambda q, K, V, a: _sm(np.where(a, K @ q / np.sqrt(len(q)), -np.inf)), "shape"),
    (lambda q, K, V, a: _sm(np.where(a, K @ q / np.sqrt(len(q)), -np.inf)) @ V + 0.1, "is not softmax"),
    (_stub, "not implemented yet"),
])
def test_attend_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_attend_one, mistake, hint, capsys)


def test_attend_rejects_mutation(capsys):
    def mutating(q, K, V, allowed):
        q /= np.sqrt(len(q))
        return attend_ok(q * np.sqrt(len(q)), K, V, allowed)
    fails(C.check_attend_one, mutating, "changed its inputs", capsys)


# ------------------------------------------------------------------ parameters of a block

def params_ok(d, h, f, bias=True):
    b = int(bias)
    return 4 * (d * d + b * d) + (d * f + b * f) + (f * d + b * d) + 2 * (1 + b) * d


def params_torch(d, h, f, bias=True):
    import torch
    layer = torch.nn.TransformerEncoderLayer(d, h, f, norm_first=True, bias=bias)
    return sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("fn", [params_ok, params_torch])
def test_params_accepts_right_answers(fn, capsys):
    passes(C.check_block_params, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda d, h, f, b=True: params_ok(d, h, f, b) - 2 * (1 + int(b)) * d, "two LayerNorms"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) - 2 * d * int(b), "TWO vectors"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) + 2 * d * (1 - int(b)), "lose their shift"),
    (lambda d, h, f, b=True: params_ok(d, h, f, True), "linear layers have no biases"),
    (lambda d, h, f, b=True: params_ok(d, h, f, False), "forgot the biases"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) + (h - 1) * 4 * (d * d + int(b) * d), "n_heads"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) - d * d - int(b) * d, "FOUR projections"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) - f * d - int(b) * d, "two linear layers"),
    (lambda d, h, f, b=True: params_ok(d, h, f, b) + 1, "count is wrong"),
    (lambda d, h, f, b=True: [params_ok(d, h, f, b)] * 2, "one number"),
    (_stub, "not implemented yet"),
])
def test_params_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_block_params, mistake, hint, capsys)


# ------------------------------------------------------------------ no checker leaks its answer

def test_failures_do_not_print_the_answer(capsys):
    ok, out = run(C.check_block_params, lambda d, h, f, b=True: 0, capsys)
    assert not ok
    for d, h, f, bias in [(48, 6, 192, True), (100, 4, 400, True)]:
        assert str(C._block(d, h, f, bias)) not in out
    for checker, wrong in [(C.check_attend_one, lambda q, K, V, a: np.zeros(V.shape[1])),
                           (C.check_sinusoidal_pe, lambda n, d, b: np.zeros((n, d))),
                           (C.check_attention_mask, lambda L, m: np.ones((len(L), m, m), bool))]:
        ok, out = run(checker, wrong, capsys)
        assert not ok and out.count("\n") == 1 and "array" not in out and "[0" not in out, out
