"""Notebook 13's exercise checkers: each accepts right answers and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import budget as C
from checker_util import _stub, fails, passes  # noqa: E402


# ------------------------------------------------------------------ LoRA parameter count

def lora_sum(shapes, r):
    return sum(r * (d_out + d_in) for d_out, d_in in shapes)


def lora_loop(shapes, r):
    total = 0
    for d_out, d_in in shapes:
        total += np.zeros((r, d_in)).size + np.zeros((d_out, r)).size
    return np.int64(total)


@pytest.mark.parametrize("fn", [lora_sum, lora_loop])
def test_lora_accepts_right_answers(fn, capsys):
    passes(C.check_lora_params, fn, capsys)


@pytest.mark.parametrize("fn, hint", [
    (lambda shapes, r: sum(r * o * i for o, i in shapes), "r times a full matrix"),
    (lambda shapes, r: sum(o * i + r * (o + i) for o, i in shapes), "frozen weights W are not trained"),
    (lambda shapes, r: sum(r * i for o, i in shapes), "counts A only"),
    (lambda shapes, r: sum(r * o for o, i in shapes), "counts B only"),
    (lambda shapes, r: sum(r * r for _ in shapes), "not r * r"),
    (lambda shapes, r: r * sum(shapes[0]) if shapes else 0, "every adapted matrix"),
    (lambda shapes, r: sum(r * (o + i) for o, i in shapes) + 1, "each adapted d_out x d_in matrix"),
    (lambda shapes, r: [r * (o + i) for o, i in shapes], "return one number"),
])
def test_lora_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_lora_params, fn, hint, capsys, start="FAIL")


# ------------------------------------------------------------------ the soft-target gradient

def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def grad_ok(zs, zt, T):
    return T * (softmax(zs / T) - softmax(zt / T)) / len(zs)


def grad_torch(zs, zt, T):
    import torch
    import torch.nn.functional as F
    s = torch.tensor(zs, requires_grad=True)
    loss = T * T * F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(torch.tensor(zt) / T, 1),
                            reduction="batchmean", log_target=True)
    loss.backward()
    return s.grad


@pytest.mark.parametrize("fn", [grad_ok, grad_torch])
def test_soft_grad_accepts_right_answers(fn, capsys):
    passes(C.check_soft_target_grad, fn, capsys)


@pytest.mark.parametrize("fn, hint", [
    (lambda zs, zt, T: (softmax(zs / T) - softmax(zt / T)) / (T * len(zs)), "without the factor T^2"),
    (lambda zs, zt, T: T * T * (softmax(zs / T) - softmax(zt / T)) / len(zs), "factor 1/T"),
    (lambda zs, zt, T: T * (softmax(zt / T) - softmax(zs / T)) / len(zs), "sign is reversed"),
    (lambda zs, zt, T: T * (softmax(zs / T) - softmax(zt / T)), "mean over the batch"),
    (lambda zs, zt, T: (softmax(zs) - softmax(zt)) / len(zs), "both distributions are softened"),
    (lambda zs, zt, T: T * (softmax(zs / T) - softmax(zt / T)).sum(1) / len(zs), "shape of the student's logits"),
    (lambda zs, zt, T: T * (softmax(zs / T) - softmax(zt / T) + 0.01) / len(zs), "T * (p_s - p_t) / n"),
    (_stub, "not implemented yet"),
])
def test_soft_grad_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_soft_target_grad, fn, hint, capsys)


# ------------------------------------------------------------------ serving memory

B = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1, "int4": 0.5}
BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "int8": 8, "int4": 4}


def mem_ok(n, p, layers, d, batch, L, kv):
    return (n * B[p] + 2 * layers * d * batch * L * kv) / 1e9


def mem_split(n, p, layers, d, batch, L, kv):
    weights_gb = n * B[p] / 1e9
    per_token = 2 * layers * d * kv                 # a key and a value per layer
    return weights_gb + per_token * L * batch / 1e9


@pytest.mark.parametrize("fn", [mem_ok, mem_split])
def test_memory_accepts_right_answers(fn, capsys):
    passes(C.check_serving_memory, fn, capsys)


@pytest.mark.parametrize("fn, hint", [
    (lambda n, p, layers, d, batch, L, kv: n * B[p] / 1e9, "weights alone"),
    (lambda n, p, layers, d, batch, L, kv: (n * B[p] + layers * d * batch * L * kv) / 1e9, "keys AND values"),
    (lambda n, p, layers, d, batch, L, kv: (n * BITS[p] + 2 * layers * d * batch * L * kv) / 1e9, "bits, not bytes"),
    (lambda n, p, layers, d, batch, L, kv: mem_ok(n, p, layers, d, batch, L, kv) * 1e9 / 2**30, "not 2**30"),
    (lambda n, p, layers, d, batch, L, kv: (n * B[p] + 2 * layers * d * L * kv) / 1e9, "grows with the batch"),
    (lambda n, p, layers, d, batch, L, kv: 2 * layers * d * batch * L * kv / 1e9, "cache alone"),
    (lambda n, p, layers, d, batch, L, kv: "7 GB", "return one number"),
])
def test_memory_rejects_typical_mistakes(fn, hint, capsys):
    fails(C.check_serving_memory, fn, hint, capsys, start="FAIL")
