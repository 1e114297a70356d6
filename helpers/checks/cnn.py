"""Exercise checkers of notebook 05 (CNNs on CIFAR-10), on the framework of helpers.checks.

NumPy only: the references are written out here (tests/test_checks_cnn.py checks them against torch).
"""
from __future__ import annotations

import numpy as np

from . import _checker, _close, _Fail, _hint, _np, _result

__all__ = ["check_param_count", "check_receptive_field", "check_conv_macs", "check_fold_batchnorm"]


def _number(res, what):
    """The learner's result as one float, or a FAIL saying what was expected."""
    if res is None or isinstance(res, str):
        raise _Fail(f"return one number ({what}), not {type(res).__name__}")
    try:
        out = _np(res)
    except Exception:
        raise _Fail(f"return one number ({what}), not {type(res).__name__}") from None
    if out.size != 1:
        raise _Fail(f"return one number ({what}), not an array of shape {out.shape}")
    return float(out.reshape(-1)[0])


# ---------------------------------------------------------------- parameter count of a layer list

def _count(layers, conv_bias=True, lin_bias=True, bn=2, conv_cin=True, all_bias=False):
    """Reference parameter count of a layer list, or one of the typical mistakes the flags switch on."""
    total = 0
    for layer in layers:
        kind = layer[0]
        if kind == "conv":
            _, cin, cout, k, bias = layer
            total += k * k * (cin if conv_cin else 1) * cout + (cout if (bias or all_bias) and conv_bias else 0)
        elif kind == "linear":
            _, nin, nout, bias = layer
            total += nin * nout + (nout if (bias or all_bias) and lin_bias else 0)
        elif kind == "bn":
            total += bn * layer[1]
    return total


_PARAM_CASES = [
    [("conv", 3, 16, 3, True), ("relu",), ("pool", 2), ("conv", 16, 32, 3, False), ("bn", 32), ("relu",),
     ("pool", 2), ("flatten",), ("linear", 32 * 8 * 8, 10, True)],
    [("conv", 1, 8, 5, True), ("bn", 8), ("gelu",), ("conv", 8, 8, 3, False), ("bn", 8), ("gelu",),
     ("pool", 2), ("conv", 8, 24, 1, True), ("flatten",), ("linear", 24 * 4 * 4, 7, True)],
    [("conv", 3, 24, 2, True), ("gelu",), ("conv", 24, 40, 3, False), ("pool", 2), ("bn", 40), ("gelu",),
     ("conv", 40, 40, 3, False), ("bn", 40), ("gelu",), ("flatten",), ("linear", 40, 5, False),
     ("linear", 5, 3, True)],
]


@_checker
def check_param_count(fn) -> bool:
    """Check fn(layers) -> number of parameters (as torch's model.parameters() counts them) of a layer list."""
    for layers in _PARAM_CASES:
        got = _number(fn([tuple(x) for x in layers]), "the parameter count")
        want = _count(layers)
        if np.isclose(got, want, rtol=0, atol=0.5):
            continue
        cands = [("you left out the biases: a conv or linear layer with bias=True adds one per output",
                  _count(layers, False, False)),
                 ("the linear layers' biases are missing (one per output)", _count(layers, lin_bias=False)),
                 ("the conv layers' biases are missing (one per output channel when bias=True)",
                  _count(layers, conv_bias=False)),
                 ("BatchNorm is missing: it learns a scale and a shift per channel", _count(layers, bn=0)),
                 ("BatchNorm has TWO parameters per channel (scale gamma and shift beta)", _count(layers, bn=1)),
                 ("the running mean and variance of BatchNorm are buffers (statistics), not parameters: "
                  "training does not change them by gradient steps", _count(layers, bn=4)),
                 ("each conv filter spans ALL input channels: k*k*c_in weights per output channel",
                  _count(layers, conv_cin=False)),
                 ("a layer with bias=False has no bias parameters", _count(layers, all_bias=True))]
        _hint(got, cands, "the count is off; count, layer by layer, the weights, the biases and BatchNorm's "
              "per-channel parameters, and compare with sum(p.numel() for p in model.parameters())")
    print(f"PASS check_param_count: right on {len(_PARAM_CASES)} hidden architectures")
    return True


# ---------------------------------------------------------------- receptive field

def _rf(layers, mode="ok"):
    """Reference receptive field of a (kernel, stride) stack, or a typical mistake (mode)."""
    r, jump = 1, 1
    for k, s in layers:
        if mode == "no_stride":
            r += k - 1
        elif mode == "jump_first":
            jump *= s
            r += (k - 1) * jump
        else:
            r += (k - 1) * jump
            jump *= s
    return r


@_checker
def check_receptive_field(fn) -> bool:
    """Check fn(layers) -> receptive field (pixels along one axis) of one output of a stack [(kernel, stride)]."""
    rng = np.random.default_rng(51)
    cases = [[(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)], [(5, 2), (3, 1), (3, 2), (3, 1), (2, 2)]]
    for _ in range(6):
        cases.append([(int(rng.integers(1, 6)), int(rng.integers(1, 3))) for _ in range(int(rng.integers(3, 8)))])
    for layers in cases:
        got = _number(fn([tuple(x) for x in layers]), "the receptive field in pixels")
        want = _rf(layers)
        if np.isclose(got, want, rtol=0, atol=0.5):
            continue
        cands = [("you ignored the strides: after a stride-s layer, one step of the next kernel moves s pixels "
                  "of the input, so later kernels widen the field more", _rf(layers, "no_stride")),
                 ("a layer's own stride does not widen its own window: it only spaces out the windows of the "
                  "layers AFTER it (update the spacing after adding the layer's k-1)", _rf(layers, "jump_first")),
                 ("adding the kernel sizes counts the overlap twice: each extra layer adds k-1 steps",
                  sum(k for k, _ in layers)),
                 ("off by one: a single 1x1 layer sees 1 pixel, a single k x k layer sees k", _rf(layers) - 1)]
        _hint(got, cands, "the receptive field is off; track two numbers through the stack: the field r and the "
              "spacing (in input pixels) between neighbouring units of the current layer")
    print(f"PASS check_receptive_field: right on {len(cases)} hidden stacks")
    return True


