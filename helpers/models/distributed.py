"""Data-parallel training of the CIFAR-10 FastNet with DistributedDataParallel: the worker torchrun starts.

One machine, N processes (gloo on CPU, NCCL on GPUs; torchrun picks a free port):

    torchrun --standalone --nproc-per-node=2 -m helpers.models.distributed --epochs 2 --batch 256

Several machines: the same command on every node, with a rendezvous every node can reach:

    torchrun --nnodes=2 --node-rank=0 --nproc-per-node=8 --rdzv-backend=c10d \\
             --rdzv-endpoint=node0.example:29400 --rdzv-id=cifar-42 -m helpers.models.distributed ...

Each rank reads the data itself, trains on its DistributedSampler shard of every global batch, and
DDP averages the gradients (all-reduce) so that the replicas stay identical. Rank 0 logs, writes
atomic checkpoints every `--save-every` steps (weights, optimiser, schedule, scaler, the position in
the epoch and every rank's RNG states) and the results. A run started again with the same
`--checkpoint` resumes where the last checkpoint left off, mid-epoch included, and ends with the same
weights as an uninterrupted run. `launch()` starts torchrun from Python (one thread per worker).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import TensorDataset
from torch.utils.data.distributed import DistributedSampler

from ..data import standin_used
from ..data.cifar import CIFAR10_CLASSES, load_cifar10, standin_images
from ..device import autocast, grad_scaler, precision_name, set_threads
from ..train import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ..train import step as train_step
from . import fastnet
from .augment import augment, normalize, to_tensors
from .fastcifar import triangle

TORCHRUN = Path(sys.executable).with_name("torchrun")


def parse_args(argv=None) -> argparse.Namespace:
    """The worker's options (see `python -m helpers.models.distributed --help`)."""
    p = argparse.ArgumentParser(prog="python -m helpers.models.distributed", description=__doc__.splitlines()[0])
    a = p.add_argument
    a("--data", choices=["cifar10", "synthetic"], default="cifar10", help="synthetic: generated images (tests)")
    a("--standin-ok", action="store_true", help="CIFAR-10 unavailable: use the generated stand-in (quick mode)")
    a("--subset", type=int, default=0, help="train on this many images (0: all)")
    a("--test-subset", type=int, default=2000, help="evaluate on this many test images (0: all)")
    a("--widths", type=int, nargs=3, default=(32, 64, 64), help="FastNet's three group widths")
    a("--no-batchnorm", action="store_true", help="FastNet without BatchNorm (replicas then see global statistics)")
    a("--sync-bn", action="store_true", help="SyncBatchNorm: batch statistics over all ranks (GPUs only)")
    a("--epochs", type=int, default=2)
    a("--batch", type=int, default=256, help="GLOBAL batch size (split evenly over the ranks)")
    a("--lr", type=float, default=0.4, help="peak learning rate for the global batch")
    a("--momentum", type=float, default=0.9)
    a("--optimizer", choices=["sgd", "adam"], default="sgd", help="SGD with Nesterov momentum, or Adam")
    a("--zero", action="store_true", help="ZeRO stage 1: shard the optimizer state over the ranks "
      "(ZeroRedundancyOptimizer; no --checkpoint)")
    a("--check-sync", action="store_true", help="compare every rank's weights with rank 0's after every step")
    a("--weight-decay", type=float, default=5e-4)
    a("--augment", action="store_true", help="random flips and 2-pixel shifts (a per-rank generator)")
    a("--amp", default="none", help="precision policy of helpers.device: none, auto, bf16, fp16")
    a("--seed", type=int, default=0)
    a("--device", default="auto", help="auto (a GPU per rank when every rank of the node gets one, else CPU), cpu")
    a("--checkpoint", default=None, help="checkpoint path: resumed from when it exists")
    a("--save-every", type=int, default=0, help="save a checkpoint every k optimiser steps (0: each epoch end)")
    a("--out", default=None, help="rank 0 writes the results (JSON) here")
    a("--final", default=None, help="rank 0 saves the final weights here")
    a("--timeout", type=float, default=60.0, help="seconds a collective may wait for the others before failing")
    a("--log-every", type=int, default=0, help="rank 0 prints progress every k steps (0: once an epoch)")
    a("--crash-rank", type=int, default=-1, help="TEST ONLY: this rank fails ...")
    a("--crash-step", type=int, default=-1, help="TEST ONLY: ... after this optimiser step ...")
    a("--crash-how", choices=["exit", "raise", "kill", "hang"], default="exit", help="TEST ONLY: ... this way")
    return p.parse_args(argv)


