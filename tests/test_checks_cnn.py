"""Notebook 05's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import cnn as C
from helpers.checks.cnn import _PARAM_CASES, _count, _fold, _rf
from checker_util import fails, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ parameter count

def count_ok(layers):
    """Weights plus biases of conv/linear layers, plus BatchNorm's scale and shift per channel."""
    n = 0
    for kind, *a in layers:
        if kind == "conv":
            cin, cout, k, bias = a
            n += k * k * cin * cout + bias * cout
        elif kind == "linear":
            nin, nout, bias = a
            n += nin * nout + bias * nout
        elif kind == "bn":
            n += 2 * a[0]
    return n


def _torch_model(layers):
    """The torch module a layer list describes (flatten and linear sizes as given)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    make = {"conv": lambda cin, cout, k, b: nn.Conv2d(cin, cout, k, bias=b), "bn": nn.BatchNorm2d,
            "linear": lambda i, o, b: nn.Linear(i, o, bias=b), "relu": nn.ReLU, "gelu": nn.GELU,
            "pool": nn.MaxPool2d, "flatten": nn.Flatten}
    return nn.Sequential(*(make[kind](*a) for kind, *a in layers))


@pytest.mark.parametrize("layers", _PARAM_CASES)
def test_param_count_reference_is_torch(layers):
    assert _count(layers) == sum(p.numel() for p in _torch_model(layers).parameters())


def test_param_count_accepts_right_answers(capsys):
    passes(C.check_param_count, count_ok, capsys)
    passes(C.check_param_count, lambda layers: sum(p.numel() for p in _torch_model(layers).parameters()), capsys)


def _with(**kw):
    """count_ok with a typical mistake switched on (via the reference's flags)."""
    return lambda layers: _count(layers, **kw)


@pytest.mark.parametrize("mistake, hint", [
    (_with(conv_bias=False, lin_bias=False), "left out the biases"),
    (_with(lin_bias=False), "linear layers' biases"),
    (_with(conv_bias=False), "conv layers' biases"),
    (_with(bn=0), "BatchNorm is missing"),
    (_with(bn=1), "TWO parameters per channel"),
    (_with(bn=4), "buffers"),
    (_with(conv_cin=False), "ALL input channels"),
    (_with(all_bias=True), "bias=False has no bias"),
    (lambda layers: count_ok(layers) + 1, "the count is off"),
    (lambda layers: [count_ok(layers)] * 2, "one number"),
    (lambda layers: "many", "one number"),
    (_stub, "not implemented yet"),
])
def test_param_count_rejects_typical_mistakes(mistake, hint, capsys):
    out = fails(C.check_param_count, mistake, hint, capsys)
    for layers in _PARAM_CASES:
        assert str(_count(layers)) not in out and f"{_count(layers):,}" not in out


# ------------------------------------------------------------------ receptive field

def rf_ok(layers):
    """Each layer adds (k-1) times the spacing of its inputs; its stride multiplies the spacing after it."""
    r, jump = 1, 1
    for k, s in layers:
        r, jump = r + (k - 1) * jump, jump * s
    return r


def rf_torch(layers):
    """Receptive field measured: the input pixels one output unit's gradient reaches (1-D convs, all-ones weights)."""
    torch = pytest.importorskip("torch")
    n = 200
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s in layers:
        h = torch.nn.functional.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s)
    h[0, 0, h.shape[-1] // 2].backward()
    nz = torch.nonzero(x.grad[0, 0]).ravel()
    return int(nz.max() - nz.min() + 1)


@pytest.mark.parametrize("layers", [[(3, 1), (3, 1), (2, 2), (3, 1)], [(5, 2), (3, 1), (3, 2), (3, 1), (2, 2)],
                                    [(2, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1)]])
def test_receptive_field_reference_is_measured(layers):
    assert _rf(layers) == rf_ok(layers) == rf_torch(layers)


def test_receptive_field_accepts_right_answers(capsys):
    passes(C.check_receptive_field, rf_ok, capsys)
    passes(C.check_receptive_field, lambda layers: float(rf_ok(layers)), capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda layers: _rf(layers, "no_stride"), "ignored the strides"),
    (lambda layers: _rf(layers, "jump_first"), "own stride"),
    (lambda layers: sum(k for k, _ in layers), "overlap twice"),
    (lambda layers: rf_ok(layers) - 1, "off by one"),
    (lambda layers: rf_ok(layers) + 5, "track two numbers"),
    (lambda layers: None, "one number"),
    (_stub, "not implemented yet"),
])
def test_receptive_field_rejects_typical_mistakes(mistake, hint, capsys):
    out = fails(C.check_receptive_field, mistake, hint, capsys)
    for layers in ([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)], [(5, 2), (3, 1), (3, 2), (3, 1), (2, 2)]):
        assert str(rf_ok(layers)) not in out, out


# ------------------------------------------------------------------ cost of a conv layer

