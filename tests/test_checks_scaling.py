"""Notebook 12's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import math

import pytest
import torch

from helpers.checks import scaling as C
from checker_util import fails, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ gradient accumulation

def accum(weight=lambda rows, n, k: rows / n, zero="before", whole=False):
    """A learner's accumulation loop; weight(rows, n, k) scales each micro-batch's mean loss."""
    def fn(model, loss_fn, X, y, micro):
        if zero == "before":
            model.zero_grad()
        if whole:
            model(X)
        starts = range(0, len(X), micro)
        for i in starts:
            if zero == "inside":
                model.zero_grad()
            xb, yb = X[i:i + micro], y[i:i + micro]
            (loss_fn(model(xb), yb) * weight(len(xb), len(X), len(starts))).backward()
    return fn


def accum_split(model, loss_fn, X, y, micro):
    for p in model.parameters():
        p.grad = None
    total = 0.0
    for xb, yb in zip(torch.split(X, micro), torch.split(y, micro)):
        loss = loss_fn(model(xb), yb) * len(xb) / len(X)
        loss.backward()
        total += loss.item()
    return total


@pytest.mark.parametrize("fn", [accum(), accum_split])
def test_accumulation_accepts_right_loops(fn, capsys):
    passes(C.check_accumulation, fn, capsys)


def stepped(model, loss_fn, X, y, micro):
    accum()(model, loss_fn, X, y, micro)
    torch.optim.SGD(model.parameters(), lr=0.1).step()


def whole_batch(model, loss_fn, X, y, micro):
    model.zero_grad()
    loss_fn(model(X), y).backward()


@pytest.mark.parametrize("fn, hint", [
    (accum(weight=lambda rows, n, k: 1), "scale it by its share"),
    (accum(weight=lambda rows, n, k: 1 / k), "not the mean over the rows"),
    (accum(zero="inside"), "throws away the earlier"),
    (accum(zero="inside", weight=lambda rows, n, k: 1), "throws away the earlier"),
    (accum(zero="never"), "clear the gradients left from before"),
    (accum(zero="never", weight=lambda rows, n, k: 1), "clear the gradients left from before"),
    (accum(weight=lambda rows, n, k: rows), "SUM of the losses"),
    (whole_batch, "whole batch at once"),
    (accum(whole=True), "whole batch at once"),
    (lambda model, loss_fn, X, y, micro: model.zero_grad(), ".grad is None"),
    (lambda model, loss_fn, X, y, micro: None, "still hold what was in them"),
    (stepped, "no optimizer step"),
    (accum(weight=lambda rows, n, k: rows / n * 1.01), "differ from those of the mean loss"),
    (_stub, "not implemented yet"),
])
def test_accumulation_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_accumulation, fn, hint, capsys)


# ------------------------------------------------------------------ a binomial-tree all-reduce

def tree_ok(n, world, b):
    rounds = math.ceil(math.log2(world))
    return 2 * rounds, rounds * n * b


def tree_loop(n, world, b):
    rounds = 0
    while 2 ** rounds < world:
        rounds += 1
    return float(2 * rounds), rounds * (n * b)


@pytest.mark.parametrize("fn", [tree_ok, tree_loop])
def test_tree_accepts_right_answers(fn, capsys):
    passes(C.check_tree_allreduce, fn, capsys)


def L(w):
    return math.ceil(math.log2(w))


@pytest.mark.parametrize("fn, hint", [
    (lambda n, w, b: (L(w), L(w) * n * b), "count the broadcast rounds too"),
    (lambda n, w, b: (2 * math.floor(math.log2(w)), L(w) * n * b), "round log2 N up"),
    (lambda n, w, b: (2 * math.log2(w), L(w) * n * b), "round log2 N up"),
    (lambda n, w, b: (2 * L(w) + 0.5, L(w) * n * b), "a whole number"),
    (lambda n, w, b: (2 * L(w) + 2, L(w) * n * b), "number of steps is wrong"),
    (lambda n, w, b: (2 * L(w), 2 * (w - 1) / w * n * b), "not a 1/N chunk"),
    (lambda n, w, b: (2 * L(w), 2 * L(w) * n * b), "receiving is not sending"),
    (lambda n, w, b: (2 * L(w), 2 * (w - 1) * n * b), "all ranks together;"),
    (lambda n, w, b: (2 * L(w), (w - 1) * n * b), "all ranks together in one phase"),
    (lambda n, w, b: (2 * L(w), L(w) * n), "bytes per value"),
    (lambda n, w, b: (2 * L(w), 1.5 * L(w) * n * b), "busiest rank sends another number"),
    (lambda n, w, b: 2 * L(w), "return a pair"),
    (lambda n, w, b: (2 * L(w), L(w) * n * b, 0), "return a pair"),
    (_stub, "not implemented yet"),
])
def test_tree_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_tree_allreduce, fn, hint, capsys)


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


# ------------------------------------------------------------------ the largest model ZeRO-3 fits

def largest_ok(gpu, world, reserved, offload):
    per_param = 2 + 2 + (0 if offload else 4 + 4 + 4)
    return max(0, (gpu - reserved) * world // per_param)


def largest_float(gpu, world, reserved, offload):
    return float(max(0, math.floor((gpu - reserved) / (4 if offload else 16) * world)))


@pytest.mark.parametrize("fn", [largest_ok, largest_float])
def test_largest_accepts_right_answers(fn, capsys):
    passes(C.check_largest_model, fn, capsys)


def per(bytes_on, bytes_off=4, reserve=True, shard=True, floor=True, clamp=True):
    """A learner's answer with per-parameter bytes (bytes_on without offloading, bytes_off with) and some mistakes."""
    def fn(gpu, world, reserved, offload):
        free = (gpu - reserved) if reserve else gpu
        total = free * (world if shard else 1)
        b = bytes_off if offload else bytes_on
        out = total // b if floor else -(-total // b)
        return max(0, out) if clamp else out
    return fn


@pytest.mark.parametrize("fn, hint", [
    (per(16, reserve=False), "keep reserved_bytes free on every GPU"),
    (lambda g, w, r, o: (g * w - r) // (4 if o else 16), "not once for the whole group"),
    (per(12), "fp32 master copy"),
    (per(16, shard=False), "each worker holds 1/N"),
    (lambda g, w, r, o: (g - r) * w // (4 * w + 12), "sharded over the GPUs too"),
    (lambda g, w, r, o: (g - r) * w // (2 * w + 14), "sharded over the GPUs too"),
    (lambda g, w, r, o: (g - r) * w // (2 * w + 2 if o else 16), "sharded over the GPUs too"),
    (per(20), "16-bit (2 bytes each)"),
    (per(18), "16-bit (2 bytes each)"),
    (per(4), "without offloading, Adam's state"),
    (per(2), "count the gradients and Adam's state"),
    (per(16, 16), "offloaded optimizer state is in CPU memory"),
    (per(16, 2), "16-bit gradients stay on the GPU"),
    (per(16, 8), "fp32 master weights included"),
    (per(16, floor=False), "rounded down"),
    (lambda g, w, r, o: (g - r) * w / (4 if o else 16), "round down"),
    (lambda g, w, r, o: round((g - r) * w / (4 if o else 16)), "rounded down"),
    (per(16, clamp=False), "never negative"),
    (per(17), "a different count"),
    (lambda g, w, r, o: [largest_ok(g, w, r, o)], "return one whole number"),
    (_stub, "not implemented yet"),
])
def test_largest_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_largest_model, fn, hint, capsys)
