"""One readable PyTorch training loop: history, callbacks (early stopping), mixed precision, safe checkpoints."""
from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .device import autocast, grad_scaler
from .device import device as pick_device


def batches(X, y, batch_size: int, shuffle: bool = True, generator=None):
    """Yield (X[i], y[i]) minibatches of in-memory tensors, shuffled with an optional torch.Generator.

    X may be a tuple of tensors (e.g. token ids and lengths): the batches' X are then tuples too.
    """
    multi = isinstance(X, (tuple, list))
    n = len(X[0]) if multi else len(X)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield (tuple(x[idx] for x in X) if multi else X[idx]), y[idx]


def _epoch_iter(data):
    """A fresh batch iterator: call `data` if it is a function, else iterate it."""
    return data() if callable(data) else iter(data)


def _to(x, dev, channels_last=False):
    """Move a batch (a tensor or a tuple of tensors) to `dev`, channels-last for 4-d float images when asked."""
    if isinstance(x, (tuple, list)):
        return tuple(_to(t, dev, channels_last) for t in x)
    x = x.to(dev, non_blocking=True)
    if channels_last and x.dim() == 4 and x.is_floating_point():
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _call(model, xb):
    """model(*xb) for a tuple batch (several inputs), else model(xb)."""
    return model(*xb) if isinstance(xb, tuple) else model(xb)


def _is_classification(out, yb) -> bool:
    """True when `yb` holds class indices for the logits `out` (so accuracy means something)."""
    return yb.dtype in (torch.int64, torch.int32) and out.dim() == 2


def step(model, xb, yb, loss_fn, optimizer, scaler, dev, amp=None, clip_grad=None):
    """One optimiser step, the one every loop here uses: forward under autocast, float32 loss, scaled backward, step.

    scaler: helpers.device.grad_scaler(dev, amp) (a no-op unless fp16 on CUDA); clip_grad: the largest
    gradient norm (unscaled first). Returns (outputs, loss), both still on the device.
    """
    with autocast(dev, amp):
        out = _call(model, xb)
    loss = loss_fn(out.float(), yb)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if clip_grad:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    scaler.step(optimizer)
    scaler.update()
    return out, loss


def evaluate(model, data, loss_fn=None, dev=None, amp=None, channels_last=False) -> dict:
    """Return {'loss', 'acc'} of a classifier (or {'loss'} when targets are not class indices)."""
    dev = torch.device(dev) if dev is not None else next(model.parameters()).device
    model.eval()
    total, loss_sum, correct, classif = 0, 0.0, 0, False
    with torch.no_grad(), autocast(dev, amp):
        for xb, yb in _epoch_iter(data):
            xb, yb = _to(xb, dev, channels_last), yb.to(dev)
            out = _call(model, xb)
            n = len(yb)
            total += n
            if loss_fn is not None:
                loss_sum += float(loss_fn(out.float(), yb)) * n
            if _is_classification(out, yb):
                classif = True
                correct += int((out.argmax(1) == yb).sum())
    res = {"loss": loss_sum / max(total, 1)} if loss_fn is not None else {}
    if classif:
        res["acc"] = correct / total
    return res


class History(dict):
    """Per-epoch lists of metrics, e.g. history['train_loss'], history['val_acc']."""

    def add(self, **metrics):
        """Append one epoch's value to each metric's list."""
        for k, v in metrics.items():
            self.setdefault(k, []).append(v)

    def last(self, key):
        """The latest value of metric `key`."""
        return self[key][-1]


# ----------------------------------------------------------------------------------------- callbacks
class Callback:
    """Base of fit() callbacks: override the hooks you need; on_epoch_end returns True to stop training."""

    def on_train_begin(self, model, history):
        """Called once before the first epoch (also after a resume)."""

    def on_epoch_end(self, epoch: int, metrics: dict, model) -> bool:
        """Called after each epoch (`epoch` counts from 1) with that epoch's metrics; True stops training."""
        return False

    def on_train_end(self, model, history):
        """Called once after the last epoch."""

    def state_dict(self) -> dict:
        """What a checkpoint keeps of this callback (plain tensors, numbers, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict):
        """Restore what state_dict() returned."""


class _FunctionCallback(Callback):
    """Wraps a plain function f(epoch, metrics, model) -> stop? as a Callback."""

    def __init__(self, fn):
        """Keep the function to call."""
        self.fn = fn

    def on_epoch_end(self, epoch, metrics, model):
        """Call the wrapped function."""
        return bool(self.fn(epoch, metrics, model))


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; optionally restore the best weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "min",
                 min_delta: float = 0.0, restore_best: bool = True):
        """mode 'min' for losses, 'max' for accuracies; restore_best loads the best weights at the end."""
        if mode not in ("min", "max"):
            raise ValueError(f"mode={mode!r}: use 'min' or 'max'")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta, self.restore_best = abs(min_delta), restore_best
        self.best, self.best_epoch, self.stopped_epoch, self.best_state = None, 0, None, None

    def _improved(self, value) -> bool:
        """True when `value` beats the best so far by more than min_delta."""
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, metrics, model):
        """Track the best epoch; True once `patience` epochs have passed without improvement."""
        if self.monitor not in metrics:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the metrics are {sorted(metrics)}"
                           " (pass val= to fit for val_* metrics)")
        value = float(metrics[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model, history):
        """Load the best epoch's weights back into the model (restore_best=True)."""
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self):
        """Best value, best epoch, stop epoch and the best weights."""
        return {"best": self.best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch,
                "best_state": self.best_state}

    def load_state_dict(self, state):
        """Restore a state_dict()."""
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.stopped_epoch, self.best_state = state["stopped_epoch"], state["best_state"]