def torchrun_command(nproc: int, args=(), nnodes: int = 1, node_rank: int = 0, endpoint: str | None = None,
                     job_id: str = "dlc-ddp") -> list[str]:
    """The torchrun command line: standalone (a free port) on one node, a c10d rendezvous across nodes."""
    cmd = [str(TORCHRUN) if TORCHRUN.exists() else "torchrun"]
    if nnodes == 1 and endpoint is None:
        cmd += ["--standalone", "--nnodes=1"]
    else:
        cmd += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", "--rdzv-backend=c10d",
                f"--rdzv-endpoint={endpoint}", f"--rdzv-id={job_id}"]
    return cmd + [f"--nproc-per-node={nproc}", "--max-restarts=0", "-m", "helpers.models.distributed", *map(str, args)]


def launch(nproc: int, args=(), threads: int = 1, timeout: float = 300, quiet: bool = False):
    """Run torchrun with `nproc` workers of `threads` threads each; return the CompletedProcess (output captured)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "DLC_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    env.pop("TORCHELASTIC_ERROR_FILE", None)             # (set when this Python itself runs under torchrun)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.run(torchrun_command(nproc, args), capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=root)
    proc.seconds = time.perf_counter() - t0
    if not quiet:
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[rank 0]")]
        print("\n".join(lines) + f"\n(torchrun exit code {proc.returncode}, {proc.seconds:.1f} s)")
    return proc


def failure_summary(stderr: str, lines: int = 12) -> str:
    """The lines of torchrun's error report that name the failed rank, its exit code and its error."""
    keep = [ln for ln in stderr.splitlines()
            if any(k in ln for k in ("rank", "exitcode", "Error", "error_file", "Signal", "signal", "Traceback"))]
    return "\n".join(keep[-lines:])


# ------------------------------------------------------------------------------------------- data
def load_data(args):
    """(X_train uint8 NCHW, y_train, X_test, y_test) as torch tensors; every rank loads the same arrays."""

    if args.data == "synthetic":
        tr = standin_images("train", CIFAR10_CLASSES, args.subset or 2048, seed=args.seed)
        te = standin_images("test", CIFAR10_CLASSES, args.test_subset or 1000, seed=args.seed)
    else:
        tr, te = load_cifar10("train", args.standin_ok), load_cifar10("test", args.standin_ok)
    (X, y, _), (Xt, yt, _) = tr, te
    rng = np.random.default_rng(args.seed)               # random subsets: the files may be sorted by class
    if args.subset and args.subset < len(X):
        keep = rng.permutation(len(X))[:args.subset]
        X, y = X[keep], y[keep]
    if args.test_subset and args.test_subset < len(Xt):
        keep = rng.permutation(len(Xt))[:args.test_subset]
        Xt, yt = Xt[keep], yt[keep]
    return (*to_tensors(X, y), *to_tensors(Xt, yt))


# ------------------------------------------------------------------------------------------- the worker
def _crash_if_asked(args, rank: int, step: int):
    """TEST ONLY fault injection: rank `--crash-rank` fails after step `--crash-step` in the chosen way."""
    if rank != args.crash_rank or step != args.crash_step:
        return
    print(f"[rank {rank}] injected failure ({args.crash_how}) after step {step}", flush=True)
    if args.crash_how == "exit":
        os._exit(1)
    if args.crash_how == "kill":
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    if args.crash_how == "hang":
        time.sleep(3600)
    raise RuntimeError(f"injected failure on rank {rank} after step {step}")