# ---------------------------------------------------------------- cost of a conv layer

@_checker
def check_conv_macs(fn) -> bool:
    """Check fn(h, w, c_in, c_out, k, stride, padding) -> multiply-accumulates of one conv layer on one image."""
    rng = np.random.default_rng(52)
    cases = [(32, 32, 3, 32, 3, 1, 0), (16, 16, 64, 128, 3, 2, 0), (31, 17, 8, 5, 5, 2, 2)]
    for _ in range(8):
        k = int(rng.integers(1, 6))
        cases.append((int(rng.integers(k, 40)), int(rng.integers(k, 40)), int(rng.integers(1, 70)),
                      int(rng.integers(1, 70)), k, int(rng.integers(1, 4)), int(rng.integers(0, k))))
    for h, w, cin, cout, k, s, p in cases:
        got = _number(fn(h, w, cin, cout, k, s, p), "the multiply-accumulates")
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        want = ho * wo * cout * cin * k * k
        if np.isclose(got, want, rtol=1e-9, atol=0.5):
            continue
        cands = [("FLOPs are twice the multiply-accumulates (one multiply and one add each): count MACs",
                  2 * want),
                 ("the kernel slides over the OUTPUT positions: use the output height and width, not the input's",
                  h * w * cout * cin * k * k),
                 ("each output value sums over all input channels: c_in*k*k products per output value",
                  ho * wo * cout * k * k),
                 ("stride s skips positions: the output is about (h+2p-k)/s+1 wide",
                  (h + 2 * p - k + 1) * (w + 2 * p - k + 1) * cout * cin * k * k),
                 ("padding is added on both sides of the image", ((h + p - k) // s + 1) * ((w + p - k) // s + 1)
                  * cout * cin * k * k)]
        _hint(got, cands, "the count is off: (output positions) x (output channels) x (products per output value)")
    print(f"PASS check_conv_macs: right on {len(cases)} hidden layers")
    return True


# ---------------------------------------------------------------- folding BatchNorm into the conv before it

def _fold(w, b, gamma, beta, mean, var, eps, sqrt=True, eps_in=True, scale_b=True, axis=0, use_b=True):
    """Reference fold of eval-mode BatchNorm into a conv (w, b), or a typical mistake the flags switch on."""
    s = gamma / ((np.sqrt(var + eps) if eps_in else np.sqrt(var) + eps) if sqrt else var + eps)
    shape = [1] * w.ndim
    shape[axis] = -1
    b0 = b if use_b else 0 * b
    return w * s.reshape(shape), ((b0 - mean) * s if scale_b else b0 - mean) + beta


@_checker
def check_fold_batchnorm(fn) -> bool:
    """Check fn(w, b, gamma, beta, mean, var, eps) -> (w', b') with conv(x, w', b') = BatchNorm_eval(conv(x, w, b))."""
    rng = np.random.default_rng(53)
    for o, c, k, eps in [(4, 4, 1, 0.5), (6, 3, 3, 1e-5), (5, 8, 3, 0.1)]:
        w, b = rng.normal(size=(o, c, k, k)), rng.normal(size=o)
        gamma, beta = rng.normal(1, 0.5, size=o), rng.normal(size=o)
        mean, var = rng.normal(size=o), rng.uniform(0.05, 3.0, size=o)
        args = [a.copy() for a in (w, b, gamma, beta, mean, var)]
        res = fn(*args, eps)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise _Fail("return a tuple (w_folded, b_folded)")
        if not all(np.array_equal(a, a0) for a, a0 in zip(args, (w, b, gamma, beta, mean, var))):
            raise _Fail("your function changed its inputs in place; work on copies")
        w2, b2 = _result(res[0], w.shape, "folded weight"), _result(res[1], b.shape, "folded bias")
        ew, eb = _fold(w, b, gamma, beta, mean, var, eps)
        if _close(w2, ew, 1e-9) and _close(b2, eb, 1e-9):
            continue
        got = np.concatenate([w2.ravel(), b2])
        variants = [("BatchNorm divides by the standard deviation sqrt(var + eps), not by the variance",
                     dict(sqrt=False)),
                    ("eps goes inside the square root: sqrt(var + eps)", dict(eps_in=False)),
                    ("the bias must be scaled too: BN((conv + b) - mean) multiplies (b - mean) by gamma/std",
                     dict(scale_b=False)),
                    ("the conv's own bias b is part of what BatchNorm normalises: use (b - mean)", dict(use_b=False))]
        if o == c:
            variants.append(("scale each OUTPUT channel's filter (the first axis of w): BatchNorm acts on the "
                             "conv's output channels", dict(axis=1)))
        cands = [(h, np.concatenate([x.ravel() for x in _fold(w, b, gamma, beta, mean, var, eps, **kw)]))
                 for h, kw in variants]
        _hint(got, cands, "the folded conv does not match BatchNorm in evaluation mode applied after the "
                  "conv; write y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta and collect the terms")
    print("PASS check_fold_batchnorm: the folded conv matches conv + BatchNorm (eval) on 3 hidden layers")
    return True
