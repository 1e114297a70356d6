"""The fast CIFAR-10 recipe: its constants (Recipe), a time budget and one short training loop.

Used by notebook 05 and bench/cifar10_time_to_accuracy.py; the loader is helpers.models.augment's,
the network helpers.models.fastnet's, the optimiser step helpers.train.step.
It follows the published ideas of airbench (Keller Jordan, 2024) and its ancestors (Page's "How to
train your ResNet", tysam-code's hlb-CIFAR10), rewritten for this curriculum: data on the device as
uint8 tensors, batched flip/translate, BatchNorm and a frozen patch-whitening first layer, Nesterov
SGD with warmup/decay, label smoothing, weight averaging, channels_last, mixed precision
(helpers.device's policy), progressive resizing, test-time augmentation, width sized to a budget.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import torch

from ..device import autocast, grad_scaler, precision_name, synchronize
from ..device import device as pick_device
from ..train import step
from . import fastnet
from .augment import Loader, normalize, subset  # noqa: F401  (subset: part of the recipe's namespace)

EVAL_BATCH = 500


# ---------------------------------------------------------------- loss, optimiser, schedule, averaging

def smooth_cross_entropy(logits, y, smoothing: float = 0.0, reduction: str = "mean"):
    """Cross-entropy against (1-s)·one_hot + s/K: label smoothing written out."""
    logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    logp = logits.log_softmax(dim=-1)
    nll = -logp.gather(1, y[:, None]).squeeze(1)
    loss = (1 - smoothing) * nll - smoothing * logp.mean(-1)
    return loss.sum() if reduction == "sum" else loss.mean() if reduction == "mean" else loss


def triangle(progress: float, start: float = 0.2, peak_at: float = 0.23, end: float = 0.07) -> float:
    """LR multiplier: linear warmup from `start` to 1 at `peak_at`, then linear decay to `end` at 1."""
    p = min(max(progress, 0.0), 1.0)
    if p < peak_at:
        return start + (1 - start) * p / peak_at
    return 1 + (end - 1) * (p - peak_at) / (1 - peak_at)


def nesterov_sgd(model, lr: float = 11.5, momentum: float = 0.85, weight_decay: float = 0.0153,
                 batch_size: int = 1024, bias_scaler: float = 64.0):
    """SGD with Nesterov momentum in airbench's units (lr, wd per 1024 examples, summed loss); BN biases get bias_scaler×lr."""
    kilostep = 1024 * (1 + 1 / (1 - momentum))   # airbench's unit; the measured gain of Nesterov SGD on a constant gradient is 1/(1-momentum)
    lr_, wd_ = lr / kilostep, weight_decay * batch_size / kilostep
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    norm = [p for n, p in params if p.ndim < 2 and "norm" in n]
    other = [p for n, p in params if not (p.ndim < 2 and "norm" in n)]
    groups = [dict(params=norm, lr=lr_ * bias_scaler, weight_decay=wd_ / (lr_ * bias_scaler)),
              dict(params=other, lr=lr_, weight_decay=wd_ / lr_)]
    opt = torch.optim.SGD([g for g in groups if g["params"]], momentum=momentum, nesterov=True)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    return opt


def set_lr(optimizer, factor: float):
    """Scale every param group's learning rate to factor × its initial value."""
    for g in optimizer.param_groups:
        g["lr"] = g["initial_lr"] * factor


def ema_update(ema_state: dict, model, decay: float):
    """Lookahead-style averaging: ema <- decay·ema + (1-decay)·weights, then copy ema back to the model."""
    with torch.no_grad():
        for (_, v), e in zip(model.state_dict().items(), ema_state.values()):
            if v.dtype.is_floating_point:
                e.lerp_(v, 1 - decay)
                v.copy_(e)


# ---------------------------------------------------------------- prediction, TTA, the time budget

def tta_logits(model, xb, level: int = 2):
    """Test-time augmentation: average logits over the image and its mirror (level 1), and ±1-pixel shifts (level 2)."""
    out = model(xb)
    if level >= 1:
        out = 0.5 * out + 0.5 * model(xb.flip(-1))
    if level >= 2:
        p, h = torch.nn.functional.pad(xb, (1, 1, 1, 1), mode="reflect"), xb.shape[-1]
        fmt = torch.channels_last if xb.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        shifted = [s.contiguous(memory_format=fmt) for s in (p[..., :h, :h], p[..., 2:, 2:])]
        out = 0.5 * out + 0.5 * sum(0.5 * model(s) + 0.5 * model(s.flip(-1)) for s in shifted) / 2
    return out


def predict(model, batches, amp=None, tta: int = 0):
    """float32 logits of every batch of a Loader (train=False); tta 0 plain, 1 + mirror, 2 + ±1-pixel shifts."""

    model.eval()
    with torch.no_grad(), autocast(batches.images.device, amp):
        return torch.cat([tta_logits(model, xb, tta).float() for xb, _ in batches])


