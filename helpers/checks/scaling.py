"""Exercise checkers of notebook 12 (scaling out), on the framework of helpers.checks."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data.distributed import DistributedSampler

from . import _checker, _close, _diagnose, _Fail, _hint

__all__ = ["check_accumulation", "check_tree_allreduce", "check_shard_indices", "check_largest_model"]


def _unless(want, candidates):
    """The (hint, candidate) pairs with candidates equal to the right answer blanked out (None)."""
    return [(hint, None if c is None or _close(c, want, 1e-6) else c) for hint, c in candidates]


# ----------------------------------------------------------------------------- gradient accumulation

def _mlp():
    """A small two-layer network (no BatchNorm: its batch statistics would differ between micro-batches)."""
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4))


def _mean_grad(model, loss_fn, X, y):
    """All of model's gradients of loss_fn(model(X), y), flattened into one float64 NumPy vector."""
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy().copy()


@_checker
def check_accumulation(fn) -> bool:
    """Check fn(model, loss_fn, X, y, micro): p.grad = gradient of the mean loss over (X, y), micro-batch by micro-batch."""
    loss_fn = nn.CrossEntropyLoss()
    cases = [(lambda: nn.Linear(5, 3), 5, 3, 12, 4), (_mlp, 6, 4, 10, 4), (lambda: nn.Linear(4, 2), 4, 2, 7, 7),
             (_mlp, 6, 4, 5, 8)]
    for seed, (make, d_in, classes, n, micro) in enumerate(cases):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1200 + seed)
            model = make().double()
            X, y = torch.randn(n, d_in, dtype=torch.float64), torch.randint(0, classes, (n,))
        want = _mean_grad(model, loss_fn, X, y)
        parts = [(len(X[i:i + micro]), _mean_grad(model, loss_fn, X[i:i + micro], y[i:i + micro]))
                 for i in range(0, n, micro)]
        params = [p.detach().clone() for p in model.parameters()]
        for p in model.parameters():
            p.grad = torch.ones_like(p)                     # gradients left over from an earlier step
        rows = []
        hook = model.register_forward_pre_hook(lambda m, args: rows.append(len(args[0]) if args else 0))
        try:
            fn(model, loss_fn, X.clone(), y.clone(), micro)
        finally:
            hook.remove()
        if rows and max(rows) > micro:
            raise _Fail(f"the model ran on {max(rows)} rows at once, more than micro = {micro}: run the micro-batches "
                        "one at a time (the whole batch at once is what accumulation avoids)")
        if any(not torch.equal(p.detach(), q) for p, q in zip(model.parameters(), params)):
            raise _Fail("the parameters changed: fill in the gradients only, take no optimizer step")
        if any(p.grad is None for p in model.parameters()):
            raise _Fail("after your function some parameters have no gradient (.grad is None): call backward on "
                        "every micro-batch's loss")
        got = torch.cat([p.grad.detach().reshape(-1) for p in model.parameters()]).numpy()
        if _close(got, want, 1e-9):
            continue
        k, old, last = len(parts), np.ones_like(want), parts[-1][1]
        unscaled = sum(g for _, g in parts)
        zeroed = "zero_grad inside the loop throws away the earlier micro-batches' gradients"
        cands = [("the gradients still hold what was in them before your function ran: call backward on every "
                  "micro-batch's loss", old),
                 ("clear the gradients left from before first: .grad held other values when your function was "
                  "called, and backward adds to them", want + old),
                 ("each micro-batch's loss is a mean over its rows: scale it by its share of the batch before "
                  "backward", unscaled),
                 ("the last micro-batch is smaller: weighting every micro-batch by 1/number of micro-batches is not "
                  "the mean over the rows; weight each by its share of the rows", unscaled / k),
                 (zeroed, last), (zeroed, last * parts[-1][0] / n), (zeroed, last / k),
                 ("that is the gradient of the SUM of the losses over the batch; the mean divides by the batch "
                  "size", n * want)]
        cands += [("clear the gradients left from before first: backward adds to what .grad already holds", c + old)
                  for _, c in cands[2:]]
        _diagnose(got, want, _unless(want, cands), f"with {n} rows in micro-batches of {micro} the gradients differ "
                  "from those of the mean loss over the whole batch")
    print(f"PASS check_accumulation: the full-batch gradient on {len(cases)} hidden batches, micro-batch by micro-batch")
    return True


