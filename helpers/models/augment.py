"""Image batches on the device: uint8 arrays to tensors, normalisation, batched flips, shifts and
resizing, and the Loader that owns them (airbench's loader object: data on the device, augmented
batch by batch).

Every function works on a whole NCHW batch with a few tensor operations, on whatever device the
batch lives (no Python loop over images). Used by helpers.models.fastcifar, seed_cnn and notebook 05.
"""
from __future__ import annotations

import math

import numpy as np
import torch

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def to_tensors(X, y=None, dev=None):
    """uint8 NHWC images (NumPy) -> uint8 NCHW torch tensor on `dev` (and int64 labels)."""
    x = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous().to(dev or "cpu")
    return x if y is None else (x, torch.as_tensor(y, dtype=torch.int64).to(dev or "cpu"))


def normalize(x, mean=CIFAR_MEAN, std=CIFAR_STD, channels_last: bool = False):
    """uint8 NCHW images -> float32 (x/255 - mean)/std, optionally in channels_last memory format."""
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1) * 255
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1) * 255
    out = (x.float() - m) / s
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def random_flip(x, generator=None):
    """Mirror each image of a batch left-right with probability 1/2 (NCHW, any dtype)."""
    mask = torch.rand(len(x), device=x.device, generator=generator) < 0.5
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def pad_reflect(x, pad: int):
    """Reflect-pad a batch of NCHW images by `pad` pixels on each side (works for uint8 too)."""
    if pad == 0:
        return x
    x = torch.cat([x[..., 1:pad + 1].flip(-1), x, x[..., -pad - 1:-1].flip(-1)], dim=-1)
    return torch.cat([x[..., 1:pad + 1, :].flip(-2), x, x[..., -pad - 1:-1, :].flip(-2)], dim=-2)


def random_crop(x_padded, size: int, generator=None):
    """Crop a random size×size window from each (pre-padded) image: a random translation."""
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


def augment(x, flip: bool = True, translate: int = 2, generator=None):
    """Batched random shift (up to `translate` pixels, reflected borders) and random flip of NCHW images."""
    x = random_crop(pad_reflect(x, translate), x.shape[-1], generator) if translate else x
    return random_flip(x, generator) if flip else x


def resize(x, size: int, channels_last: bool = False):
    """Bilinear (antialiased) resize of a float NCHW batch to size×size; unchanged when it has that size."""
    if size is None or size == x.shape[-1]:
        return x
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# ---------------------------------------------------------------- data: a loader that owns the augmentation

def subset(X, y, n: int, seed: int = 0):
    """A class-balanced random subset of n examples (the cached arrays are sorted by class)."""
    if n is None or n >= len(y):
        return X, y
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: n // k + (c < n % k)] for c in range(k)])
    idx = rng.permutation(idx)
    return X[idx], y[idx]


class Loader:
    """Batches of images held on the device, airbench-style: it owns shuffling, translation, flips,
    normalisation and resizing, and yields (float images, int64 labels) batch by batch.

    flip: "alternate" (each image mirrored in every other epoch, from a random start), True (at random)
    or False; translate: the largest shift in pixels; size: resize batches to size×size (None: as
    stored), which the training loop changes as it goes (progressive resizing). train=False: in
    order, no augmentation, the last partial batch kept. mean=(0,0,0), std=(1,1,1) only divide by 255.
    """

    def __init__(self, X, y, batch_size: int, dev=None, *, train: bool = True, flip="alternate",
                 translate: int = 2, mean=CIFAR_MEAN, std=CIFAR_STD, channels_last: bool = False, seed: int = 0):
        """Put the images on `dev` (and pad them once: a shifted batch is then a random crop)."""
        self.images, self.labels = to_tensors(X, y, dev)
        self.batch_size, self.train = batch_size, train
        self.flip, self.translate = (flip, translate) if train else (False, 0)
        self.mean, self.std, self.channels_last = mean, std, channels_last
        self.size, self.epoch = None, 0
        self.padded = pad_reflect(self.images, self.translate)
        gen = torch.Generator().manual_seed(seed)
        self.flip_first = (torch.rand(len(self.images), generator=gen) < 0.5).to(self.images.device)

    def __len__(self):
        """Batches per epoch (training drops the last partial batch)."""
        n, bs = len(self.images), self.batch_size
        return max(n // bs, 1) if self.train else math.ceil(n / bs)

    def __iter__(self):
        """One epoch of (float images, int64 labels) batches."""
        n, bs, dev = len(self.images), self.batch_size, self.images.device
        order = torch.randperm(n, device=dev) if self.train else torch.arange(n, device=dev)
        for i in range(len(self)):
            idx = order[i * bs:(i + 1) * bs]
            x = random_crop(self.padded[idx], self.images.shape[-1]) if self.translate else self.images[idx]
            if self.flip == "alternate":
                mirror = self.flip_first[idx] ^ bool(self.epoch % 2)
                x = torch.where(mirror.view(-1, 1, 1, 1), x.flip(-1), x)
            elif self.flip:
                x = random_flip(x)
            x = normalize(x, self.mean, self.std, self.channels_last)
            yield resize(x, self.size, self.channels_last), self.labels[idx]
        self.epoch += 1