def accuracy(logits, y) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return float((logits.argmax(1).cpu() == y.cpu()).float().mean())


class TimeBudget:
    """A wall-clock budget for setup, training and the final evaluation (seconds=None: only a clock).

    progress(), the fraction of the training time spent, drives the learning-rate schedule: a slower
    machine takes fewer steps and still ends its schedule in time.
    """

    def __init__(self, seconds: float | None = None):
        """Start the clock: setup counts from now."""
        self.seconds, self.created = seconds, time.perf_counter()
        self.setup_s = self.reserve_s = self.train_s = self.step_s = 0.0
        self.steps, self._since = 0, None

    def start(self, reserve_s: float = 0.0):
        """End the setup and start the training clock, keeping reserve_s seconds for the final evaluation."""
        self.setup_s, self.reserve_s = time.perf_counter() - self.created, reserve_s
        self._since = time.perf_counter()

    def training_s(self) -> float:
        """Seconds of training so far (pauses excluded)."""
        return self.train_s + (time.perf_counter() - self._since if self._since is not None else 0.0)

    @contextlib.contextmanager
    def paused(self):
        """Stop the training clock inside the block."""
        self.train_s, self._since = self.training_s(), None
        try:
            yield
        finally:
            self._since = time.perf_counter()

    @contextlib.contextmanager
    def step(self):
        """Time one training step; the smoothed step time (first, warm-up step left out) is step_s."""
        t0 = time.perf_counter()
        yield
        dt, self.steps = time.perf_counter() - t0, self.steps + 1
        self.step_s = 0.0 if self.steps == 1 else dt if self.steps == 2 else 0.8 * self.step_s + 0.2 * dt

    def progress(self, ahead: float = 0.0) -> float:
        """Fraction of the training time spent (plus `ahead` seconds); >= 1 means stop."""
        return (self.training_s() + ahead) / max(self.seconds - self.setup_s - self.reserve_s, 1e-3)

    def next_step_fits(self) -> bool:
        """Whether one more step (of the smoothed step time) still ends within the training time."""
        return self.seconds is None or self.progress(self.step_s) <= 1


# ---------------------------------------------------------------- the recipe: one training loop

@dataclass(frozen=True)
class Recipe:
    """Every constant of the fast recipe, one named field each; vary it with recipe.replace(field=value)."""
    widths: tuple = (64, 256, 256)         # channels of FastNet's three conv groups
    batch_size: int = 512
    lr: float = 11.5                       # airbench's units: per 1024 examples of a summed loss
    momentum: float = 0.85                 # Nesterov
    weight_decay: float = 0.0153           # per 1024 examples, independent of lr
    bias_scaler: float = 64.0              # learning-rate multiplier of the BatchNorm biases
    lr_points: tuple = (0.2, 0.23, 0.07)   # triangle(): start factor, peak at this fraction, end factor
    label_smoothing: float = 0.2
    flip: object = "alternate"             # "alternate", True (at random) or False
    translate: int = 2                     # largest random shift in pixels
    whiten: bool = True                    # frozen patch-whitening first conv
    whiten_bias_frac: float = 0.3          # its bias trains for this fraction of training only
    ema: bool = True                       # weight averaging ...
    ema_start: float = 0.3                 # ... from this fraction of training,
    ema_every: int = 5                     # ... every this many steps,
    ema_decay: float = 0.95                # ... with decay ema_decay**ema_every * p**ema_power at progress p
    ema_power: float = 3.0
    tta: object = "auto"                   # 0 none, 1 mirror, 2 six views, "auto": 2 if it costs < 5% of a budget
    channels_last: bool = True
    res_schedule: tuple | None = ((0.35, 20), (0.65, 24))   # 20 px to 35% of training, 24 px to 65%, then 32
    batchnorm: bool = True
    bn_momentum: float = 0.6
    act: str = "gelu"

    def replace(self, **changes) -> "Recipe":
        """A copy with some fields changed; an unknown name is a TypeError."""
        return dataclasses.replace(self, **changes)

    def items(self):
        """(name, value) of every field, in order."""
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]

    def lr_factor(self, progress: float) -> float:
        """The learning-rate multiplier at this fraction of training."""
        return triangle(progress, *self.lr_points)

    def ema_decay_at(self, progress: float) -> float:
        """The averaging's decay at this fraction of training (it grows as the weights settle)."""
        return self.ema_decay ** self.ema_every * progress ** self.ema_power


RECIPE = Recipe()


