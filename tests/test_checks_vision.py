"""Notebook 10's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import vision as C
from checker_util import fails, passes, _stub  # noqa: E402


# ------------------------------------------------------------------ Grad-CAM with global average pooling

def gradcam_ok(A, W, c):
    """d score_c / d A[k, i, j] = W[c, k] / (H*W); alpha_k is its mean; ReLU of the weighted sum."""
    alpha = W[c] / (A.shape[1] * A.shape[2])
    return np.maximum(np.einsum("k,khw->hw", alpha, A), 0)


def test_gradcam_accepts_the_definition(capsys):
    passes(C.check_gradcam_gap, gradcam_ok, capsys)


def test_gradcam_accepts_autograd():
    torch = pytest.importorskip("torch")

    def with_autograd(A, W, c):
        a = torch.tensor(A, requires_grad=True)
        score = (torch.tensor(W) @ a.mean(dim=(1, 2)))[c]
        (g,) = torch.autograd.grad(score, a)
        return torch.relu((g.mean(dim=(1, 2))[:, None, None] * a).sum(0)).detach().numpy()
    assert C.check_gradcam_gap(with_autograd)


@pytest.mark.parametrize("mistake, hint", [
    (lambda A, W, c: np.einsum("k,khw->hw", W[c] / (A.shape[1] * A.shape[2]), A), "negative values"),
    (lambda A, W, c: np.maximum(np.einsum("k,khw->hw", W[c], A), 0), "H*W"),
    (lambda A, W, c: gradcam_ok(A, W, c) / (A.shape[1] * A.shape[2]), "H*W"),
    (lambda A, W, c: gradcam_ok(A, W, c) / max(gradcam_ok(A, W, c).max(), 1e-12), "rescale"),
    (lambda A, W, c: gradcam_ok(A, W, (c + 1) % W.shape[0]), "row of W"),
    (lambda A, W, c: gradcam_ok(A, -W, c), "sign error"),
    (lambda A, W, c: np.maximum(W[c][:, None, None] / (A.shape[1] * A.shape[2]) * A, 0).sum(0), "ReLU comes once"),
    (lambda A, W, c: A.mean(0), "does not match"),
    (lambda A, W, c: gradcam_ok(A, W, c).T, "shape"),
    (_stub, "not implemented yet"),
])
def test_gradcam_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_gradcam_gap, mistake, hint, capsys)


def test_gradcam_rejects_mutation(capsys):
    def mutating(A, W, c):
        A *= 1.0
        A[0] = 0
        return gradcam_ok(A, W, c)
    fails(C.check_gradcam_gap, mutating, "changed A or W", capsys)


# ------------------------------------------------------------------ int8 size arithmetic

def sizes_ok(layers):
    n_w = sum(int(np.prod(s)) for s, _ in layers)
    n_b = sum(s[0] for s, b in layers if b)
    n_out = sum(s[0] for s, _ in layers)
    return 4 * (n_w + n_b), n_w + 4 * n_b + 5 * n_out


def test_int8_size_accepts_a_right_count(capsys):
    passes(C.check_int8_size, sizes_ok, capsys)


def test_int8_size_reference_by_hand():
    # one 3x3 conv 1 -> 2 channels with bias: 18 weights + 2 biases; int8 adds 2 x (scale 4 + zero point 1)
    assert C._sizes([((2, 1, 3, 3), True)]) == (80, 18 + 8 + 10)


def _count(layers, w_bytes=1, b_bytes=4, per_channel=5, f_bytes=4, bias_always=False, per_layer=False):
    n_w = sum(int(np.prod(s)) for s, _ in layers)
    n_b = sum(s[0] for s, b in layers if b or bias_always)
    extra = per_channel * (len(layers) if per_layer else sum(s[0] for s, _ in layers))
    return f_bytes * (n_w + n_b), w_bytes * n_w + b_bytes * n_b + extra


@pytest.mark.parametrize("mistake, hint", [
    (lambda L: tuple(8 * v for v in sizes_ok(L)), "bits"),
    (lambda L: (2 * sizes_ok(L)[0], sizes_ok(L)[1]), "float64"),
    (lambda L: _count(L, per_channel=0), "scale"),
    (lambda L: _count(L, b_bytes=1), "biases are not quantized"),
    (lambda L: _count(L, per_layer=True), "per tensor"),
    (lambda L: _count(L, bias_always=True), "without a bias"),
    (lambda L: sizes_ok(L)[::-1], "first number"),
    (lambda L: sizes_ok(L)[0], "pair"),
    (_stub, "not implemented yet"),
])
def test_int8_size_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_int8_size, mistake, hint, capsys)


# ------------------------------------------------------------------ stratified split

def split_ok(y, frac, seed):
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:round(frac * np.sum(y == c))]
                           for c in np.unique(y)])
    return np.setdiff1d(np.arange(len(y)), test), test


def split_floor_ceil(rounding):
    def split(y, frac, seed):
        rng = np.random.default_rng(seed)
        test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:int(rounding(frac * np.sum(y == c)))]
                               for c in np.unique(y)])
        return np.setdiff1d(np.arange(len(y)), test), test
    return split


def test_split_accepts_by_hand(capsys):
    passes(C.check_stratified_split, split_ok, capsys)
    passes(C.check_stratified_split, split_floor_ceil(np.round), capsys)      # NumPy's round: no half in the cases


def test_split_sklearn_refuses_a_class_of_one(capsys):
    from sklearn.model_selection import train_test_split
    fails(C.check_stratified_split, lambda y, f, s: train_test_split(np.arange(len(y)), test_size=f, random_state=s,
                                                                     stratify=y), "too few", capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda y, f, s: (np.arange(len(y))[round(f * len(y)):], np.arange(len(y))[:round(f * len(y))]),
     "stratify"),
    (lambda y, f, s: split_ok(y, f, s)[::-1], "swapped"),
    (lambda y, f, s: (np.arange(len(y)), split_ok(y, f, s)[1]), "both train and test"),
    (lambda y, f, s: (split_ok(y, f, s)[0][1:], split_ok(y, f, s)[1]), "every row exactly once"),
    (lambda y, f, s: tuple(np.isin(np.arange(len(y)), a) for a in split_ok(y, f, s)), "boolean masks"),
    (lambda y, f, s: split_ok(y, f, 0), "same test set"),
    (lambda y, f, s: split_ok(y, f, np.random.randint(1 << 30)), "same seed gave two different"),
    (lambda y, f, s: split_ok(y, f, s)[1], "two arrays"),
    (split_floor_ceil(np.floor), "int() cuts that down"),
    (split_floor_ceil(np.ceil), "ceil() rounds that up"),
    (_stub, "not implemented yet"),
])
def test_split_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_stratified_split, mistake, hint, capsys)


# ------------------------------------------------------------------ the eight symmetries of a square

def d4_ok(img):
    return np.stack([np.rot90(m, k) for m in (img, img.T) for k in range(4)])


def test_d4_accepts_rotations_of_the_transpose(capsys):
    passes(C.check_d4_views, d4_ok, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda img: np.stack([np.rot90(img, k) for k in range(4)] * 2), "only 4"),
    (lambda img: np.stack([img, img[::-1], img[:, ::-1], img[::-1, ::-1]] * 2), "only 4"),
    (lambda img: np.stack([np.rot90(m, k) for m in (img, 255 - img) for k in range(4)]), "grey levels"),
    (lambda img: np.stack([np.rot90(img, k) for k in range(4)]), "shape"),
    (_stub, "not implemented yet"),
])
def test_d4_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_d4_views, mistake, hint, capsys)
