"""CNNs on CIFAR-10: the seed Keras CNN and its PyTorch twin, and a fast CPU/GPU training recipe.

Shared by notebooks/05_cnns_on_cifar10.ipynb and bench/cifar10_time_to_accuracy.py. Nothing here
imports torch, TensorFlow or Keras at module import time: each function imports what it needs.

The fast recipe follows the published ideas of airbench (Keller Jordan, 2024) and its ancestors
(Page's "How to train your ResNet", tysam-code's hlb-CIFAR10): data held in memory as tensors,
batched on-device flip/translate augmentation, a small VGG-like net with BatchNorm, a frozen
patch-whitening first layer, SGD with Nesterov momentum and a warmup/decay schedule, label
smoothing, weight averaging (lookahead/EMA), channels_last, optional bf16 autocast, progressive
resizing (low-resolution early steps) and test-time augmentation; the net's size is chosen to fit
a time budget. The code is written for this curriculum.
"""
from __future__ import annotations

import math
import time

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


# ---------------------------------------------------------------- the seed CNN in two frameworks

def seed_keras_cnn(n_classes: int = 10):
    """The seed's Keras CNN (004 §4): Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10 softmax."""
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ], name="seed_cnn")


def seed_torch_cnn(n_classes: int = 10, batchnorm: bool = False):
    """The PyTorch twin of the seed CNN (NCHW input, logits out); batchnorm=True adds BN after each conv."""
    from torch import nn

    def conv(cin, cout):
        return [nn.Conv2d(cin, cout, 3), *([nn.BatchNorm2d(cout)] if batchnorm else []), nn.ReLU()]
    return nn.Sequential(
        *conv(3, 32), nn.MaxPool2d(2),
        *conv(32, 64), nn.MaxPool2d(2),
        *conv(64, 64),
        nn.Flatten(),            # NCHW flatten: index c*16 + h*4 + w (Keras: h*256 + w*64 + c)
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, n_classes),
    )


def count_params(model) -> int:
    """Number of parameters of a Keras or PyTorch model (trainable and frozen)."""
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters())