def train(X, y, X_test, y_test, *, epochs: float | None = 10.0, budget_s: float | None = None, dev=None,
          amp="auto", seed: int = 0, eval_every: float = 1.0, verbose: bool = True, log_fn=print,
          recipe: Recipe = RECIPE, net=None, **overrides) -> dict:
    """Train the fast recipe on uint8 NHWC arrays; return the model, accuracies and an accuracy-vs-time log.

    Give `epochs` (a float), or `budget_s`: the schedule then runs on the training clock and stops so that
    setup, training and the final (TTA) evaluation end within budget_s seconds. `recipe` (default
    RECIPE) gives every constant; a keyword names a field to change for this run (widths=..., ema=False);
    `net` trains a ready-made network instead of FastNet(recipe.widths). amp follows helpers.device.amp_dtype ("auto", None, "bf16", "fp16"). Logged times are
    setup plus training seconds; the periodic evaluations are not counted.
    """

    unknown = set(overrides) - {name for name, _ in recipe.items()}
    if unknown:
        raise TypeError(f"unknown recipe options {sorted(unknown)}")
    r = recipe.replace(**overrides)
    dev = torch.device(dev) if dev is not None else pick_device()
    budget = TimeBudget(budget_s)                                  # the clock starts now: setup counts
    torch.manual_seed(seed)
    cl, bs = r.channels_last, r.batch_size
    batches = Loader(X, y, bs, dev, flip=r.flip, translate=r.translate, channels_last=cl, seed=seed)
    test_batches = Loader(X_test, y_test, EVAL_BATCH, dev, train=False, channels_last=cl)
    net = net or fastnet.FastNet(r.widths, int(y.max()) + 1, batchnorm=r.batchnorm, bn_momentum=r.bn_momentum,
                                 act=r.act)
    net = net.to(dev, memory_format=torch.channels_last if cl else torch.preserve_format)
    whiten = net[0] if isinstance(net[0], torch.nn.Conv2d) and not net[0].weight.requires_grad else None
    if whiten is not None and r.whiten:
        fastnet.init_whitening(whiten, normalize(batches.images[:2000]))
    elif whiten is not None:                                       # ablation: a plain trainable first conv
        whiten.weight.requires_grad_(True)
    opt = nesterov_sgd(net, r.lr, r.momentum, r.weight_decay, bs, r.bias_scaler)
    loss_fn = functools.partial(smooth_cross_entropy, smoothing=r.label_smoothing, reduction="sum")
    scaler = grad_scaler(dev, amp)
    total_steps = math.ceil(len(batches) * epochs) if budget_s is None else None
    tta = 2 if r.tta == "auto" else r.tta
    reserve_s = 0.0
    if budget_s is not None:        # time one test batch (after a warm-up): reserve the final evaluation's time
        probe = Loader(X_test[:EVAL_BATCH], y_test[:EVAL_BATCH], EVAL_BATCH, dev, train=False, channels_last=cl)
        for _ in range(2):
            t0 = time.perf_counter()
            predict(net, probe, amp)
        one_view = (time.perf_counter() - t0) * len(test_batches)
        if r.tta == "auto" and 6 * one_view > 0.05 * budget_s:
            tta = 1                 # "auto": the 6 views of level 2 when they cost under 5% of the budget
        reserve_s = one_view * {0: 1, 1: 2, 2: 6}[tta]

    def progress():
        """Fraction of training done: of the time budget, or of the steps."""
        return budget.progress() if budget_s is not None else budget.steps / total_steps

    def resolution(p):
        """Image size at training fraction p (progressive resizing); None: full size."""
        return next((size for until, size in r.res_schedule or () if p < until), None)

    budget.start(reserve_s)
    batches.size = resolution(0.0)
    log, ema_state, next_eval, done = [], None, eval_every, False
    while not done:
        net.train()
        if whiten is not None and r.whiten:
            whiten.bias.requires_grad_(progress() < r.whiten_bias_frac)
        loss_sum, seen = 0.0, 0
        for xb, yb in batches:
            p = progress()
            if p >= 1 or not budget.next_step_fits():
                done = True                                        # (on a budget: the next step would not fit)
                break
            with budget.step():
                set_lr(opt, r.lr_factor(p))
                loss_sum += float(step(net, xb, yb, loss_fn, opt, scaler, dev, amp)[1].detach())
            seen += len(yb)
            batches.size = resolution(p)                          # progressive resizing: small images early
            if r.ema and p >= r.ema_start and budget.steps % r.ema_every == 0:
                if ema_state is None:
                    ema_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    ema_update(ema_state, net, r.ema_decay_at(p))
        if ema_state is not None:
            ema_update(ema_state, net, 1.0)                        # the model carries the averaged weights
        if seen == 0 and log:                                      # the budget ran out at an epoch boundary
            break
        done = done or (budget_s is None and budget.steps >= total_steps)
        if batches.epoch >= next_eval or done:
            next_eval += eval_every
            with budget.paused():
                acc = accuracy(predict(net, test_batches, amp), test_batches.labels)
            clock, epochs_done = budget.setup_s + budget.training_s(), round(budget.steps / len(batches), 2)
            log.append({"epoch": epochs_done, "time_s": round(clock, 2), "train_loss": loss_sum / max(seen, 1),
                        "test_acc": acc})
            if verbose:
                log_fn(f"epoch {epochs_done:6.2f}  {clock:7.1f}s  train loss {loss_sum / max(seen, 1):.4f}  "
                       f"test acc {acc:.4f}")
    train_s = budget.training_s()
    t0 = time.perf_counter()
    logits = predict(net, test_batches, amp, tta)
    eval_s = time.perf_counter() - t0
    acc_final = accuracy(logits, test_batches.labels)
    total = budget.setup_s + train_s + eval_s
    if verbose:
        log_fn(f"final ({'TTA level ' + str(tta) if tta else 'no TTA'}): test acc {acc_final:.4f} after "
               f"{total:.1f}s (training {train_s:.1f}s, setup {budget.setup_s:.1f}s, final eval {eval_s:.1f}s)")
    return {"model": net, "test_acc": acc_final, "test_acc_plain": log[-1]["test_acc"], "time_s": total,
            "train_s": train_s, "setup_s": budget.setup_s, "eval_s": eval_s, "steps": budget.steps,
            "epochs": budget.steps / len(batches), "log": log, "amp": precision_name(dev, amp), "logits": logits,
            "tta": tta, "config": dict(r.items())}