def _save(args, ctx, model, opt, sched, scaler, gen, pos, history, loss_sum):
    """Gather every rank's RNG states and partial loss on rank 0, which writes the checkpoint atomically."""

    rank, world = ctx["rank"], ctx["world"]
    states = [None] * world if rank == 0 else None
    dist.gather_object({"rng": rng_state(gen), "partial_loss": float(loss_sum)}, states, dst=0)
    if rank == 0:
        save_checkpoint(args.checkpoint, {
            "model": model.module.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(), "ranks": states, "world_size": world, "batch": args.batch,
            "epoch": pos[0], "step_in_epoch": pos[1], "global_step": pos[2], "history": history})


def check_resumable(ck: dict, world: int, batch: int, path="the checkpoint"):
    """Refuse a checkpoint written by another number of ranks or global batch (its data order and RNGs differ)."""
    if ck["world_size"] != world or ck["batch"] != batch:
        raise ValueError(f"{path} was written by {ck['world_size']} ranks with global batch {ck['batch']}; "
                         f"resume it with the same (now {world} ranks, batch {batch})")


def _resume(args, ctx, model, opt, sched, scaler, gen):
    """Load the checkpoint when there is one: (epoch, step in epoch, global step, history, this rank's partial loss)."""
    if not args.checkpoint or not Path(args.checkpoint).exists():
        return 0, 0, 0, {"loss": [], "test_acc": []}, 0.0
    ck = load_checkpoint(args.checkpoint)
    check_resumable(ck, ctx["world"], args.batch, args.checkpoint)
    model.module.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    scaler.load_state_dict(ck["scaler"])
    mine = ck["ranks"][ctx["rank"]]
    set_rng_state(mine["rng"], gen)
    if ctx["rank"] == 0:
        print(f"[rank 0] resumed from {args.checkpoint}: epoch {ck['epoch'] + 1}, step {ck['step_in_epoch']} "
              f"of the epoch (global step {ck['global_step']})", flush=True)
    return ck["epoch"], ck["step_in_epoch"], ck["global_step"], ck["history"], mine["partial_loss"]


def _evaluate(model, Xt, yt, ctx, amp):
    """Test accuracy over all ranks: each scores its shard, an all-reduce adds the counts."""

    dev, rank, world = ctx["dev"], ctx["rank"], ctx["world"]
    net = model.module            # the plain network: DDP's forward syncs buffers, a collective every rank must join
    for b in net.buffers():       # so sync them here as DDP would: rank 0's BatchNorm statistics everywhere
        dist.broadcast(b, 0)
    model.eval()
    counts = torch.zeros(2, dtype=torch.float64, device=dev)
    with torch.no_grad(), autocast(dev, amp):
        for i in range(rank * 500, len(Xt), 500 * world):       # interleaved chunks of 500: the rank's shard
            xb, yb = normalize(Xt[i:i + 500].to(dev)), yt[i:i + 500].to(dev)
            counts += torch.tensor([(net(xb).argmax(1) == yb).sum().item(), len(yb)], device=dev)
    dist.all_reduce(counts)
    model.train()
    return float(counts[0] / counts[1])


def _replica_spread(model, buffers: bool = True) -> float:
    """Largest difference between any rank's weights (and buffers) and rank 0's: 0.0 when in sync."""
    tensors = model.module.state_dict().values() if buffers else model.module.parameters()
    flat = torch.cat([t.detach().float().reshape(-1) for t in tensors if t.is_floating_point()])
    copies = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, flat)
    return max(float((c - copies[0]).abs().max()) for c in copies)


def _allreduce_ms(model, reps: int = 10) -> float:
    """Mean milliseconds of one all-reduce of a gradient-sized float32 tensor (the per-step communication)."""
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buf = torch.ones(n, device=next(model.parameters()).device)
    dist.all_reduce(buf)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(reps):
        dist.all_reduce(buf)
    float(buf[0])
    return (time.perf_counter() - t0) / reps * 1e3


