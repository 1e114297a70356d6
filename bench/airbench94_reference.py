"""A faithful port of airbench94 (Keller Jordan, github.com/KellerJordan/cifar10-airbench, file airbench94.py,
commit 01a2367: 94.01% mean in 1000 runs, 3.83 s on an A100) to this project, to run beside the course's
recipe in the same bench: same data, same machine, same run.

Written here from the published facts, not copied: hyperparameters (HYP), the network (2x2 whitening conv
with 24 filters and GELU, three conv groups conv-pool-BN-GELU-conv-BN-GELU with Dirac-initialised convs and
BatchNorm with a frozen scale, momentum 0.6 and eps 1e-12, 3x3 max-pool, a bias-free linear head scaled by
1/9), the data order (normalise, one random half pre-flipped and every image flipped in alternate epochs,
random translation by up to 2 px from reflect-padded images, a fresh permutation per epoch, the last
partial batch dropped), Nesterov SGD in decoupled form (lr 11.5 and weight decay 0.0153 per 1024
examples, BatchNorm biases at 64x the learning rate), the triangular schedule (0.2 -> 1 at 23% -> 0.07,
per step), the summed label-smoothed loss, the whitening bias trained for 3 epochs then frozen, the
Lookahead-style EMA (from epoch 3, every 5 steps, decay 0.95^5 x progress^3), and level-2 test-time
augmentation (mirror, and one-pixel translations up-left and down-right).

What differs, and why: the published script casts the net to fp16 on a CUDA device; here precision
follows helpers.device's policy through autocast (bf16 where the hardware runs it natively, fp16 on older
CUDA GPUs, fp32 elsewhere), with BatchNorm in fp32 as published. Sizes are options: base width (64 as
published; widths are w, 4w, 4w) and epochs (9.9 as published). Given a time budget, `epochs_for_budget`
picks the epochs from a measured speed instead of the budget changing the schedule, which stays the
published one. Imports torch only inside functions; run through bench/cifar10_time_to_accuracy.py
(--reference) or alone:

    python bench/airbench94_reference.py --epochs 9.9 --width 64
"""
from __future__ import annotations

import math
import time

HYP = dict(epochs=9.9, batch_size=1024, lr=11.5, momentum=0.85, weight_decay=0.0153, bias_scaler=64.0,
           label_smoothing=0.2, ema_start_epochs=3, ema_decay_base=0.95, ema_decay_pow=3.0, ema_every=5,
           whiten_bias_epochs=3, flip=True, translate=2, whiten_kernel=2, bn_momentum=0.6, base_width=64,
           scaling_factor=1 / 9, tta_level=2)
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def make_net(base_width: int = 64, n_classes: int = 10):
    """The airbench94 network at a base width (64 as published)."""
    import torch
    from torch import nn

    def conv(cin, cout, k=3, padding="same", bias=False):
        """A conv whose first cin filters start as the identity (Dirac), bias zero."""
        c = nn.Conv2d(cin, cout, k, padding=padding, bias=bias)
        with torch.no_grad():
            nn.init.dirac_(c.weight[:cin])
            if bias:
                c.bias.zero_()
        return c

    def bn(ch):
        """BatchNorm keeping 60% of its old statistics per step, scale frozen at 1, learned bias."""
        b = nn.BatchNorm2d(ch, eps=1e-12, momentum=1 - HYP["bn_momentum"])
        b.weight.requires_grad_(False)
        return b

    def group(cin, cout):
        """conv, 2x2 max-pool, BN, GELU, conv, BN, GELU (module names 'norm*' mark the BN biases)."""
        g = nn.Sequential()
        for name, m in [("conv1", conv(cin, cout)), ("pool", nn.MaxPool2d(2)), ("norm1", bn(cout)),
                        ("act1", nn.GELU()), ("conv2", conv(cout, cout)), ("norm2", bn(cout)), ("act2", nn.GELU())]:
            g.add_module(name, m)
        return g

    k = HYP["whiten_kernel"]
    ww, w1, w2, w3 = 2 * 3 * k * k, base_width, 4 * base_width, 4 * base_width
    whiten = nn.Conv2d(3, ww, k, padding=0, bias=True)
    whiten.weight.requires_grad_(False)
    net = nn.Sequential(whiten, nn.GELU(), group(ww, w1), group(w1, w2), group(w2, w3),
                        nn.MaxPool2d(3), nn.Flatten(), nn.Linear(w3, n_classes, bias=False))
    net.scale = HYP["scaling_factor"]
    return net


def forward(net, x):
    """Logits: the network times its fixed scale (published as a Mul layer)."""
    return net(x) * net.scale


def init_whitening(layer, x, eps: float = 5e-4):
    """Whitening filters: +/- eigenvectors of the patch covariance of x divided by sqrt(eigenvalue + eps)."""
    import torch
    c, (h, w) = x.shape[1], layer.weight.shape[2:]
    patches = x.float().unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c * h * w)
    cov = patches.T @ patches / len(patches)
    evals, evecs = torch.linalg.eigh(cov)
    evals, evecs = evals.flip(0), evecs.T.flip(0)
    filt = (evecs / torch.sqrt(evals + eps)[:, None]).reshape(-1, c, h, w)
    with torch.no_grad():
        layer.weight.copy_(torch.cat([filt, -filt]))