# ----------------------------------------------------------------------------- a binomial-tree all-reduce

def _tree(world):
    """Simulate a binomial-tree all-reduce on `world` ranks: (number of rounds, most messages one rank sends)."""
    has, sent, ks, k = [{r} for r in range(world)], [0] * world, [], 0   # has: whose values a rank's buffer sums
    while 2 ** k < world:                                   # reduce: rank r sends its partial sum to r - 2**k
        for r in range(world):
            if r % 2 ** (k + 1) == 2 ** k:
                has[r - 2 ** k] |= has[r]
                sent[r] += 1
        ks, k = ks + [k], k + 1
    for k in reversed(ks):                                  # broadcast: rank r - 2**k sends the sum to r
        for r in range(world):
            if r % 2 ** (k + 1) == 2 ** k:
                has[r] = set(has[r - 2 ** k])
                sent[r - 2 ** k] += 1
    assert all(h == set(range(world)) for h in has)         # every rank ends with the sum of all
    return 2 * len(ks), max(sent)


def _two(out):
    """The learner's (steps, bytes) as two floats."""
    try:
        steps, nbytes = out
        return float(steps), float(nbytes)
    except (TypeError, ValueError):
        raise _Fail("return a pair (steps, bytes)") from None


@_checker
def check_tree_allreduce(fn) -> bool:
    """Check fn(n_values, world, bytes_per_value) -> (steps, bytes the busiest rank sends) of a binomial-tree all-reduce."""
    cases = [(1_234_567, 5, 4), (3_000, 12, 2), (25_000_000, 8, 2), (10_000, 1, 4), (999, 2, 4), (7, 3, 1),
             (7_000_001, 64, 2)]
    for n, world, b in cases:
        steps, nbytes = _two(fn(n, world, b))
        want_steps, most = _tree(world)
        size, L, lg = n * b, want_steps // 2, math.log2(world)
        if steps != want_steps:
            if world > 1 and steps == L:
                raise _Fail("an all-reduce must also bring the sum back to every rank: count the broadcast rounds too")
            if any(_close(steps, c, 1e-9) for c in (2 * math.floor(lg), math.floor(2 * lg), 2 * lg, round(2 * lg),
                                                     math.ceil(2 * lg), 2 * round(lg), lg, math.floor(lg))):
                raise _Fail("when N is not a power of two the tree needs one more round: round log2 N up")
            if not steps.is_integer():
                raise _Fail(f"steps counts rounds, a whole number, not {steps:g}")
            raise _Fail(f"with N = {world} ranks the number of steps is wrong: count the reduce rounds (until "
                        "2**k >= N), then the broadcast rounds")
        want = most * size
        if _close(nbytes, want, 1e-9):
            continue
        _hint(nbytes, _unless(want, [
            ("in a tree every message carries the whole tensor, not a 1/N chunk as in the ring",
             2 * (world - 1) / world * size),
            ("no rank sends in every round of both phases: count only the rounds in which the busiest rank sends "
             "(receiving is not sending)", 2 * L * size),
            ("that is the traffic of all ranks together; the question is the busiest rank's", 2 * (world - 1) * size),
            ("that is the traffic of all ranks together in one phase; the question is the busiest rank's",
             (world - 1) * size),
            ("count bytes, not values: multiply by the bytes per value", L * n)]),
            f"with N = {world} ranks the busiest rank sends another number of bytes: follow the rounds and count the "
            "messages it sends, each of S = n_values x bytes_per_value bytes")
    print(f"PASS check_tree_allreduce: right for {len(cases)} hidden trees of 1 to 64 ranks")
    return True


