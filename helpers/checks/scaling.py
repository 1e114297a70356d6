"""Exercise checkers of notebook 12 (scaling out), on the framework of helpers.checks."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data.distributed import DistributedSampler

from . import _checker, _close, _diagnose, _Fail, _result


def _pair(out):
    """The learner's (effective batch, learning rate) as two floats."""
    try:
        b, lr = out
        return float(b), float(lr)
    except (TypeError, ValueError):
        raise _Fail("return a pair (effective_batch, learning_rate)") from None


@_checker
def check_scaled_lr(fn) -> bool:
    """Check fn(per_device_batch, n_devices, accum_steps, base_lr, base_batch) -> (effective batch, linearly scaled lr)."""
    cases = [(64, 8, 1, 0.1, 256), (32, 2, 4, 0.4, 512), (128, 16, 2, 0.05, 1024), (256, 1, 1, 0.2, 256),
             (16, 4, 8, 3e-4, 128)]
    for b, n, k, lr0, b0 in cases:
        eff, lr = _pair(fn(b, n, k, lr0, b0))
        want_eff, want_lr = b * n * k, lr0 * b * n * k / b0
        if eff != want_eff:
            for hint, cand in [("the accumulation steps also multiply the batch an optimiser step sees", b * n),
                               ("every device (process) adds its own batch: multiply by the number of devices",
                                b * k),
                               ("that is one device's batch: the optimiser step averages over all of them", b)]:
                if eff == cand:
                    raise _Fail(hint)
            raise _Fail(f"the effective batch for {b} per device, {n} devices, {k} accumulation steps is wrong")
        if _close(lr, want_lr, 1e-9):
            continue
        alone = ("you scaled the learning rate by the number of devices alone: the per-device batch (and the "
                 "accumulation) count too, compared with base_batch")
        _diagnose(np.float64(lr), np.float64(want_lr), [
            ("that is the square-root rule; this exercise asks for the linear rule (lr grows like the batch)",
             lr0 * math.sqrt(want_eff / b0)),
            ("the ratio is upside down: a larger batch gets a LARGER learning rate", lr0 * b0 / want_eff),
            ("the learning rate is unchanged: scale it with the effective batch", lr0),
            ("scale by the effective batch, not by one device's", lr0 * b / b0),
            (alone, lr0 * n), (alone, lr0 * n * k)],
            "the learning rate does not follow lr = base_lr x effective_batch / base_batch")
    print(f"PASS check_scaled_lr: right on {len(cases)} hidden set-ups")
    return True


def _partial_chunk(o, grads):
    """A chunk (np.array_split into N) of o that is a sum over only some ranks / N, with those ranks; else None."""
    n, partial = len(grads), None
    subsets = [[s for s in range(n) if m >> s & 1] for m in range(1, 2 ** n)]
    for c, idx in enumerate(np.array_split(np.arange(len(o)), n)):
        if idx.size == 0:
            continue
        match = next((S for S in subsets if _close(o[idx], sum(grads[s][idx] for s in S) / n, 1e-9)), None)
        if match is None:
            return None
        if len(match) < n and partial is None:
            partial = (c, match)
    return partial


@_checker
def check_allreduce(fn) -> bool:
    """Check fn(grads: list of per-rank arrays) -> list of per-rank arrays, each the mean over ranks (all-reduce)."""
    rng = np.random.default_rng(1201)
    for world, size in [(2, 10), (3, 7), (4, 12), (5, 3), (1, 4)]:
        grads = [rng.normal(size=size) for _ in range(world)]
        copies = [g.copy() for g in grads]
        out = fn(copies)
        if not all(np.array_equal(a, b) for a, b in zip(copies, grads)):
            raise _Fail("your function changed the ranks' input gradients; build new arrays")
        if not isinstance(out, (list, tuple)) or len(out) != world:
            raise _Fail(f"return one array per rank: a list of {world} arrays for {world} ranks")
        outs = [_result(o, (size,), f"array of rank {r}") for r, o in enumerate(out)]
        mean = np.mean(grads, axis=0)
        for r, o in enumerate(outs):
            if _close(o, mean, 1e-9):
                continue
            cands = [("you summed the gradients; DDP averages them (divide by the number of ranks)", np.sum(grads, 0)),
                     ("that rank kept its own gradient: every rank must receive the result (ALL-reduce, not reduce)",
                      grads[r]),
                     ("that is the mean of each rank's vector over its elements, not over the ranks",
                      np.full(size, np.mean(grads[r])))]
            partial = _partial_chunk(o, grads)
            if partial is not None:
                c, S = partial
                cands.append((f"rank {r}'s chunk {c} holds the sum of ranks {S} only, divided by N: the chunks go "
                              "round the ring in the wrong order (from the second step on, a rank passes on the "
                              "chunk it has just received)", o))
            _diagnose(o, mean, cands, f"rank {r} does not hold the mean of all ranks' gradients")
        if world > 1 and any(outs_ is out[0] for outs_ in out[1:]):
            raise _Fail("several ranks share ONE array object: each rank holds its own copy of the result")
    print("PASS check_allreduce: every rank gets the average gradient for 1 to 5 ranks")
    return True