def macs_ok(h, w, cin, cout, k, s, p):
    """Output positions x output channels x (c_in k k) products each."""
    return ((h + 2 * p - k) // s + 1) * ((w + 2 * p - k) // s + 1) * cout * cin * k * k


@pytest.mark.parametrize("case", [(32, 32, 3, 32, 3, 1, 0), (16, 16, 64, 128, 3, 2, 1), (31, 17, 8, 5, 5, 2, 2)])
def test_conv_macs_reference_is_torch_flop_counter(case):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    h, w, cin, cout, k, s, p = case
    conv = torch.nn.Conv2d(cin, cout, k, s, p, bias=False)
    with FlopCounterMode(display=False) as fc:
        conv(torch.zeros(1, cin, h, w))
    assert fc.get_total_flops() == 2 * macs_ok(*case)            # torch counts a multiply-add as 2 FLOPs


def test_conv_macs_accepts_right_answer(capsys):
    passes(C.check_conv_macs, macs_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda *a: 2 * macs_ok(*a), "FLOPs are twice"),
    (lambda h, w, cin, cout, k, s, p: h * w * cout * cin * k * k, "OUTPUT positions"),
    (lambda h, w, cin, cout, k, s, p: macs_ok(h, w, cin, cout, k, s, p) // cin, "all input channels"),
    (lambda h, w, cin, cout, k, s, p: macs_ok(h, w, cin, cout, k, 1, p), "stride"),
    (lambda h, w, cin, cout, k, s, p: ((h + p - k) // s + 1) * ((w + p - k) // s + 1) * cout * cin * k * k,
     "both sides"),
    (lambda *a: macs_ok(*a) + 7, "the count is off"),
    (_stub, "not implemented yet"),
])
def test_conv_macs_rejects_typical_mistakes(mistake, hint, capsys):
    out = fails(C.check_conv_macs, mistake, hint, capsys)
    assert str(macs_ok(32, 32, 3, 32, 3, 1, 0)) not in out


# ------------------------------------------------------------------ folding BatchNorm into a conv

def fold_ok(w, b, gamma, beta, mean, var, eps):
    """gamma (conv + b - mean) / sqrt(var + eps) + beta, collected into one conv."""
    s = gamma / np.sqrt(var + eps)
    return w * s[:, None, None, None], (b - mean) * s + beta


def test_fold_reference_matches_torch_conv_bn_eval():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    conv, bn = torch.nn.Conv2d(4, 6, 3).double(), torch.nn.BatchNorm2d(6, eps=0.01).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.normal(1, 0.5, 6)))
        bn.bias.copy_(torch.tensor(rng.normal(size=6)))
        bn.running_mean.copy_(torch.tensor(rng.normal(size=6)))
        bn.running_var.copy_(torch.tensor(rng.uniform(0.1, 2, 6)))
    bn.eval()
    x = torch.tensor(rng.normal(size=(2, 4, 8, 8)))
    w, b = fold_ok(*(t.detach().numpy() for t in (conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean,
                                                   bn.running_var)), bn.eps)
    folded = torch.nn.functional.conv2d(x, torch.tensor(w), torch.tensor(b))
    assert torch.allclose(folded, bn(conv(x)), atol=1e-10)
    assert np.allclose(w, _fold(*(t.detach().numpy() for t in (conv.weight, conv.bias, bn.weight, bn.bias,
                                                                 bn.running_mean, bn.running_var)), bn.eps)[0])


def test_fold_accepts_right_answer(capsys):
    passes(C.check_fold_batchnorm, fold_ok, capsys)
    passes(C.check_fold_batchnorm, lambda *a: list(fold_ok(*a)), capsys)


def _fold_with(**kw):
    return lambda w, b, g, be, m, v, eps: _fold(w, b, g, be, m, v, eps, **kw)


@pytest.mark.parametrize("mistake, hint", [
    (_fold_with(sqrt=False), "standard deviation"),
    (_fold_with(eps_in=False), "inside the square root"),
    (_fold_with(scale_b=False), "bias must be scaled"),
    (_fold_with(use_b=False), "own bias b"),
    (lambda w, b, g, be, m, v, eps: (w * (g / np.sqrt(v + eps))[None, :, None, None],
                                     fold_ok(w, b, g, be, m, v, eps)[1]), "OUTPUT channel"),
    (lambda *a: fold_ok(*a)[0], "tuple"),
    (lambda *a: (fold_ok(*a)[0][:, :1], fold_ok(*a)[1]), "shape"),
    (lambda *a: (fold_ok(*a)[0], fold_ok(*a)[1] + 0.1), "collect the terms"),
    (_stub, "not implemented yet"),
])
def test_fold_rejects_typical_mistakes(mistake, hint, capsys):
    with np.errstate(all="ignore"):
        fails(C.check_fold_batchnorm, mistake, hint, capsys)


def test_fold_rejects_mutation(capsys):
    def mutating(w, b, gamma, beta, mean, var, eps):
        out = fold_ok(w, b, gamma, beta, mean, var, eps)
        w *= out[0]
        return out
    fails(C.check_fold_batchnorm, mutating, "in place", capsys)