def _optimizer(args, params):
    """SGD (Nesterov) or Adam; with --zero each rank keeps the state of its share of the parameters only."""
    if args.optimizer == "adam":
        cls, kw = torch.optim.Adam, {"lr": args.lr, "weight_decay": args.weight_decay}
    else:
        cls, kw = torch.optim.SGD, {"lr": args.lr, "momentum": args.momentum, "nesterov": True,
                                    "weight_decay": args.weight_decay}
    if not args.zero:
        return cls(params, **kw)
    if args.checkpoint:
        raise ValueError("--zero shards the optimizer state over the ranks; this entry point checkpoints "
                         "unsharded state only: leave out --checkpoint or --zero")
    return ZeroRedundancyOptimizer(params, optimizer_class=cls, **kw)


def optimizer_state_bytes(opt) -> int:
    """Bytes of optimizer state (momentum, Adam's moments) this rank holds."""
    local = opt.optim if isinstance(opt, ZeroRedundancyOptimizer) else opt
    return sum(t.numel() * t.element_size() for st in local.state.values() for t in st.values()
               if torch.is_tensor(t) and t.dim() > 0)


def _coverage(order, n_images: int) -> list[int]:
    """[distinct images, images trained, images in the set] of an epoch over all ranks (order: this rank's)."""
    parts = [torch.empty_like(order) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, order)
    seen = torch.cat(parts)
    return [int(seen.unique().numel()), int(seen.numel()), n_images]


