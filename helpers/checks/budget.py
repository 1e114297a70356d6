"""Exercise checkers of notebook 13 (a large pre-trained model on a budget), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _Fail, _checker, _close, _hint, _np, _softmax

__all__ = ["check_lora_params", "check_soft_target_grad", "check_serving_memory"]


# ----------------------------------------------------------------------------- LoRA's parameter count

@_checker
def check_lora_params(fn) -> bool:
    """Check fn(shapes, r) -> the number of trainable LoRA parameters for adapters on matrices of these shapes."""
    cases = [([(1536, 384), (384, 384), (384, 384)], 4), ([(384, 384)] * 12, 8), ([(1536, 384), (384, 1536)], 4), ([(768, 768), (768, 768), (3072, 768)], 16),
             ([(10, 3)], 1), ([], 8)]
    for shapes, r in cases:
        got = fn([tuple(s) for s in shapes], r)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise _Fail(f"return one number (the count), not {type(got).__name__}") from None
        want = sum(r * (d_out + d_in) for d_out, d_in in shapes)
        if got == want:
            continue
        full = sum(d_out * d_in for d_out, d_in in shapes)
        _hint(got, [
            ("that is r times a full matrix: A is r x d_in and B is d_out x r, so one adapter holds "
             "r * (d_in + d_out) numbers", sum(r * d_out * d_in for d_out, d_in in shapes)),
            ("the frozen weights W are not trained: count only A and B", full + want),
            ("that counts A only (r x d_in): B (d_out x r) is trained too", sum(r * d_in for _, d_in in shapes)),
            ("that counts B only (d_out x r): A (r x d_in) is trained too", sum(r * d_out for d_out, _ in shapes)),
            ("A and B hold r * d_in and d_out * r numbers, not r * r", sum(r * r for _ in shapes)),
            ("add up every adapted matrix, not just the first", r * sum(shapes[0]) if len(shapes) > 1 else None),
        ], f"for {len(shapes)} matrices of shapes {sorted(set(shapes))} at rank {r}: got {got:g}, expected "
           "a different count; each adapted d_out x d_in matrix gets A (r x d_in) and B (d_out x r)")
    print("PASS check_lora_params: right for square, rectangular and empty sets of matrices, ranks 1 to 16")
    return True


# ----------------------------------------------------------------------------- distillation's gradient

def _grad_variants(zs, zt, T):
    """The gradient of T^2 * mean KL(softmax(zt/T) || softmax(zs/T)) with respect to zs, and typical wrong ones."""
    ps, pt, n = _softmax(zs / T), _softmax(zt / T), len(zs)
    right = T * (ps - pt) / n
    return right, {
        "no T^2": (ps - pt) / (T * n),
        "no 1/T": T * T * (ps - pt) / n,
        "sign": T * (pt - ps) / n,
        "no mean": T * (ps - pt),
        "no temperature": (_softmax(zs) - _softmax(zt)) / n,
    }


@_checker
def check_soft_target_grad(fn) -> bool:
    """Check fn(student_logits, teacher_logits, T) -> d/d student_logits of T^2 * mean_batch KL(p_teacher_T || p_student_T)."""
    rng = np.random.default_rng(13)
    for n, k, T in [(4, 3, 2.0), (1, 5, 4.0), (6, 4, 1.0), (3, 2, 0.5)]:
        zs, zt = rng.normal(0, 2, (n, k)), rng.normal(0, 2, (n, k))
        raw = fn(zs.copy(), zt.copy(), T)
        got = _np(raw)
        if got.shape != (n, k):
            raise _Fail(f"return the gradient with the shape of the student's logits {(n, k)}, not {got.shape}")
        right, wrong = _grad_variants(zs, zt, T)
        if _close(got, right, 1e-6):
            continue
        _hint(got, [
            ("that is the gradient without the factor T^2: dividing the logits by T makes the soft term's "
             "gradient T^2 times smaller than the hard term's, and T^2 puts it back", wrong["no T^2"]),
            ("the chain rule through z / T gives a factor 1/T: T^2 * (p_s - p_t) / T = T * (p_s - p_t)",
             wrong["no 1/T"] if T != 1.0 else None),
            ("the sign is reversed: the loss falls when the student's probabilities move towards the teacher's, "
             "so the gradient is p_student - p_teacher", wrong["sign"]),
            ("the loss is the mean over the batch: divide by the number of rows", wrong["no mean"] if n > 1 else None),
            ("both distributions are softened: softmax(z / T), not softmax(z)", wrong["no temperature"] if T != 1.0 else None),
        ], f"for {n} rows of {k} classes at T = {T}: max abs error {np.max(np.abs(got - right)):.3g}; the gradient "
           "of T^2 * KL(p_t || p_s) with p = softmax(z / T), averaged over the rows, is T * (p_s - p_t) / n")
    print("PASS check_soft_target_grad: right at T = 0.5, 1, 2 and 4, batches of 1 to 6")
    return True


# ----------------------------------------------------------------------------- memory to serve a model

BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1, "int4": 0.5}


def _serving(n_params, precision, n_layers, d_model, batch, seq_len, kv_bytes):
    """Reference: weights plus the key/value cache, in GB (1e9 bytes)."""
    return (n_params * BYTES[precision] + 2 * n_layers * d_model * batch * seq_len * kv_bytes) / 1e9


@_checker
def check_serving_memory(fn) -> bool:
    """Check fn(n_params, precision, n_layers, d_model, batch, seq_len, kv_bytes) -> GB for the weights and the K/V cache."""
    cases = [(7e9, "bf16", 32, 4096, 1, 4096, 2), (7e9, "int4", 32, 4096, 8, 2048, 2),
             (22.7e6, "fp32", 6, 384, 32, 128, 4), (70e9, "int8", 80, 8192, 4, 8192, 1), (1e6, "fp16", 1, 64, 1, 1, 2)]
    for n_params, precision, layers, d, batch, L, kv in cases:
        got = fn(n_params, precision, layers, d, batch, L, kv)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise _Fail(f"return one number (GB), not {type(got).__name__}") from None
        want = _serving(n_params, precision, layers, d, batch, L, kv)
        if _close(got, want, 1e-9):
            continue
        weights = n_params * BYTES[precision] / 1e9
        cache = 2 * layers * d * batch * L * kv / 1e9
        bits = {"fp32": 32, "bf16": 16, "fp16": 16, "int8": 8, "int4": 4}[precision]
        _hint(got, [
            ("that is the weights alone: every generated token keeps a key and a value vector per layer, the "
             "K/V cache, and a long context makes it large", weights),
            ("the cache holds keys AND values: 2 x layers x d_model x batch x seq_len x bytes", weights + cache / 2),
            ("that counts bits, not bytes, per parameter", (n_params * bits + 2 * layers * d * batch * L * kv) / 1e9),
            ("a GB here is 1e9 bytes, not 2**30", want * 1e9 / 2**30),
            ("the cache grows with the batch: every sequence being served has its own", weights + cache / batch
             if batch > 1 else None),
            ("that is the cache alone: the weights are in memory too", cache),
        ], f"for {n_params:.3g} parameters in {precision}, {layers} layers of width {d}, batch {batch}, "
           f"{L} tokens: got {got:.4g} GB, expected {want:.4g} GB")
    print("PASS check_serving_memory: right from a 1M-parameter model to a 70B one, fp32 to int4")
    return True
