"""Notebook 12's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import math

import numpy as np
import pytest

from helpers.checks import scaling as C
from checker_util import fails, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ effective batch and learning rate

def scaled_lr_ok(b, n, k, lr0, b0):
    eff = b * n * k
    return eff, lr0 * eff / b0


def test_scaled_lr_accepts_the_linear_rule(capsys):
    passes(C.check_scaled_lr, scaled_lr_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda b, n, k, lr0, b0: (b * n, lr0 * b * n / b0), "accumulation"),
    (lambda b, n, k, lr0, b0: (b * k, lr0 * b * k / b0), "number of devices"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0 * math.sqrt(b * n * k / b0)), "square-root"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0 * b0 / (b * n * k)), "upside down"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0), "unchanged"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0 * b / b0), "not by one device"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0 * n), "number of devices alone"),
    (lambda b, n, k, lr0, b0: (b * n * k, lr0 * n * k), "number of devices alone"),
    (lambda b, n, k, lr0, b0: b * n * k, "pair"),
    (_stub, "not implemented yet"),
])
def test_scaled_lr_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_scaled_lr, mistake, hint, capsys)


# ------------------------------------------------------------------ a hand all-reduce

def ring_allreduce_ok(grads, rs=lambda r, step: r - step, ag=lambda r, step: r + 1 - step):
    """Ring all-reduce: reduce-scatter then all-gather over N chunks, then divide by N (rs, ag: chunk sent by rank r)."""
    n = len(grads)
    chunks = [np.array_split(g.astype(float).copy(), n) for g in grads]
    for step in range(n - 1):                                  # reduce-scatter
        sends = [(r, rs(r, step) % n, chunks[r][rs(r, step) % n].copy()) for r in range(n)]
        for r, c, data in sends:
            chunks[(r + 1) % n][c] += data
    for step in range(n - 1):                                  # all-gather
        sends = [(r, ag(r, step) % n, chunks[r][ag(r, step) % n].copy()) for r in range(n)]
        for r, c, data in sends:
            chunks[(r + 1) % n][c] = data
    return [np.concatenate(c) / n for c in chunks]


def test_allreduce_accepts_a_ring_and_a_plain_mean(capsys):
    passes(C.check_allreduce, ring_allreduce_ok, capsys)
    passes(C.check_allreduce, lambda g: [np.mean(g, axis=0) for _ in g], capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda g: [np.sum(g, axis=0) for _ in g], "summed"),
    (lambda g: [np.mean(g, axis=0)] + [x.copy() for x in g[1:]], "ALL-reduce"),
    (lambda g: [np.full_like(x, x.mean()) for x in g], "over its elements"),
    (lambda g: [np.mean(g, axis=0)] * len(g), "ONE array"),
    (lambda g: ring_allreduce_ok(g, rs=lambda r, step: r + step), "wrong order"),
    (lambda g: ring_allreduce_ok(g, ag=lambda r, step: r - step), "wrong order"),
    (lambda g: ring_allreduce_ok(g, rs=lambda r, step: step), "wrong order"),
    (lambda g: np.mean(g, axis=0), "one array per rank"),
    (_stub, "not implemented yet"),
])
def test_allreduce_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_allreduce, mistake, hint, capsys)


def test_allreduce_rejects_mutation(capsys):
    def in_place(g):
        m = np.mean(g, axis=0)
        for x in g:
            x[:] = m
        return g
    fails(C.check_allreduce, in_place, "changed the ranks' input", capsys)


# ------------------------------------------------------------------ DistributedSampler's shards

def shard_ok(n, world, rank, epoch, seed):
    import torch
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    total = math.ceil(n / world) * world
    order = (order * math.ceil(total / n))[:total]
    return order[rank:total:world]


def test_shards_accept_the_sampler_rule(capsys):
    passes(C.check_shard_indices, shard_ok, capsys)


def _block(n, world, rank, epoch, seed):
    order = shard_ok(n, 1, 0, epoch, seed)
    size = math.ceil(n / world)
    order = (order * world)[:size * world]
    return order[rank * size:(rank + 1) * size]


@pytest.mark.parametrize("mistake, hint", [
    (_block, "not a block"),
    (lambda n, w, r, e, s: shard_ok(n, 1, 0, e, s)[r::w], "pad the shuffled list"),
    (lambda n, w, r, e, s: shard_ok(n, w, r, 0, s), "ignores the epoch"),
    (lambda n, w, r, e, s: ((list(range(n)) * w)[:math.ceil(n / w) * w])[r::w], "not shuffled"),
    (lambda n, w, r, e, s: shard_ok(n, w, r, e, s + 1), "other indices"),
    (lambda n, w, r, e, s: None, "list of integer"),
    (_stub, "not implemented yet"),
])
def test_shards_reject_typical_mistakes(mistake, hint, capsys):
    fails(C.check_shard_indices, mistake, hint, capsys)


# ------------------------------------------------------------------ ring all-reduce traffic

def traffic_ok(n, world, b):
    return 2 * (world - 1) / world * n * b


def test_traffic_accepts_the_formula(capsys):
    passes(C.check_ring_traffic, traffic_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda n, w, b: (w - 1) / w * n * b, "reduce-scatter half"),
    (lambda n, w, b: 2 * (w - 1) * n * b, "CHUNK"),
    (lambda n, w, b: 2 * w * (n / w) * b, "N-1 steps, not N"),
    (lambda n, w, b: 2 * (w - 1) / w * n, "bytes per value"),
    (lambda n, w, b: (w - 1) * n * b, "all-to-all"),
    (lambda n, w, b: n * b, "2(N-1) chunks"),
    (_stub, "not implemented yet"),
])
def test_traffic_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_ring_traffic, mistake, hint, capsys)