# ----------------------------------------------------------------------------- DistributedSampler's shards
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


# ----------------------------------------------------------------------------- the largest model ZeRO-3 fits

def _count(got):
    """The learner's parameter count as an int; FAIL unless it is a whole number."""
    if isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
        return int(got)
    try:
        f = float(got)
    except (TypeError, ValueError):
        raise _Fail(f"return one whole number (the parameter count), not {type(got).__name__}") from None
    if not f.is_integer():
        raise _Fail(f"{f:,.2f} is not a whole number of parameters: round down (a parameter fits whole or not at all)")
    return int(f)


@_checker
def check_largest_model(fn) -> bool:
    """Check fn(gpu_bytes, world, reserved_bytes, offload_optimizer) -> the most parameters ZeRO-3 + mixed-precision Adam fits."""
    gib = 2 ** 30
    cases = [(80_000_000_000, 8, 9_999_999_999, False), (24 * gib, 1, 2 * gib + 12_345, True),
             (80_000_000_000, 8, 10_000_000_000, False), (40_000_000_000, 4, 5_000_000_001, True),
             (16 * gib, 2, 20_000_000_000, False), (141_000_000_000, 64, 7_777_777_777, False),
             (12_345_678_901, 3, 0, False), (80_000_000_000, 8, 10_000_000_000, True)]
    for gpu, world, reserved, offload in cases:
        got = _count(fn(gpu, world, reserved, offload))
        total, per = (gpu - reserved) * world, 4 if offload else 16       # bytes free on all GPUs together
        want = max(0, total // per)
        if got == want:
            continue
        if want == 0 and got < 0:
            raise _Fail("here the reserve takes more than the whole GPU: no parameter fits, and a count is never "
                        "negative")
        on, off = (None, total) if offload else (total, None)
        sharded = ("at ZeRO-3 the 16-bit weights and gradients are sharded over the GPUs too, not only the "
                   "optimizer state")
        fp32 = ("in mixed precision the weights and gradients the GPU computes with are 16-bit (2 bytes each); fp32 "
                "is kept in the optimizer state only")
        cands = [
            ("a count of parameters is rounded down: a parameter fits whole or not at all", -(-total // per)),
            ("keep reserved_bytes free on every GPU (activations, buffers): only the rest holds the model's state",
             gpu * world // per),
            ("reserved_bytes is kept on EVERY GPU, not once for the whole group", (gpu * world - reserved) // per),
            ("ZeRO-3 shards everything: each worker holds 1/N of it", (gpu - reserved) // per if world > 1 else None),
            ("mixed-precision Adam also keeps an fp32 master copy of the weights", on and on // 12),
            (sharded, on and on // (4 * world + 12)), (sharded, on and on // (2 * world + 14)),
            (sharded, off and off // (2 * world + 2)),
            (fp32, on and on // 20), (fp32, on and on // 18),
            ("without offloading, Adam's state (fp32 master weights, m and v) is in GPU memory too", on and on // 4),
            ("training keeps more than the weights: count the gradients and Adam's state too", on and on // 2),
            ("offloaded optimizer state is in CPU memory: the GPU keeps only the 16-bit weights and gradients",
             off and off // 16),
            ("the 16-bit gradients stay on the GPU along with the weights", off and off // 2),
            ("all 12 bytes of optimizer state are offloaded, the fp32 master weights included", off and off // 8)]
        default = (f"for {world} GPU(s) of {gpu:,} bytes with {reserved:,} reserved on each and the optimizer "
                   f"{'offloaded' if offload else 'on the GPU'}: got {got:,}, a different count")
        raise _Fail(next((hint for hint, c in cands if c is not None and c != want and c == got), default))
    print(f"PASS check_largest_model: right on {len(cases)} hidden clusters, with and without offloading")
    return True