# ------------------------------------------------------------------------------ checkpoints and RNG
def rng_state(generator=None) -> dict:
    """Every random generator's state (torch CPU/CUDA, NumPy, Python, `generator`) as plain tensors and numbers."""

    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict, generator=None):
    """Restore what rng_state() returned (CUDA states only for the GPUs this machine has)."""

    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        for i, s in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s.cpu(), i)
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"].cpu())


def save_checkpoint(path, state: dict) -> Path:
    """Write `state` with torch.save atomically: a unique temporary file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint onto the CPU with torch.load(weights_only=True): tensors and plain data only, no code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def _named(callbacks) -> dict:
    """Callbacks keyed by class name (EarlyStopping, EarlyStopping#2, ...) for their checkpoint states."""
    named, seen = {}, {}
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        named[name if seen[name] == 1 else f"{name}#{seen[name]}"] = cb
    return named


# --------------------------------------------------------------------------------------------- fit
def _step_scheduler(scheduler, metrics):
    """Step an epoch scheduler; ReduceLROnPlateau gets val_loss (or train_loss)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(metrics.get("val_loss", metrics["train_loss"]))
    else:
        scheduler.step()


def fit(model, train, loss_fn, optimizer, epochs: int, *, val=None, dev=None, scheduler=None,
        amp=None, channels_last=False, progress=True, checkpoint=None, step_scheduler_per_batch=False,
        clip_grad=None, callbacks=(), val_loss_fn=None, generator=None) -> History:
    """Train `model` for `epochs`; `train`/`val` are re-iterables or callables that return batch iterators.

    amp: the precision policy of helpers.device (None = fp32 everywhere, "auto", "bf16", "fp16";
    fp16 on CUDA gets loss scaling). callbacks: Callback objects (e.g. EarlyStopping) or functions
    f(epoch, metrics, model) returning True to stop. val_loss_fn: the loss reported as val_loss
    (default loss_fn; pass the plain loss when loss_fn adds a penalty). generator: the
    torch.Generator that shuffles `train`, so a resumed run draws the same batches. checkpoint: a
    path written atomically after every epoch (model, optimizer, scheduler, scaler, history,
    callbacks, RNG states); training resumes from it when it exists (a run a callback stopped stays
    stopped). Loaded with torch.load(weights_only=True).
    """
    dev = torch.device(dev) if dev is not None else pick_device()
    model.to(dev)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    scaler = grad_scaler(dev, amp)
    callbacks = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]
    hist, start_epoch, stopped = History(), 0, False
    if checkpoint and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        for name, cb in _named(callbacks).items():
            if name in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][name])
        hist.update(state["history"])
        set_rng_state(state["rng"], generator)
        start_epoch, stopped = state["epoch"], state["stopped"]
        if progress:
            print(f"resumed from {checkpoint} after epoch {start_epoch}")
    for cb in callbacks:
        cb.on_train_begin(model, hist)
    bar = None
    if progress and not stopped:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=epochs, initial=start_epoch, desc="epochs", leave=False)
        except ImportError:
            pass
    for epoch in range(start_epoch + 1, epochs + 1) if not stopped else ():
        model.train()
        t0, total, classif = time.perf_counter(), 0, False
        loss_sum, correct = torch.zeros((), device=dev), torch.zeros((), device=dev, dtype=torch.int64)
        for xb, yb in _epoch_iter(train):
            xb, yb = _to(xb, dev, channels_last), yb.to(dev)
            out, loss = step(model, xb, yb, loss_fn, optimizer, scaler, dev, amp, clip_grad)
            if scheduler is not None and step_scheduler_per_batch:
                scheduler.step()
            n = len(yb)
            total += n
            loss_sum += loss.detach().float() * n
            if _is_classification(out, yb):
                classif = True
                correct += (out.detach().argmax(1) == yb).sum()
        metrics = {"train_loss": float(loss_sum) / max(total, 1), "epoch_time": time.perf_counter() - t0}
        if classif:
            metrics["train_acc"] = int(correct) / total
        if val is not None:
            metrics.update({f"val_{k}": v for k, v in
                            evaluate(model, val, val_loss_fn or loss_fn, dev, amp, channels_last).items()})
        if scheduler is not None and not step_scheduler_per_batch:
            _step_scheduler(scheduler, metrics)
        hist.add(**metrics)
        stopped = any([cb.on_epoch_end(epoch, metrics, model) for cb in callbacks])  # every callback sees it
        if checkpoint:
            save_checkpoint(checkpoint, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict(), "callbacks": {k: cb.state_dict() for k, cb in _named(callbacks).items()},
                "history": dict(hist), "epoch": epoch, "stopped": stopped, "rng": rng_state(generator)})
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: round(v, 4) for k, v in metrics.items() if k != "epoch_time"})
        if stopped:
            break
    if bar is not None:
        bar.close()
    for cb in callbacks:
        cb.on_train_end(model, hist)
    return hist