# ---------------------------------------------------------------- sizing the net for a time budget

# Candidate widths, smallest first, with the fewest epochs each needs to beat the next smaller one in
# the same time. Epochs as trained (at the recipe's batch and resolution schedule); same-budget runs in
# bench/results/: in 300 s (32,128,128) at 11.3 epochs beat (32,64,64) at 16.6 (0.871 vs 0.859, fp32)
# and at 14.3 beat it at 21.3 (0.886 vs 0.865, bf16); in 600 s bf16 (64,256,256) at 10.0 epochs edged
# (32,128,128) at 28.7 (0.896 vs 0.893).
WIDTH_CHOICES = (((32, 64, 64), 0.0), ((32, 128, 128), 8.0), ((64, 256, 256), 10.0))


def train_speed(widths, dev=None, amp=None, batch_size: int = 64, steps: int = 2, channels_last: bool = True,
                size: int = 32) -> float:
    """Training images per second of FastNet(widths) on random size×size images: best of `steps` after a warm-up step."""

    dev = torch.device(dev) if dev is not None else pick_device()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = fastnet.FastNet(widths).to(dev, memory_format=fmt)
    net[0].bias.requires_grad_(False)
    opt, scaler = nesterov_sgd(net, batch_size=batch_size), grad_scaler(dev, amp)
    x = torch.randn(batch_size, 3, size, size, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch_size,), device=dev)
    best = float("inf")
    for i in range(steps + 1):                          # the first step warms up the kernels (steps=0: time it)
        t0 = time.perf_counter()
        step(net, x, y, smooth_cross_entropy, opt, scaler, dev, amp)
        synchronize(dev)
        if i or not steps:
            best = min(best, time.perf_counter() - t0)
    return batch_size / best


def schedule_speed(widths, dev=None, amp=None, recipe: Recipe = RECIPE, steps: int = 1) -> float:
    """Training images per second of FastNet(widths) as the recipe trains it: its batch, each image size for its share of time."""
    stages, start, total = [*(recipe.res_schedule or ()), (1.0, 32)], 0.0, 0.0
    for until, size in stages:
        if until > start:
            total += (until - start) * train_speed(widths, dev, amp, recipe.batch_size, steps,
                                                   recipe.channels_last, size)
            start = until
    return total


def choose_widths(budget_s: float, n_train: int = 50_000, dev=None, amp=None, choices=WIDTH_CHOICES,
                  speeds: dict | None = None):
    """The widest net in `choices` that still gets its minimum epochs within budget_s; returns (widths, epochs, speeds).

    speeds ({widths: images/s}) reuses measured speeds; the missing ones are measured with schedule_speed,
    smallest first, up to the first net that falls short (a wider one would fall shorter still).
    """
    speeds = dict(speeds or {})
    best = None
    for widths, min_epochs in choices:
        if widths not in speeds:
            speeds[widths] = schedule_speed(widths, dev, amp)
        epochs = 0.9 * budget_s * speeds[widths] / n_train    # ~10% of a budget goes to setup and evaluation
        if best is not None and epochs < min_epochs:
            break
        best = (widths, epochs)
    return best[0], best[1], speeds