def _setup(args) -> dict:
    """Join the process group (torchrun's env variables; timeout) on this rank's device."""

    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    cuda = args.device != "cpu" and torch.cuda.is_available() and local_world <= torch.cuda.device_count()
    dev = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=args.timeout),
                            device_id=dev if cuda else None)
    if args.batch % world:
        raise ValueError(f"the global batch {args.batch} does not split evenly over {world} ranks")
    return {"rank": rank, "world": world, "dev": dev, "local_batch": args.batch // world}


def train(args) -> dict:
    """Train FastNet with DDP on this rank; rank 0 returns (and writes) the results, others return {}."""

    ctx = _setup(args)
    rank, world, dev, lb = ctx["rank"], ctx["world"], ctx["dev"], ctx["local_batch"]
    amp = None if args.amp == "none" else args.amp
    X, y, Xt, yt = load_data(args)
    torch.manual_seed(args.seed)                                # the same initial weights on every rank ...
    net = fastnet.FastNet(tuple(args.widths), batchnorm=not args.no_batchnorm).to(dev)
    fastnet.init_whitening(net[0], normalize(X[:2000].to(dev)))  # (same data on every rank: same filters)
    if args.sync_bn and dev.type == "cuda":
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    model = DDP(net, device_ids=[dev.index] if dev.type == "cuda" else None)   # ... and DDP broadcasts rank 0's
    sampler = DistributedSampler(TensorDataset(X, y), num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed, drop_last=True)
    steps_per_epoch = len(sampler) // lb                         # every rank takes the same number of steps
    total = steps_per_epoch * args.epochs
    opt = _optimizer(args, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: triangle(s / max(total, 1)))
    scaler = grad_scaler(dev, amp)
    gen = torch.Generator().manual_seed(args.seed + 1000 * rank)   # augmentation: one generator per rank
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.2)
    epoch0, step0, gstep, history, partial = _resume(args, ctx, model, opt, sched, scaler, gen)
    if rank == 0:
        print(f"[rank 0] {world} rank(s) on {dev} ({dist.get_backend()}), global batch {args.batch} = "
              f"{world} x {lb}, {steps_per_epoch} steps/epoch, {len(X)} images, lr {args.lr}", flush=True)
    dist.barrier()
    train_s, timed_steps = 0.0, 0                               # training steps only: no evaluation, no saving
    step_spread, coverage = [], []                              # --check-sync; the data each epoch trained on
    for epoch in range(epoch0, args.epochs):
        sampler.set_epoch(epoch)                                 # a new shuffle each epoch, the same on all ranks
        order = torch.tensor(list(sampler))                      # this rank's indices for the epoch
        loss_sum = torch.tensor(partial if epoch == epoch0 else 0.0, dtype=torch.float64)  # resumed mid-epoch
        for step in range(step0 if epoch == epoch0 else 0, steps_per_epoch):
            t0 = time.perf_counter()
            idx = order[step * lb:(step + 1) * lb]
            xb = X[idx].to(dev)
            xb = normalize(augment(xb, generator=gen) if args.augment else xb)
            _, loss = train_step(model, xb, y[idx].to(dev), loss_fn, opt, scaler, dev, amp)  # DDP all-reduces in backward
            sched.step()
            loss_sum += loss.detach().double().cpu()
            gstep += 1
            if gstep > 1:                                        # throughput from the second step on
                train_s, timed_steps = train_s + time.perf_counter() - t0, timed_steps + 1
            if args.check_sync:                                  # (after the timing: not part of a step)
                step_spread.append(_replica_spread(model, buffers=False))   # BatchNorm's running
                # statistics are per rank until DDP's next forward broadcasts rank 0's: weights only here
            if args.log_every and rank == 0 and gstep % args.log_every == 0:
                print(f"[rank 0] step {gstep}/{total} loss {float(loss):.3f}", flush=True)
            _crash_if_asked(args, rank, gstep)
            if args.checkpoint and args.save_every and gstep % args.save_every == 0 and step + 1 < steps_per_epoch:
                _save(args, ctx, model, opt, sched, scaler, gen, (epoch, step + 1, gstep), history, loss_sum)
        coverage.append(_coverage(order[step0 * lb if epoch == epoch0 else 0:steps_per_epoch * lb], len(X)))
        dist.all_reduce(loss_sum)                                # the epoch's mean loss over all ranks
        history["loss"].append(float(loss_sum) / (world * steps_per_epoch))
        history["test_acc"].append(_evaluate(model, Xt, yt, ctx, amp))
        if rank == 0:
            print(f"[rank 0] epoch {epoch + 1}/{args.epochs} loss {history['loss'][-1]:.4f} "
                  f"test acc {history['test_acc'][-1]:.4f}", flush=True)
        if args.checkpoint:
            _save(args, ctx, model, opt, sched, scaler, gen, (epoch + 1, 0, gstep), history, 0.0)
    dist.barrier()
    spread = _replica_spread(model)
    ar_ms = _allreduce_ms(model)
    opt_bytes = [None] * world
    dist.all_gather_object(opt_bytes, optimizer_state_bytes(opt))
    res = {}
    if rank == 0:
        res = {"world_size": world, "backend": dist.get_backend(), "device": str(dev), "global_batch": args.batch,
               "local_batch": lb, "steps": gstep, "history": history, "replica_spread": spread,
               "images_per_s": timed_steps * args.batch / train_s if timed_steps else None,
               "allreduce_ms": ar_ms, "n_params": sum(p.numel() for p in net.parameters()),
               "n_trainable": sum(p.numel() for p in net.parameters() if p.requires_grad),
               "step_spread": step_spread, "coverage": coverage, "optimizer_state_bytes": opt_bytes,
               "precision": precision_name(dev, amp),
               "standin": sorted(standin_used())}
        if args.final:
            from ..train import save_checkpoint
            save_checkpoint(args.final, net.state_dict())
        if args.out:
            Path(args.out).write_text(json.dumps(res, indent=1))
    dist.barrier()              # every rank leaves together: a rank that tears down gloo early can abort
    dist.destroy_process_group()
    return res


def main(argv=None):
    """Entry point of each worker: one thread (set before torch loads), then train under torchrun's error record."""
    set_threads(int(os.environ.get("DLC_THREADS") or os.environ.get("OMP_NUM_THREADS") or 1))
    args = parse_args(argv)
    record(train)(args)


if __name__ == "__main__":
    main()
    # Leave without running C++ static destructors: with gloo, a rank that finalises while a peer is
    # still tearing down can abort ("terminate called without an active exception", seen under load)
    # after its work is done and saved. Everything that matters is written and flushed by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
