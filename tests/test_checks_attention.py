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


# ------------------------------------------------------------------ relative position indices

def rel_ok(n, k):
    i = np.arange(n)
    return np.clip(i[None, :] - i[:, None], -k, k) + k


def rel_loop(n, k):
    return [[min(max(j - i, -k), k) + k for j in range(n)] for i in range(n)]


def rel_torch(n, k):
    import torch
    pos = torch.arange(n)
    return (pos[None, :] - pos[:, None]).clamp(-k, k) + k


@pytest.mark.parametrize("fn", [rel_ok, rel_loop, rel_torch])
def test_relative_positions_accept_right_answers(fn, capsys):
    passes(C.check_relative_positions, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda n, k: rel_ok(n, k) - k, "silently pick rows from the END"),
    (lambda n, k: 2 * k - rel_ok(n, k), "not i - j"),
    (lambda n, k: np.arange(n)[None, :] - np.arange(n)[:, None] + k, "not clipped"),
    (lambda n, k: np.clip(rel_ok(n, k), k, None), "not at 0"),
    (lambda n, k: np.abs(rel_ok(n, k) - k) + k, "direction"),
    (lambda n, k: np.clip(rel_ok(n, k), 1, 2 * k - 1), "one below"),
    (lambda n, k: rel_ok(n, k)[:, :-1], "shape"),
    (lambda n, k: rel_ok(n, k) + np.eye(n, dtype=int), "indices are wrong"),
    (_stub, "not implemented yet"),
])
def test_relative_positions_reject_typical_mistakes(mistake, hint, capsys):
    fails(C.check_relative_positions, mistake, hint, capsys)


# ------------------------------------------------------------------ mean pooling over the real tokens

def pool_ok(h, mask):
    m = mask[:, :, None]
    return (h * m).sum(1) / np.maximum(m.sum(1), 1)


def pool_torch(h, mask):
    import torch
    h, m = torch.as_tensor(h), torch.as_tensor(mask).unsqueeze(-1).to(torch.float64)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def pool_loop(h, mask):
    out = np.zeros((h.shape[0], h.shape[2]))
    for b in range(h.shape[0]):
        real = [h[b, t] for t in range(h.shape[1]) if mask[b, t]]
        if real:
            out[b] = np.mean(real, axis=0)
    return out


@pytest.mark.parametrize("fn", [pool_ok, pool_torch, pool_loop])
def test_mean_pool_accepts_right_answers(fn, capsys):
    passes(C.check_mean_pool, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda h, m: h.mean(1), "padding included"),
    (lambda h, m: (h * m[:, :, None]).sum(1), "divided by their count"),
    (lambda h, m: (h * m[:, :, None]).sum(1) / h.shape[1], "padded length L"),
    (lambda h, m: h.sum(1) / np.maximum(m.sum(1, keepdims=True), 1), "zero the padding"),
    (lambda h, m: (h * (1 - m)[:, :, None]).sum(1) / np.maximum((1 - m).sum(1, keepdims=True), 1), "inverted"),
    (lambda h, m: (h * m[:, :, None]).sum(1) / m.sum(1, keepdims=True), "0/0"),
    (lambda h, m: pool_ok(h, m) + 0.01, "not sum(h * mask)"),
    (lambda h, m: pool_ok(h, m)[:, :-1], "shape"),
    (_stub, "not implemented yet"),
])
def test_mean_pool_rejects_typical_mistakes(mistake, hint, capsys):
    with np.errstate(divide="ignore", invalid="ignore"):
        fails(C.check_mean_pool, mistake, hint, capsys)


def test_mean_pool_rejects_mutation(capsys):
    def mutating(h, mask):
        h *= mask[:, :, None]
        return pool_ok(h, mask)
    fails(C.check_mean_pool, mutating, "changed its input", capsys)


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
    for checker, wrong in [(C.check_mean_pool, lambda h, m: np.zeros((h.shape[0], h.shape[2]))),
                           (C.check_relative_positions, lambda n, k: np.zeros((n, n))),
                           (C.check_attention_mask, lambda L, m: np.ones((len(L), m, m), bool))]:
        ok, out = run(checker, wrong, capsys)
        assert not ok and out.count("\n") == 1 and "array" not in out and "[0" not in out, out
