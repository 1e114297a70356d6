"""The fast CIFAR-10 network: a frozen patch-whitening conv, three conv groups with BatchNorm, a linear head.

Its classes are defined on first access (`fastnet.FastNet`), so importing this module, like every
helpers module, loads no framework before `helpers.set_threads()` has run.
"""
from __future__ import annotations

import functools

import torch
from torch import nn


@functools.cache
def _define_network() -> dict:
    """Define the fast net's layer classes once torch is wanted (importing this module stays framework-free)."""

    class BatchNorm(nn.BatchNorm2d):
        """BatchNorm with its scale fixed at 1 and a learned bias; momentum = fraction of old statistics kept."""
        def __init__(self, channels, momentum=0.6):
            """`channels` channels; running statistics keep `momentum` of their old value at each step."""
            super().__init__(channels, eps=1e-12, momentum=1 - momentum)
            self.weight.requires_grad_(False)

    class Conv(nn.Conv2d):
        """3×3 'same' convolution whose first filters start as the identity: an implicit residual."""
        def __init__(self, cin, cout, bias=False):
            """cin -> cout channels."""
            super().__init__(cin, cout, 3, padding="same", bias=bias)
            with torch.no_grad():
                nn.init.dirac_(self.weight[:cin])

    class ConvGroup(nn.Module):
        """conv -> 2×2 max-pool -> BN -> act -> conv -> BN -> act."""
        def __init__(self, cin, cout, batchnorm=True, bn_momentum=0.6, act=nn.GELU):
            """cin -> cout channels, half the height and width."""
            super().__init__()
            self.conv1, self.pool, self.conv2 = Conv(cin, cout, not batchnorm), nn.MaxPool2d(2), Conv(cout, cout, not batchnorm)
            self.norm1 = BatchNorm(cout, bn_momentum) if batchnorm else nn.Identity()
            self.norm2 = BatchNorm(cout, bn_momentum) if batchnorm else nn.Identity()
            self.act = act()

        def forward(self, x):
            """The group applied to a batch."""
            x = self.act(self.norm1(self.pool(self.conv1(x))))
            return self.act(self.norm2(self.conv2(x)))

    class FastNet(nn.Sequential):
        """2×2 whitening conv (frozen), 3 ConvGroups, global max-pool, linear; widths set the cost (~width²)."""
        def __init__(self, widths=(64, 256, 256), n_classes=10, whiten_width=24, batchnorm=True,
                     bn_momentum=0.6, scale=1 / 9, act="gelu"):
            """widths: channels of the 3 groups; whiten_width: filters of the first (whitening) conv."""
            act = {"gelu": nn.GELU, "relu": nn.ReLU}[act]
            w1, w2, w3 = widths
            super().__init__(nn.Conv2d(3, whiten_width, 2, padding=0, bias=True), act(),
                             *(ConvGroup(a, b, batchnorm, bn_momentum, act)
                               for a, b in [(whiten_width, w1), (w1, w2), (w2, w3)]),
                             nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(w3, n_classes, bias=False))
            self[0].weight.requires_grad_(False)
            self.scale = scale

        def forward(self, x):
            """Logits of a batch, times `scale` (a fixed temperature)."""
            return super().forward(x) * self.scale

    classes = {c.__name__: c for c in (BatchNorm, Conv, ConvGroup, FastNet)}
    for c in classes.values():
        c.__qualname__ = c.__name__          # so that pickle and repr find them as fastnet.<name>
    return classes


def __getattr__(name):
    """fastnet.FastNet, .ConvGroup, .Conv, .BatchNorm: the network classes, defined on first access."""
    if name in ("BatchNorm", "Conv", "ConvGroup", "FastNet"):
        return _define_network()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def init_whitening(conv, x, eps: float = 5e-4):
    """Set a frozen k×k conv to whiten image patches: filters ±eigenvectors/sqrt(eigenvalue+eps) of their covariance."""
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