def _reference_shard(n, world, rank, epoch, seed):
    """What torch's DistributedSampler(shuffle=True, drop_last=False) gives rank `rank` in `epoch`."""
    s = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=False)
    s.set_epoch(epoch)
    return list(s)


def _padded(order, total):
    """`order` extended to `total` items by repeating it from its start (DistributedSampler's padding)."""
    return (order * math.ceil(total / len(order)))[:total]


@_checker
def check_shard_indices(fn) -> bool:
    """Check fn(n, world, rank, epoch, seed) -> this rank's sample indices, exactly as DistributedSampler gives them."""
    for n, world, epoch, seed in [(10, 2, 0, 0), (11, 3, 1, 0), (7, 4, 2, 5), (20, 4, 3, 1), (3, 4, 0, 2)]:
        size = math.ceil(n / world)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        stale = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        for rank in range(world):
            want = _reference_shard(n, world, rank, epoch, seed)
            try:
                got = [int(i) for i in fn(n, world, rank, epoch, seed)]
            except TypeError:
                raise _Fail("return a list of integer indices") from None
            if got == want:
                continue
            for hint, cand in [
                    ("ranks take interleaved indices (every world-th, starting at the rank), not a block",
                     _padded(perm, size * world)[rank * size:(rank + 1) * size]),
                    ("each rank needs ceil(n / world) indices: pad the shuffled list by repeating its first "
                     "indices before taking every world-th one", perm[rank::world]),
                    ("the shuffle ignores the epoch: seed the generator with seed + epoch, so that every epoch "
                     "(set_epoch) sees a new order", _padded(stale, size * world)[rank::world]),
                    ("the indices are not shuffled: permute them with torch.randperm first",
                     _padded(list(range(n)), size * world)[rank::world])]:
                if got == cand and cand != want:
                    raise _Fail(hint)
            raise _Fail(f"rank {rank} of {world} (n={n}, epoch {epoch}) gets other indices than DistributedSampler")
    print("PASS check_shard_indices: the same shards as torch's DistributedSampler on 5 hidden set-ups")
    return True


@_checker
def check_ring_traffic(fn) -> bool:
    """Check fn(n_values, world, bytes_per_value) -> bytes each rank sends in one ring all-reduce."""
    # a ring of 4 first: with N = 2, 2N chunks of 1/N and 2(N-1) whole tensors are the same number
    cases = [(3_000, 4, 4), (1_000_000, 2, 4), (25_000_000, 8, 2), (10_000, 1, 4), (7_000_000, 64, 4)]
    for n, world, b in cases:
        out = float(_result(fn(n, world, b), (), "byte count"))
        want = 2 * (world - 1) / world * n * b
        if _close(out, want, 1e-9):
            continue
        _diagnose(np.float64(out), np.float64(want), [
            ("that is only the reduce-scatter half; the all-gather phase sends as much again", want / 2),
            ("each of the 2(N-1) ring steps sends one CHUNK (1/N of the tensor), not the whole tensor",
             2 * (world - 1) * n * b),
            ("each phase of the ring takes N-1 steps, not N: after N-1 passes a chunk has visited every rank",
             2 * n * b),
            ("count bytes, not values: multiply by the bytes per value", want / b),
            ("that is a naive all-to-all (every rank sends its whole gradient to every other)", (world - 1) * n * b)],
            "in a ring of N ranks each sends 2(N-1) chunks of 1/N of the tensor")
    print(f"PASS check_ring_traffic: right on {len(cases)} hidden rings")
    return True