def keras_param_table(model) -> list:
    """[(layer name, output shape, parameters)] of a built Keras model, for a printed table."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        rows.append((layer.__class__.__name__, shape, int(layer.count_params())))
    return rows


def torch_param_table(model) -> list:
    """[(module type, parameter shapes, parameters)] of the PyTorch modules that own parameters."""
    rows = []
    for m in model.modules():
        own = list(m.parameters(recurse=False))
        if own:
            rows.append((m.__class__.__name__, [tuple(p.shape) for p in own], sum(p.numel() for p in own)))
    return rows


def copy_keras_weights_to_torch(keras_model, torch_model, fix_flatten: bool = True):
    """Copy the seed CNN's weights from Keras (NHWC, HWIO kernels) into its PyTorch twin (NCHW, OIHW).

    fix_flatten=False skips the reordering of the first Dense layer's rows: the classic bug, for the lesson.
    """
    import numpy as np
    import torch
    from torch import nn
    targets = iter([m for m in torch_model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))])
    flat_hwc = None                                      # (H, W, C) that Keras' Flatten saw
    for layer in keras_model.layers:
        kind = layer.__class__.__name__
        if kind == "Flatten":
            flat_hwc = tuple(layer.input.shape[1:])
            continue
        if not layer.get_weights():
            continue
        w, b = layer.get_weights()
        if kind == "Conv2D":                             # (kh, kw, in, out) -> (out, in, kh, kw)
            w = w.transpose(3, 2, 0, 1)
        elif kind == "Dense":                            # (in, out) -> (out, in)
            if flat_hwc is not None and fix_flatten:     # rows come in H,W,C order; torch wants C,H,W
                h, wd, c = flat_hwc
                w = w.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(h * wd * c, -1)
                flat_hwc = None
            flat_hwc = None
            w = w.T
        else:
            raise ValueError(f"no rule to copy a Keras {kind} layer")
        target = next(targets)
        if tuple(target.weight.shape) != w.shape:
            raise ValueError(f"{layer.name}: Keras shape {w.shape} vs torch {tuple(target.weight.shape)}")
        with torch.no_grad():
            target.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            target.bias.copy_(torch.from_numpy(b))
    return torch_model


def keras_logits(keras_model, x):
    """The logits (pre-softmax outputs) of a Keras classifier whose last Dense has a softmax."""
    import numpy as np
    w, b = keras_model.layers[-1].get_weights()
    return np.asarray(keras_outputs(keras_model, x)[-2]) @ w + b


def keras_outputs(keras_model, x) -> list:
    """The output of every layer of a Keras Sequential model for input x (inference mode)."""
    outs = []
    for layer in keras_model.layers:
        x = layer(x, training=False)
        outs.append(x)
    return outs


# ---------------------------------------------------------------- data as in-memory tensors

def to_tensors(X, y=None, dev=None):
    """uint8 NHWC images (NumPy) -> uint8 NCHW torch tensor on `dev` (and int64 labels)."""
    import torch
    x = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous()
    x = x.to(dev) if dev is not None else x
    if y is None:
        return x
    yt = torch.as_tensor(y, dtype=torch.int64)
    return x, (yt.to(dev) if dev is not None else yt)


def normalize(x, mean=CIFAR_MEAN, std=CIFAR_STD, channels_last: bool = False):
    """uint8 NCHW images -> float32 (x/255 - mean)/std, optionally in channels_last memory format."""
    import torch
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1) * 255
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1) * 255
    out = (x.float() - m) / s
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def subset(X, y, n: int, seed: int = 0):
    """A class-balanced random subset of n examples (the cached arrays are sorted by class)."""
    import numpy as np
    if n is None or n >= len(y):
        return X, y
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: n // k + (c < n % k)] for c in range(k)])
    idx = rng.permutation(idx)
    return X[idx], y[idx]


# ---------------------------------------------------------------- batched augmentation

def random_flip(x, generator=None):
    """Mirror each image of a batch left-right with probability 1/2 (NCHW, any dtype)."""
    import torch
    mask = torch.rand(len(x), device=x.device, generator=generator) < 0.5
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def pad_reflect(x, pad: int):
    """Reflect-pad a batch of NCHW images by `pad` pixels on each side (works for uint8 too)."""
    import torch
    if pad == 0:
        return x
    x = torch.cat([x[..., 1:pad + 1].flip(-1), x, x[..., -pad - 1:-1].flip(-1)], dim=-1)
    return torch.cat([x[..., 1:pad + 1, :].flip(-2), x, x[..., -pad - 1:-1, :].flip(-2)], dim=-2)


def random_crop(x_padded, size: int, generator=None):
    """Crop a random size×size window from each (pre-padded) image: a random translation."""
    import torch
    n, c, hp, wp = x_padded.shape
    r = (hp - size) // 2
    shifts = torch.randint(0, 2 * r + 1, (n, 2), device=x_padded.device, generator=generator)
    rows = torch.empty((n, c, size, wp), dtype=x_padded.dtype, device=x_padded.device)
    for s in range(2 * r + 1):        # two passes of 2r+1 masked copies beat per-image indexing
        m = shifts[:, 0] == s
        rows[m] = x_padded[m, :, s:s + size, :]
    out = torch.empty((n, c, size, size), dtype=x_padded.dtype, device=x_padded.device)
    for s in range(2 * r + 1):
        m = shifts[:, 1] == s
        out[m] = rows[m, :, :, s:s + size]
    return out


def random_translate(x, pad: int = 2, generator=None):
    """Shift each image by up to `pad` pixels in x and y (reflect padding at the borders)."""
    return random_crop(pad_reflect(x, pad), x.shape[-1], generator) if pad else x


def augment(x, flip: bool = True, translate: int = 2, generator=None):
    """Batched random flip and translate of NCHW images, on whatever device they live."""
    if translate:
        x = random_translate(x, translate, generator)
    if flip:
        x = random_flip(x, generator)
    return x


# ---------------------------------------------------------------- loss, optimizer, schedule

def smooth_cross_entropy(logits, y, smoothing: float = 0.0, reduction: str = "mean"):
    """Cross-entropy against (1-s)·one_hot + s/K: label smoothing written out."""
    import torch
    logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    logp = torch.log_softmax(logits, dim=-1)
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
    """SGD with Nesterov momentum in airbench's decoupled units (lr, wd per 1024 examples, summed loss).

    BatchNorm biases get `bias_scaler` times the learning rate (same decay strength).
    """
    import torch
    kilostep = 1024 * (1 + 1 / (1 - momentum))   # step-size gain of Nesterov momentum on a constant gradient
    lr_ = lr / kilostep
    wd_ = weight_decay * batch_size / kilostep
    norm = [p for n, p in model.named_parameters() if p.requires_grad and (p.ndim < 2 and "norm" in n)]
    other = [p for n, p in model.named_parameters() if p.requires_grad and not (p.ndim < 2 and "norm" in n)]
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


# ---------------------------------------------------------------- the fast-recipe network

def fast_net(widths=(64, 256, 256), n_classes: int = 10, whiten_width: int = 24, batchnorm: bool = True,
             bn_momentum: float = 0.6, scale: float = 1 / 9, act: str = "gelu"):
    """VGG-like net: 2x2 whitening conv, then 3 groups of conv-pool-BN-act-conv-BN-act, global max-pool, linear.

    widths sets the cost (FLOPs grow with width²). BatchNorm has no learned scale (weight fixed at 1),
    only a bias; bn_momentum is the fraction of the old running statistics kept at each step.
    """
    import torch
    from torch import nn

    class BN(nn.BatchNorm2d):
        def __init__(self, c):
            super().__init__(c, eps=1e-12, momentum=1 - bn_momentum)
            self.weight.requires_grad_(False)

    class Conv(nn.Conv2d):
        def __init__(self, cin, cout):
            super().__init__(cin, cout, 3, padding="same", bias=not batchnorm)
            with torch.no_grad():              # identity init of the first cin filters: an implicit residual
                nn.init.dirac_(self.weight[:cin])

    Act = {"gelu": nn.GELU, "relu": nn.ReLU}[act]

    class Group(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv1, self.pool, self.conv2 = Conv(cin, cout), nn.MaxPool2d(2), Conv(cout, cout)
            self.norm1 = BN(cout) if batchnorm else nn.Identity()
            self.norm2 = BN(cout) if batchnorm else nn.Identity()
            self.act = Act()

        def forward(self, x):
            x = self.act(self.norm1(self.pool(self.conv1(x))))
            return self.act(self.norm2(self.conv2(x)))

    class Scale(nn.Module):
        def forward(self, x):
            return x * scale

    w1, w2, w3 = widths
    net = nn.Sequential(
        nn.Conv2d(3, whiten_width, 2, padding=0, bias=True), Act(),
        Group(whiten_width, w1), Group(w1, w2), Group(w2, w3),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(w3, n_classes, bias=False), Scale())
    net[0].weight.requires_grad_(False)
    return net


def init_whitening(conv, x, eps: float = 5e-4):
    """Set a frozen k×k conv to whiten image patches: filters ±eigenvectors/sqrt(eigenvalue+eps) of their covariance."""
    import torch
    c, (h, w) = x.shape[1], conv.weight.shape[2:]
    patches = torch.nn.functional.unfold(x.float(), (h, w))          # (N, c*h*w, positions)
    cov = torch.bmm(patches, patches.transpose(1, 2)).sum(0) / (patches.shape[0] * patches.shape[2])
    evals, evecs = torch.linalg.eigh(cov.double())
    evals, evecs = evals.float(), evecs.float()
    filt = (evecs.T / torch.sqrt(evals + eps)[:, None]).flip(0).reshape(-1, c, h, w)
    k = conv.weight.shape[0] // 2
    with torch.no_grad():
        conv.weight.copy_(torch.cat([filt[:k], -filt[:k]]))
        if conv.bias is not None:
            conv.bias.zero_()
    return conv


def ema_update(ema_state: dict, model, decay: float):
    """Lookahead-style averaging: ema <- decay·ema + (1-decay)·weights, then copy ema back to the model."""
    import torch
    with torch.no_grad():
        for (k, v), e in zip(model.state_dict().items(), ema_state.values()):
            if v.dtype.is_floating_point:
                e.lerp_(v, 1 - decay)
                v.copy_(e)


# ---------------------------------------------------------------- precision, prediction, TTA

def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX or AVX512-BF16); elsewhere bf16 is emulated and slow."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def auto_amp(dev) -> str | None:
    """Mixed-precision choice for a device: bf16 on CUDA/MPS and on CPUs with native bf16, else None (fp32)."""
    import torch
    dev = torch.device(dev)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if dev.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else None
    return None


EVAL_BATCH = 500


def predict(model, x, batch_size: int = EVAL_BATCH, amp=None, channels_last: bool = True, tta: int = 0):
    """Logits (float32) of uint8 NCHW images; tta 0 = plain, 1 = + mirror, 2 = + mirror and ±1-pixel shifts."""
    import torch
    from .device import autocast
    dev = next(model.parameters()).device
    model.eval()
    outs = []
    with torch.no_grad(), autocast(dev, amp):
        for i in range(0, len(x), batch_size):
            xb = normalize(x[i:i + batch_size].to(dev), channels_last=channels_last)
            outs.append(tta_logits(model, xb, tta).float())
    return torch.cat(outs)


def tta_logits(model, xb, level: int = 2):
    """Test-time augmentation: average logits over the image and its mirror (level 1), and ±1-pixel shifts (level 2)."""
    import torch
    out = model(xb)
    if level >= 1:
        out = 0.5 * out + 0.5 * model(xb.flip(-1))
    if level >= 2:
        p = torch.nn.functional.pad(xb, (1, 1, 1, 1), mode="reflect")
        h = xb.shape[-1]
        shifted = [p[..., :h, :h], p[..., 2:, 2:]]
        shifted = [s.contiguous(memory_format=torch.channels_last) if xb.is_contiguous(
            memory_format=torch.channels_last) else s for s in shifted]
        more = sum(0.5 * model(s) + 0.5 * model(s.flip(-1)) for s in shifted) / 2
        out = 0.5 * out + 0.5 * more
    return out


def accuracy(logits, y) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return float((logits.argmax(1).cpu() == y.cpu()).float().mean())


# ---------------------------------------------------------------- training

RECIPE = dict(widths=(64, 256, 256), batch_size=512, lr=11.5, momentum=0.85, weight_decay=0.0153,
              bias_scaler=64.0, label_smoothing=0.2, flip="alternate", translate=2, whiten=True,
              whiten_bias_frac=0.3, ema=True, ema_start=0.3, tta="auto", channels_last=True,
              res_schedule=((0.35, 20), (0.65, 24)))   # 20 px for the first 35% of training, 24 px to 65%, then 32


def train_fast(X, y, X_test, y_test, *, epochs: float | None = 10.0, budget_s: float | None = None,
               dev=None, amp="auto", seed: int = 0, eval_every: float = 1.0, verbose: bool = True,
               log_fn=print, **overrides) -> dict:
    """Train the fast recipe on uint8 NHWC arrays; return the model, accuracies and an accuracy-vs-time log.

    Give `epochs` (a float), or `budget_s`: the schedule then runs on the training clock and stops so that
    training plus the final (TTA) evaluation fit in budget_s seconds. Any RECIPE key can be overridden;
    res_schedule ((until_fraction, pixels), ...) trains early steps on downscaled images (None: always 32).
    Logged times are training wall-clock seconds; the periodic evaluations are not counted.
    """
    import numpy as np
    import torch

    from .device import autocast
    from .device import device as pick_device
    cfg = {**RECIPE, **overrides}
    unknown = set(overrides) - set(RECIPE) - {"batchnorm", "bn_momentum", "act", "net"}
    if unknown:
        raise TypeError(f"unknown recipe options {sorted(unknown)}")
    dev = torch.device(dev) if dev is not None else pick_device()
    amp = auto_amp(dev) if amp == "auto" else amp
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    cl, bs = cfg["channels_last"], cfg["batch_size"]

    t_start = time.perf_counter()
    xtr, ytr = to_tensors(X, y, dev)
    xte, yte = to_tensors(X_test, y_test, dev)
    pad = cfg["translate"]
    xpad = pad_reflect(xtr, pad) if pad else xtr          # pad once; each batch is then a random crop
    net = overrides.get("net") or fast_net(cfg["widths"], n_classes=int(y.max()) + 1,
                                           batchnorm=overrides.get("batchnorm", True),
                                           bn_momentum=overrides.get("bn_momentum", 0.6),
                                           act=overrides.get("act", "gelu"))
    net = net.to(dev)
    if cl:
        net = net.to(memory_format=torch.channels_last)
    whiten_conv = net[0] if isinstance(net[0], torch.nn.Conv2d) and not net[0].weight.requires_grad else None
    if whiten_conv is not None and cfg["whiten"]:
        init_whitening(whiten_conv, normalize(xtr[:2000]))
    elif whiten_conv is not None:                          # ablation: a plain trainable first conv
        whiten_conv.weight.requires_grad_(True)
    opt = nesterov_sgd(net, cfg["lr"], cfg["momentum"], cfg["weight_decay"], bs, cfg["bias_scaler"])
    scaler = torch.amp.GradScaler(dev.type, enabled=(amp == "fp16" and dev.type == "cuda"))
    n = len(xtr)
    steps_per_epoch = max(n // bs, 1)
    total_steps = math.ceil(steps_per_epoch * epochs) if budget_s is None else None

    # on a budget, reserve time for the final evaluation: time one evaluation batch now (this also
    # warms up the kernels for that batch size)
    # "auto" TTA: the 6 views of level 2 when they cost under 5% of the budget, else the 2 of level 1
    eval_reserve = 0.0
    tta = 2 if cfg["tta"] == "auto" else cfg["tta"]
    if budget_s is not None:
        probe = xte[:EVAL_BATCH]
        predict(net, probe, amp=amp, channels_last=cl)
        t0 = time.perf_counter()
        predict(net, probe, amp=amp, channels_last=cl)
        one_view = (time.perf_counter() - t0) * math.ceil(len(xte) / len(probe))
        if cfg["tta"] == "auto" and 6 * one_view > 0.05 * budget_s:
            tta = 1
        eval_reserve = one_view * {0: 1, 1: 2, 2: 6}[tta]
    setup_s = time.perf_counter() - t_start

    def progress(step, clock):
        if budget_s is None:
            return step / total_steps
        return clock / max(budget_s - setup_s - eval_reserve, 1e-3)

    log, clock, step, epoch, ema_state, step_s = [], 0.0, 0, 0, None, 0.0
    flip_base = torch.as_tensor(gen.random(n) < 0.5, device=dev)   # for alternating flips
    next_eval = eval_every
    done = False
    while not done:
        t0 = time.perf_counter()
        net.train()
        if whiten_conv is not None and cfg["whiten"]:
            whiten_conv.bias.requires_grad_(progress(step, clock) < cfg["whiten_bias_frac"])
        order = torch.randperm(n, device=dev)
        loss_sum, seen = 0.0, 0
        for i in range(steps_per_epoch):
            idx = order[i * bs:(i + 1) * bs]
            xb = random_crop(xpad[idx], xtr.shape[-1]) if pad else xtr[idx]
            if cfg["flip"] == "alternate":                 # each image flipped in every other epoch
                m = flip_base[idx] ^ bool(epoch % 2)
                xb = torch.where(m.view(-1, 1, 1, 1), xb.flip(-1), xb)
            elif cfg["flip"]:
                xb = random_flip(xb)
            xb = normalize(xb, channels_last=cl)
            yb = ytr[idx]
            elapsed = clock + time.perf_counter() - t0
            p = progress(step, elapsed)
            if p >= 1 or (budget_s is not None and progress(step, elapsed + step_s) > 1):
                done = True                                 # (on a budget: the next step would not fit)
                break
            t_step = time.perf_counter()
            size = next((s for until, s in cfg["res_schedule"] or () if p < until), None)
            if size and size != xb.shape[-1]:         # progressive resizing: cheaper low-resolution steps early
                xb = torch.nn.functional.interpolate(xb, size=(size, size), mode="bilinear", antialias=True,
                                                     align_corners=False)
                xb = xb.contiguous(memory_format=torch.channels_last) if cl else xb
            set_lr(opt, triangle(p))
            with autocast(dev, amp):
                out = net(xb)
            loss = smooth_cross_entropy(out, yb, cfg["label_smoothing"], reduction="sum")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            loss_sum += float(loss.detach())
            dt = time.perf_counter() - t_step                # step time, without the first (warm-up) step
            step_s = 0.0 if step == 1 else dt if step == 2 else 0.8 * step_s + 0.2 * dt
            seen += len(yb)
            if cfg["ema"] and p >= cfg["ema_start"] and step % 5 == 0:
                if ema_state is None:
                    ema_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    ema_update(ema_state, net, (0.95 ** 5) * p ** 3)
        if ema_state is not None:
            ema_update(ema_state, net, 1.0)               # the model carries the averaged weights
        clock += time.perf_counter() - t0
        if seen == 0 and log:                              # the budget ran out at an epoch boundary
            break
        epoch += 1
        if budget_s is None and step >= total_steps:
            done = True
        if epoch >= next_eval or done:
            next_eval += eval_every
            acc = accuracy(predict(net, xte, amp=amp, channels_last=cl), yte)
            log.append({"epoch": epoch, "time_s": round(clock + setup_s, 2), "train_loss": loss_sum / max(seen, 1),
                        "test_acc": acc})
            if verbose:
                log_fn(f"epoch {epoch:3d}  {clock + setup_s:7.1f}s  train loss {loss_sum / max(seen, 1):.4f}"
                       f"  test acc {acc:.4f}")
    t0 = time.perf_counter()
    logits = predict(net, xte, amp=amp, channels_last=cl, tta=tta)
    tta_s = time.perf_counter() - t0
    acc_final = accuracy(logits, yte)
    total = clock + setup_s + tta_s
    if verbose:
        log_fn(f"final ({'TTA level ' + str(tta) if tta else 'no TTA'}): test acc {acc_final:.4f} "
               f"after {total:.1f}s (training {clock:.1f}s, setup {setup_s:.1f}s, final eval {tta_s:.1f}s)")
    return {"model": net, "test_acc": acc_final, "test_acc_plain": log[-1]["test_acc"], "time_s": total,
            "train_s": clock, "setup_s": setup_s, "eval_s": tta_s, "steps": step, "epochs": step / steps_per_epoch,
            "log": log, "amp": amp, "logits": logits, "tta": tta,
            "config": {k: v for k, v in cfg.items() if k != "net"}}


def train_seed_torch(X, y, X_test, y_test, *, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                     augment_data: bool = False, batchnorm: bool = False, channels_last: bool = False,
                     dev=None, amp=None, seed: int = 0, verbose: bool = True, log_fn=print) -> dict:
    """Train the seed CNN's PyTorch twin with Adam on in-memory tensors; return model, accuracy and a time log."""
    import torch

    from .device import autocast
    from .device import device as pick_device
    dev = torch.device(dev) if dev is not None else pick_device()
    torch.manual_seed(seed)
    net = seed_torch_cnn(int(y.max()) + 1, batchnorm=batchnorm).to(dev)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    xtr, ytr = to_tensors(X, y, dev)
    xte, yte = to_tensors(X_test, y_test, dev)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)    # the seed only divides by 255
    log, clock = [], 0.0
    for ep in range(epochs):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(xtr), device=dev)
        for i in range(0, len(xtr), batch_size):
            idx = order[i:i + batch_size]
            xb = augment(xtr[idx]) if augment_data else xtr[idx]
            xb = normalize(xb, mean, std, channels_last)
            with autocast(dev, amp):
                loss = torch.nn.functional.cross_entropy(net(xb).float(), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        clock += time.perf_counter() - t0
        net.eval()
        with torch.no_grad(), autocast(dev, amp):
            logits = torch.cat([net(normalize(xte[i:i + 1000], mean, std, channels_last)).float()
                                for i in range(0, len(xte), 1000)])
        acc = accuracy(logits, yte)
        log.append({"epoch": ep + 1, "time_s": round(clock, 2), "test_acc": acc})
        if verbose:
            log_fn(f"epoch {ep + 1:3d}  {clock:7.1f}s  test acc {acc:.4f}")
    return {"model": net, "test_acc": acc, "time_s": clock, "log": log, "logits": logits}


def budget_table(log: list, budgets_s=(60, 120, 300, 600), key: str = "test_acc") -> dict:
    """{budget: best accuracy logged at or before that many seconds} from an accuracy-vs-time log."""
    out = {}
    for b in budgets_s:
        within = [r[key] for r in log if r["time_s"] <= b]
        out[b] = max(within) if within else None
    return out


def keras_clock():
    """A Keras callback that logs test accuracy against training wall-clock (validation time excluded)."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.log, self.clock, self._t = [], 0.0, time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_test_begin(self, logs=None):          # validation runs inside the epoch: stop the clock
            self.clock += time.perf_counter() - self._t

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if "val_accuracy" not in logs:
                self.clock += time.perf_counter() - self._t
            self.log.append({"epoch": epoch + 1, "time_s": round(self.clock, 2),
                             "test_acc": float(logs.get("val_accuracy", float("nan")))})
    return Clock()


def train_seed_keras(X, y, X_test, y_test, *, epochs: int = 10, batch_size: int = 64, seed: int = 0,
                     verbose: int = 0) -> dict:
    """Train the seed Keras CNN as published (x/255, one-hot, Adam, categorical cross-entropy); log accuracy vs time."""
    import keras
    keras.utils.set_random_seed(seed)
    model = seed_keras_cnn(int(y.max()) + 1)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    xtr, xte = X / 255.0, X_test / 255.0
    ytr, yte = keras.utils.to_categorical(y), keras.utils.to_categorical(y_test)
    clock = keras_clock()
    hist = model.fit(xtr, ytr, epochs=epochs, batch_size=batch_size, validation_data=(xte, yte),
                     callbacks=[clock], verbose=verbose)
    return {"model": model, "history": hist.history, "log": clock.log, "time_s": clock.clock,
            "test_acc": clock.log[-1]["test_acc"]}


# ---------------------------------------------------------------- exercise checkers

def _run_check(name, fn, cases, hint):
    """Run fn on (args, expected) cases; print PASS or a hint; return True/False (never raises)."""
    import numpy as np
    for args, want in cases:
        try:
            got = fn(*args)
        except NotImplementedError:
            print(f"{name}: not implemented yet")
            return False
        except Exception as e:  # noqa: BLE001 - a learner's bug is reported, not raised
            print(f"FAIL {name}: raised {type(e).__name__}: {e}")
            return False
        if np.shape(got) != np.shape(want) or not np.allclose(got, want, atol=1e-5):
            print(f"FAIL {name}: {hint(args, got, want)}")
            return False
    print(f"PASS {name}: {len(cases)} hidden cases agree")
    return True


def check_conv_output_size(fn) -> bool:
    """Checker: fn(n, k, padding, stride) must return the output size of a convolution or pooling layer."""
    import numpy as np
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(40):
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        p, n = int(rng.integers(0, k)), int(rng.integers(k, 40))
        cases.append(((n, k, p, s), (n + 2 * p - k) // s + 1))

    def hint(args, got, want):
        n, k, p, s = args
        msg = f"for n={n}, k={k}, padding={p}, stride={s} you return {got}. "
        if got == (n + p - k) // s + 1:
            return msg + "Padding is added on both sides of the image."
        if got == (n + 2 * p - k) / s + 1:
            return msg + "A window that does not fit is dropped: round down."
        return msg + "Count how many window positions fit into the padded image."
    return _run_check("conv_output_size", fn, cases, hint)


def check_keras_dense_to_torch(fn) -> bool:
    """Checker: fn(kernel, h, w, c) maps a Keras Dense kernel after Flatten (h*w*c, out) to a torch Linear weight."""
    import numpy as np
    rng = np.random.default_rng(7)
    cases = []
    for h, w, c, o in [(4, 4, 64, 3), (2, 3, 5, 4), (3, 3, 2, 2)]:
        k = rng.normal(size=(h * w * c, o)).astype(np.float32)
        cases.append(((k, h, w, c), k.reshape(h, w, c, o).transpose(3, 2, 0, 1).reshape(o, c * h * w)))

    def hint(args, got, want):
        k = args[0]
        if np.shape(got) == np.shape(want) and np.allclose(got, k.T):
            return "a plain transpose keeps Keras' H,W,C order of the inputs; torch flattens C,H,W."
        if np.shape(got) != np.shape(want):
            return f"shape {np.shape(got)}, expected {np.shape(want)} (torch Linear weight is (out, in))."
        return "reshape the rows to (h, w, c), move c first, flatten again, then transpose."
    return _run_check("keras_dense_to_torch", fn, cases, hint)


# ---------------------------------------------------------------- sizing the net for a time budget

# Candidate widths, smallest first, with the fewest epochs each needs to beat the next smaller one
# in the same time (measured on the CIFAR-10 JPEG mirror; see bench/cifar10_time_to_accuracy.py).
WIDTH_CHOICES = (((32, 64, 64), 0.0), ((32, 128, 128), 6.0), ((64, 256, 256), 10.0))


def train_speed(widths, dev=None, amp=None, batch_size: int = 64, steps: int = 2,
                channels_last: bool = True) -> float:
    """Training images per second of fast_net(widths) on this machine, from a few steps on random data."""
    import torch

    from .device import autocast
    from .device import device as pick_device
    dev = torch.device(dev) if dev is not None else pick_device()
    net = fast_net(widths).to(dev)
    net = net.to(memory_format=torch.channels_last) if channels_last else net
    net[0].bias.requires_grad_(False)
    opt = nesterov_sgd(net, batch_size=batch_size)
    x = torch.randn(batch_size, 3, 32, 32, device=dev)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    y = torch.randint(0, 10, (batch_size,), device=dev)
    best = float("inf")
    for i in range(steps + 1):                          # the first step warms up the kernels
        t0 = time.perf_counter()
        with autocast(dev, amp):
            out = net(x)
        loss = smooth_cross_entropy(out, y, 0.2, "sum")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())                            # waits for an asynchronous device
        if i:
            best = min(best, time.perf_counter() - t0)
    return batch_size / best


def choose_widths(budget_s: float, n_train: int = 50_000, dev=None, amp=None, choices=WIDTH_CHOICES,
                  speeds: dict | None = None):
    """The widest net in `choices` that still gets its minimum number of epochs within budget_s seconds.

    Returns (widths, projected epochs, {widths: images/s}); pass `speeds` to reuse measured speeds.
    """
    speeds = dict(speeds or {})
    best = None
    for widths, min_epochs in choices:
        if widths not in speeds:
            speeds[widths] = train_speed(widths, dev, amp)
        epochs = 0.85 * budget_s * speeds[widths] / n_train   # ~15% of a budget goes to setup and evaluation
        if best is None or epochs >= min_epochs:
            best = (widths, epochs)
    return best[0], best[1], speeds
