"""One readable PyTorch training loop with history, progress bar, mixed precision and checkpoints."""
from __future__ import annotations

import time
from pathlib import Path

from .device import autocast
from .device import device as pick_device


def batches(X, y, batch_size: int, shuffle: bool = True, generator=None):
    """Yield (X[i], y[i]) minibatches of in-memory tensors, shuffled with an optional torch.Generator."""
    import torch
    n = len(X)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def _epoch_iter(data):
    return data() if callable(data) else iter(data)


def _to(x, dev, channels_last=False):
    import torch
    x = x.to(dev, non_blocking=True)
    if channels_last and x.dim() == 4 and x.is_floating_point():
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def evaluate(model, data, loss_fn=None, dev=None, amp=None, channels_last=False) -> dict:
    """Return {'loss', 'acc'} of a classifier (or {'loss'} when targets are not class indices)."""
    import torch
    dev = dev or next(model.parameters()).device
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    with torch.no_grad(), autocast(dev, amp):
        for xb, yb in _epoch_iter(data):
            xb, yb = _to(xb, dev, channels_last), yb.to(dev)
            out = model(xb)
            n = len(yb)
            total += n
            if loss_fn is not None:
                loss_sum += float(loss_fn(out.float(), yb)) * n
            if yb.dtype in (torch.int64, torch.int32) and out.dim() == 2:
                correct += int((out.argmax(1) == yb).sum())
    res = {"loss": loss_sum / max(total, 1)} if loss_fn is not None else {}
    if correct or (total and yb.dtype in (torch.int64, torch.int32)):
        res["acc"] = correct / max(total, 1)
    return res


class History(dict):
    """Per-epoch lists of metrics, e.g. history['train_loss'], history['val_acc']."""

    def add(self, **metrics):
        for k, v in metrics.items():
            self.setdefault(k, []).append(v)

    def last(self, key):
        return self[key][-1]


def fit(model, train, loss_fn, optimizer, epochs: int, *, val=None, dev=None, scheduler=None,
        amp=None, channels_last=False, progress=True, checkpoint=None, step_scheduler_per_batch=False,
        clip_grad=None) -> History:
    """Train `model` for `epochs`; `train`/`val` are re-iterables or callables that return batch iterators.

    amp: None (fp32), 'bf16' or 'fp16'. checkpoint: a path; the model and optimizer are saved
    there after every epoch and training resumes from it when it already exists.
    """
    import torch
    dev = dev or pick_device()
    model.to(dev)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler(dev.type, enabled=(amp in ("fp16", torch.float16) and dev.type == "cuda"))
    hist, start_epoch = History(), 0
    if checkpoint and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=dev, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        hist.update(state["history"])
        start_epoch = state["epoch"] + 1
        if progress:
            print(f"resumed from {checkpoint} after epoch {start_epoch}")
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=epochs, initial=start_epoch, desc="epochs", leave=False)
        except ImportError:
            pass
    for epoch in range(start_epoch, epochs):
        model.train()
        t0, total, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        for xb, yb in _epoch_iter(train):
            xb, yb = _to(xb, dev, channels_last), yb.to(dev)
            with autocast(dev, amp):
                out = model(xb)
                loss = loss_fn(out.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip_grad:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and step_scheduler_per_batch:
                scheduler.step()
            n = len(yb)
            total += n
            loss_sum += float(loss.detach()) * n
            if yb.dtype == torch.int64 and out.dim() == 2:
                correct += int((out.detach().argmax(1) == yb).sum())
        if scheduler is not None and not step_scheduler_per_batch:
            scheduler.step()
        metrics = {"train_loss": loss_sum / max(total, 1), "epoch_time": time.perf_counter() - t0}
        if correct:
            metrics["train_acc"] = correct / total
        if val is not None:
            metrics.update({f"val_{k}": v for k, v in
                            evaluate(model, val, loss_fn, dev, amp, channels_last).items()})
        hist.add(**metrics)
        if checkpoint:
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(str(checkpoint) + ".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "history": dict(hist), "epoch": epoch}, tmp)
            tmp.replace(checkpoint)
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: round(v, 4) for k, v in metrics.items() if k != "epoch_time"})
    if bar is not None:
        bar.close()
    return hist