def _normalise(images_u8, dev):
    """uint8 NHWC array -> normalised float NCHW tensor on dev, channels_last."""
    import torch
    x = torch.as_tensor(images_u8).to(dev).permute(0, 3, 1, 2).float().div_(255)
    mean, std = torch.tensor(MEAN, device=dev).view(1, 3, 1, 1), torch.tensor(STD, device=dev).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def _crop(padded, size, r):
    """Random translation by up to r px: one crop per image of the reflect-padded batch."""
    import torch
    n = len(padded)
    shifts = torch.randint(-r, r + 1, (n, 2), device=padded.device)
    out = torch.empty((n, padded.shape[1], size, size), device=padded.device, dtype=padded.dtype)
    for sy in range(-r, r + 1):
        for sx in range(-r, r + 1):
            m = (shifts[:, 0] == sy) & (shifts[:, 1] == sx)
            out[m] = padded[m, :, r + sy:r + sy + size, r + sx:r + sx + size]
    return out


class Batches:
    """The published training order: pre-flipped random half, alternate-epoch flips, crops, permutation."""

    def __init__(self, images, labels, batch_size):
        """images: normalised float tensor (N, 3, 32, 32); labels: int64 tensor."""
        import torch
        import torch.nn.functional as F
        flip = torch.rand(len(images), device=images.device) < 0.5
        flipped = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
        r = HYP["translate"]
        self.padded = F.pad(flipped, (r,) * 4, mode="reflect") if r else flipped
        self.labels, self.batch_size, self.size, self.epoch = labels, batch_size, images.shape[-1], 0

    def __len__(self):
        """Full batches per epoch."""
        return len(self.labels) // self.batch_size

    def __iter__(self):
        """One epoch of (images, labels) batches."""
        import torch
        r = HYP["translate"]
        x = _crop(self.padded, self.size, r) if r else self.padded
        if self.epoch % 2 == 1:
            x = x.flip(-1)
        self.epoch += 1
        order = torch.randperm(len(x), device=x.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield x[idx], self.labels[idx]


def triangle(total_steps: int, start=0.2, peak=0.23, end=0.07):
    """Learning-rate factor per step: linear from `start` to 1 at `peak` of training, then to `end`."""
    top = int(peak * total_steps)

    def factor(i):
        """The factor at step i."""
        if i < top:
            return start + (1 - start) * i / max(top, 1)
        return 1 + (end - 1) * (i - top) / max(total_steps - top, 1)
    return factor


def tta_logits(net, x, level: int, amp_ctx):
    """Logits averaged over the published views: level 0 plain, 1 + mirror, 2 + one-pixel translations."""
    import torch
    import torch.nn.functional as F
    out = []
    with torch.no_grad():
        for xb in x.split(2000):
            with amp_ctx():
                def mirror(v):
                    """Plain and mirrored views, averaged."""
                    return 0.5 * forward(net, v).float() + 0.5 * forward(net, v.flip(-1)).float()
                if level == 0:
                    logits = forward(net, xb).float()
                elif level == 1:
                    logits = mirror(xb)
                else:
                    p = F.pad(xb, (1,) * 4, mode="reflect")
                    shifted = [mirror(p[:, :, 0:32, 0:32]), mirror(p[:, :, 2:34, 2:34])]
                    logits = 0.5 * mirror(xb) + 0.5 * torch.stack(shifted).mean(0)
            out.append(logits)
    return torch.cat(out)


def train(X, y, X_test, y_test, *, epochs: float = HYP["epochs"], base_width: int = HYP["base_width"],
          dev=None, amp="auto", seed: int = 0, tta_level: int = HYP["tta_level"], log_fn=None) -> dict:
    """Train airbench94 on uint8 NHWC arrays; return test accuracy (with and without TTA), seconds, epochs."""
    import torch
    from torch import nn

    import helpers
    dev = torch.device(dev) if dev is not None else helpers.device()
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    bs, mom = HYP["batch_size"], HYP["momentum"]
    images = _normalise(X, dev)
    labels = torch.as_tensor(y, dtype=torch.int64, device=dev)
    test_images, test_labels = _normalise(X_test, dev), torch.as_tensor(y_test, dtype=torch.int64, device=dev)
    batches = Batches(images, labels, bs)
    net = make_net(base_width, int(y.max()) + 1).to(dev, memory_format=torch.channels_last)
    init_whitening(net[0], images[:5000])
    kilostep = 1024 * (1 + 1 / (1 - mom))                  # decoupled form -> PyTorch's SGD parameters
    lr, wd = HYP["lr"] / kilostep, HYP["weight_decay"] * bs / kilostep
    lr_bias = lr * HYP["bias_scaler"]
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad or n == "0.bias"]
    biases = [p for n, p in named if "norm" in n]
    others = [p for n, p in named if "norm" not in n]
    opt = torch.optim.SGD([dict(params=biases, lr=lr_bias, weight_decay=wd / lr_bias),
                           dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=mom, nesterov=True)
    total = math.ceil(len(batches) * epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, triangle(total))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=HYP["label_smoothing"], reduction="none")
    scaler = helpers.grad_scaler(dev, amp)

    def amp_ctx():
        """The autocast context of this device and precision."""
        return helpers.autocast(dev, amp)

    ema, step = None, 0
    for epoch in range(math.ceil(epochs)):
        net[0].bias.requires_grad_(epoch < HYP["whiten_bias_epochs"])
        net.train()
        for xb, yb in batches:
            with amp_ctx():
                loss = loss_fn(forward(net, xb).float(), yb).sum()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            if epoch >= HYP["ema_start_epochs"] and step % HYP["ema_every"] == 0:
                if ema is None:
                    ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    rho = HYP["ema_decay_base"] ** HYP["ema_every"] * (step / total) ** HYP["ema_decay_pow"]
                    _lookahead(net, ema, rho)
            if step >= total:
                break
        if ema is not None:
            _lookahead(net, ema, 1.0)                  # copy the average back at the end of each epoch
        if log_fn:
            log_fn(f"epoch {epoch + 1}: loss {loss.item() / bs:.4f}, {time.perf_counter() - t0:.1f}s")
    net.eval()
    acc = (tta_logits(net, test_images, tta_level, amp_ctx).argmax(1) == test_labels).float().mean().item()
    seconds = time.perf_counter() - t0                 # training plus the TTA evaluation, as published
    plain = (tta_logits(net, test_images, 0, amp_ctx).argmax(1) == test_labels).float().mean().item()
    return {"test_acc": acc, "test_acc_no_tta": plain, "time_s": seconds, "epochs": epochs, "steps": step,
            "base_width": base_width, "amp": helpers.precision_name(dev, amp), "tta": tta_level}


