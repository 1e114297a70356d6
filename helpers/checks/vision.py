"""Exercise checkers of notebook 10 (visual quality inspection), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _result

# ---------------------------------------------------------------- Grad-CAM of a network ending in GAP + linear

def _gradcam_gap(A, W, c):
    """Reference: Grad-CAM of class c when score_c = sum_k W[c, k] * mean(A[k]) (global average pooling)."""
    k, h, w = A.shape
    alpha = W[c] / (h * w)                                  # mean over positions of d score_c / d A[k, i, j]
    return np.maximum(np.tensordot(alpha, A, axes=1), 0.0)


@_checker
def check_gradcam_gap(fn) -> bool:
    """Check fn(A, W, c) -> Grad-CAM map (H, W) of class c for maps A (K, H, W), global average pooling, linear W (classes, K)."""
    rng = np.random.default_rng(1001)
    for k, h, w, classes in [(4, 5, 6, 3), (8, 7, 7, 5), (16, 4, 9, 6)]:
        A = np.maximum(rng.normal(0, 1, (k, h, w)), 0)       # maps after a ReLU: non-negative
        W = rng.normal(0, 1, (classes, k))
        c = int(rng.integers(0, classes))
        out = _call(fn, (A, W), c, shape=(h, w), what="Grad-CAM map", changed="your function changed A or W")
        expected = _gradcam_gap(A, W, c)
        if _close(out, expected, 1e-9):
            continue
        raw = np.tensordot(W[c] / (h * w), A, axes=1)
        peak = expected.max() if expected.max() > 0 else 1.0
        cands = [("the map has negative values: Grad-CAM keeps only the positive evidence (a ReLU at the end)", raw),
                 ("off by the number of positions H*W: the weight alpha_k is the MEAN of the gradient over the "
                  "map's positions, and each position of A_k contributes W[c, k] / (H*W) to the score",
                  expected * h * w),
                 ("off by the number of positions H*W: d score / d A[k, i, j] is W[c, k] / (H*W), and alpha_k "
                  "is its mean, not its sum over positions", expected / (h * w)),
                 ("do not rescale the map (to a maximum of 1): return the weighted sum itself", expected / peak),
                 ("the weights come from the row of W that belongs to class c", None),
                 ("sign error: the gradient of the score with respect to A[k] is +W[c, k] / (H*W)",
                  np.maximum(-raw, 0)),
                 ("the ReLU comes once, on the weighted sum: applied to each map alpha_k A_k before summing, it drops "
                  "the negative evidence that should cancel positive evidence",
                  np.maximum(W[c][:, None, None] / (h * w) * A, 0.0).sum(axis=0))]
        wrong_class = [_gradcam_gap(A, W, j) for j in range(classes) if j != c]
        if any(_close(out, m, 1e-6) for m in wrong_class):
            raise _Fail(cands[4][0])
        _diagnose(out, expected, [x for x in cands if x[1] is not None],
                  "the map does not match ReLU(sum_k alpha_k A_k) with alpha_k the mean gradient of the class "
                  "score over the positions of map k")
    print("PASS check_gradcam_gap: right on 3 hidden networks (and it is exactly the class activation map, CAM)")
    return True


# ---------------------------------------------------------------- int8 size arithmetic

def _sizes(layers):
    """Reference: (float32 bytes, int8 bytes) of conv/linear layers [(weight shape, has_bias)], per-channel int8."""
    n_w = sum(int(np.prod(s)) for s, _ in layers)
    n_b = sum(int(s[0]) for s, b in layers if b)
    n_out = sum(int(s[0]) for s, _ in layers)
    return 4 * (n_w + n_b), n_w + 4 * n_b + 5 * n_out


@_checker
def check_int8_size(fn) -> bool:
    """Check fn(layers) -> (float32 bytes, int8 bytes); layers = [(weight shape, has_bias)], int8 per output channel."""
    rng = np.random.default_rng(1002)
    cases = [[((32, 1, 3, 3), False), ((64, 32, 3, 3), False), ((6, 64), True)],
             [((int(rng.integers(8, 64)), 3, 5, 5), True), ((int(rng.integers(8, 64)), 16, 3, 3), True),
              ((10, 128), True)],
             [((24, 3, 2, 2), True), ((128, 24, 3, 3), False), ((256, 128, 3, 3), False), ((6, 256), False)]]
    for layers in cases:
        out = _result(fn([(tuple(s), b) for s, b in layers]), (2,), "pair (float32 bytes, int8 bytes)")
        expected = np.array(_sizes(layers), dtype=np.float64)
        if _close(out, expected, 1e-12):
            continue
        f32, i8 = expected
        n_w = sum(int(np.prod(s)) for s, _ in layers)
        n_b = sum(int(s[0]) for s, b in layers if b)
        n_out = sum(int(s[0]) for s, _ in layers)
        cands = [("you counted bits, not bytes", expected * 8),
                 ("a float32 value takes 4 bytes (8 is float64)", np.array([2 * f32, i8])),
                 ("the int8 model also stores, per output channel, a float32 scale and an int8 zero point",
                  np.array([f32, i8 - 5 * n_out])),
                 ("the biases are not quantized to 8 bits: they stay 32-bit (4 bytes each)",
                  np.array([f32, n_w + n_b + 5 * n_out])),
                 ("this is one scale per layer (per tensor); the model quantizes per output channel",
                  np.array([f32, n_w + 4 * n_b + 5 * len(layers)])),
                 ("a layer without a bias has no bias values to store", np.array([4 * (n_w + n_out), 9 * n_out + n_w])),
                 ("a layer without a bias has no bias values to store", np.array([4 * (n_w + n_out), i8])),
                 ("a layer without a bias has no bias values to store", np.array([f32, n_w + 9 * n_out])),
                 ("the first number is the float32 size, the second the int8 size", expected[::-1])]
        if np.isclose(out[0], f32) and not np.isclose(out[1], i8):
            cands = [c for c in cands if np.isclose(c[1][0], f32)]
        _diagnose(out, expected, cands, "count the weights and biases of every layer, and what int8 adds per channel")
    print("PASS check_int8_size: right on 3 hidden networks")
    return True


# ---------------------------------------------------------------- a stratified split

@_checker
def check_stratified_split(fn) -> bool:
    """Check fn(y, test_fraction, seed) -> (train indices, test indices): stratified, disjoint, complete, seeded."""
    rng = np.random.default_rng(1003)
    # the last case: shares that are not whole numbers (2.1, 3.9, 6.6, 1.8 rows) and a class of one
    for counts, frac in [((300, 300, 300, 300), 0.2), ((500, 40, 160, 12, 88), 0.25), ((90, 910), 0.3),
                         ((7, 13, 22, 6, 1), 0.3)]:
        y = rng.permutation(np.repeat(np.arange(len(counts)), counts))
        y0 = y.copy()
        outs = []
        for seed in (0, 0, 1):
            got = fn(y, frac, seed)
            if not np.array_equal(y, y0):
                raise _Fail("your function changed y")
            try:
                train, test = (np.asarray(a) for a in got)
            except (TypeError, ValueError):
                raise _Fail("return two arrays: (train indices, test indices)") from None
            if train.dtype == bool or test.dtype == bool:
                raise _Fail("return index arrays (np.flatnonzero of a mask), not boolean masks")
            if not (np.issubdtype(train.dtype, np.integer) and np.issubdtype(test.dtype, np.integer)):
                raise _Fail("return integer index arrays into y, not labels or floats")
            if np.intersect1d(train, test).size:
                raise _Fail("some rows are in both train and test: the test set must be unseen")
            both = np.concatenate([train, test])
            if len(both) != len(y) or not np.array_equal(np.sort(both), np.arange(len(y))):
                raise _Fail("train and test together must hold every row exactly once")
            if len(test) > len(train) and all(abs(np.sum(y[train] == c) - frac * n) <= 1
                                              for c, n in enumerate(counts)):
                raise _Fail("train and test are swapped: return (train indices, test indices), the test set "
                            f"being the share {frac:g} of each class")
            for c, n in enumerate(counts):
                got_c = int(np.sum(y[test] == c))
                if abs(got_c - frac * n) > 1:
                    raise _Fail(f"class {c} has {got_c} of its {n} rows in the test set, "
                                f"not a share of {frac:g}: split each class separately (stratify)")
                if got_c != round(frac * n):
                    if got_c == int(frac * n):
                        raise _Fail(f"a class of {n} rows at {frac:g} has {frac * n:.1f} test rows: int() cuts that "
                                    "down, the exercise asks for round()")
                    if got_c == int(np.ceil(frac * n)):
                        raise _Fail(f"a class of {n} rows at {frac:g} has {frac * n:.1f} test rows: ceil() rounds "
                                    "that up, the exercise asks for round()")
                    raise _Fail(f"class {c} has {got_c} of its {n} rows in the test set; the exercise asks for "
                                f"round({frac:g} x {n}) of them, counted for each class on its own")
            outs.append(np.sort(test))
        if not np.array_equal(outs[0], outs[1]):
            raise _Fail("the same seed gave two different splits: use the seed for your random generator")
        if np.array_equal(outs[0], outs[2]):
            raise _Fail("seeds 0 and 1 gave the same test set: shuffle each class with the seeded generator")
    print("PASS check_stratified_split: stratified, complete and seeded on 4 hidden label sets")
    return True


# ---------------------------------------------------------------- the eight symmetries of a square

def _d4(img):
    """Reference: the 8 rotations and reflections of a square image."""
    return [np.rot90(m, k) for m in (img, img[:, ::-1]) for k in range(4)]


@_checker
def check_d4_views(fn) -> bool:
    """Check fn(img (H, H)) -> array (8, H, H): the image under every rotation by 90 degrees and reflection."""
    rng = np.random.default_rng(1004)
    for h in (5, 12):
        img = rng.integers(0, 256, (h, h)).astype(np.uint8)   # no symmetry of its own
        img0 = img.copy()
        views = np.asarray(fn(img))
        if not np.array_equal(img, img0):
            raise _Fail("your function changed the image it was given")
        if views.shape != (8, h, h):
            raise _Fail(f"expected an array of shape (8, {h}, {h}), got {views.shape}")
        keys = {np.ascontiguousarray(v, np.float64).tobytes() for v in views}
        legal = {np.ascontiguousarray(v, np.float64).tobytes() for v in _d4(img)}
        if not keys <= legal:
            raise _Fail("one of your views is not a rotation or reflection of the image: keep the grey levels "
                        "unchanged (no brightness change on steel) and move pixels only")
        if len(keys) < 8:
            raise _Fail(f"only {len(keys)} of your 8 views differ: some repeat (flipping twice, or rotating four "
                        "times, is the identity); the four rotations of the image and of its mirror image are 8")
    print("PASS check_d4_views: the 8 symmetries of a square, each once")
    return True