def _lookahead(net, ema: dict, decay: float):
    """Move the averages toward the weights by (1 - decay), then copy them back into the net (Lookahead)."""
    import torch
    with torch.no_grad():
        for (k, avg), cur in zip(ema.items(), net.state_dict().values()):
            if cur.dtype.is_floating_point:
                avg.lerp_(cur, 1 - decay)
                cur.copy_(avg)


def speed(base_width: int, dev=None, amp="auto", steps: int = 3) -> float:
    """Training images per second of the net at base_width (batch 1024 of random data, after a warm-up step)."""
    import torch

    import helpers
    dev = torch.device(dev) if dev is not None else helpers.device()
    net = make_net(base_width).to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3, momentum=0.9, nesterov=True)
    x = torch.randn(HYP["batch_size"], 3, 32, 32, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (HYP["batch_size"],), device=dev)
    for i in range(steps + 1):
        if i == 1:
            helpers.synchronize(dev)
            t0 = time.perf_counter()
        with helpers.autocast(dev, amp):
            loss = torch.nn.functional.cross_entropy(forward(net, x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    helpers.synchronize(dev)
    return steps * HYP["batch_size"] / (time.perf_counter() - t0)


def epochs_for_budget(budget_s: float, images_per_s: float, n_train: int = 50_000, n_test: int = 10_000,
                      margin: float = 0.9) -> float:
    """Epochs (to 0.1) whose training plus a TTA-2 evaluation (12 forward views ~ 4 training images each) fit margin x budget."""
    eval_s = n_test * 12 / (3 * images_per_s)
    return max(0.1, math.floor(10 * (margin * budget_s - eval_s) * images_per_s / n_train) / 10)


def main():
    """Train once with the published settings (or the given sizes) and print the accuracy."""
    import argparse

    import helpers
    p = argparse.ArgumentParser(description="airbench94, ported (see the module docstring)")
    p.add_argument("--epochs", type=float, default=HYP["epochs"])
    p.add_argument("--width", type=int, default=HYP["base_width"])
    p.add_argument("--amp", default="auto", help="auto (helpers.device policy) or fp32")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--subset", type=int, default=None, help="train on this many images (smoke runs)")
    a = p.parse_args()
    helpers.set_threads(a.threads)
    from helpers.models import fastcifar
    from helpers.data.cifar import load_cifar10
    X, y, _ = load_cifar10("train")
    Xt, yt, _ = load_cifar10("test")
    if a.subset:
        X, y = fastcifar.subset(X, y, a.subset)
    r = train(X, y, Xt, yt, epochs=a.epochs, base_width=a.width, amp=None if a.amp == "fp32" else a.amp,
              log_fn=print)
    print(f"airbench94 port: {r['test_acc']:.4f} (no TTA {r['test_acc_no_tta']:.4f}) in {r['time_s']:.1f}s, "
          f"{r['epochs']} epochs, width {r['base_width']}, {r['amp']}")


if __name__ == "__main__":
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
