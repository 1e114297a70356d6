"""Exercise checkers of notebook 04 (training deep networks), on the framework of helpers.checks.

The optimizer checkers compare the learner's NumPy step with `torch.optim` step for step (float64);
torch is imported here at the top (`import helpers.checks` itself stays NumPy-only).
"""
from __future__ import annotations

import numpy as np
import torch

from . import _checker, _close, _diagnose, _Fail, _result

__all__ = ["check_rmsprop_step", "check_nesterov_step", "check_adamw_step", "check_init_std"]


def _torch_trace(make_opt, p0, grads):
    """Parameters after each step of a torch optimizer fed the given gradients (float64)."""
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt, out = make_opt([p]), []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def _case(seed, n, scales, make_opt, sd=1.0):
    """A hidden case: start parameter p0, gradients of the given scales, torch's parameters after each step."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(0, sd, size=n)
    grads = [rng.normal(size=n) * s for s in scales]
    return p0, grads, _torch_trace(make_opt, p0, grads)


def _pair(res, names, n):
    """Unpack the learner's (param, state) tuple, each of shape (n,)."""
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise _Fail(f"return a tuple ({names[0]}, {names[1]}): the new parameter and the updated state")
    return tuple(_result(r, (n,), name) for r, name in zip(res, names))


def _state_steps(fn, case, hyper, state, update, hints, ref):
    """Feed fn(param, grad, state, *hyper) -> (param, state) torch's steps; FAIL at the first step it gets wrong."""
    (p0, grads, trace), (name, label) = case, state
    p, s = p0.copy(), np.zeros(len(p0))
    for t, (g, want) in enumerate(zip(grads, trace), start=1):
        with np.errstate(all="ignore"):
            out_p, out_s = _pair(fn(p.copy(), g.copy(), s.copy(), *hyper), ("param", name), len(p0))
        exp_s = update(p, g, s)
        if not _close(out_s, exp_s):
            _diagnose(out_s, exp_s, hints(p, g, s, exp_s, want)[0], f"{label} is wrong at step {t}")
        if not _close(out_p, want, 1e-9):
            _diagnose(out_p, want, hints(p, g, s, exp_s, want)[1], f"the parameter differs from {ref} at step {t}")
        p, s = want, exp_s
    return len(grads)


# ---------------------------------------------------------------- RMSprop

def _rms(p, g, v, lr, a, eps, eps_in=False, swap=False, sqrt=True, old=False):
    """One RMSprop step (reference), or one of the typical mistakes the flags switch on."""
    v, prev = (1 - a) * v + a * g * g if swap else a * v + (1 - a) * g * g, v
    r = prev if old else v                                  # old: divides by the previous step's v
    den = np.sqrt(r + eps) if eps_in else (np.sqrt(r) if sqrt else r) + eps
    return p - lr * g / den, v


@_checker
def check_rmsprop_step(fn) -> bool:
    """Check fn(param, grad, v, lr, alpha, eps) -> (param, v) against torch.optim.RMSprop, step for step."""
    lr, alpha, eps = 0.01, 0.9, 1e-3
    case = _case(401, 6, (1.0, 0.1, 2.0, 0.5, 1.0, 0.01),
                 lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps))

    def hints(p, g, v, new_v, want):
        """The typical wrong v, then the typical wrong parameters, of one step."""
        return ([("alpha weighs the OLD average (alpha = 0.9 keeps 90 % of it); you swapped alpha and "
                  "1 - alpha", _rms(p, g, v, lr, alpha, eps, swap=True)[1]),
                 ("v averages the SQUARED gradient", alpha * v + (1 - alpha) * g),
                 ("v was not updated", v)],
                [("eps goes outside the square root, as in torch.optim.RMSprop: sqrt(v) + eps",
                  _rms(p, g, v, lr, alpha, eps, eps_in=True)[0]),
                 ("the step divides by the ROOT mean square of the gradient: take the square root of v",
                  _rms(p, g, v, lr, alpha, eps, sqrt=False)[0]),
                 ("the step divides by the previous step's v: update v with this step's gradient first, "
                  "then divide by the root of the updated v", _rms(p, g, v, lr, alpha, eps, old=True)[0]),
                 ("sign error: the parameter must move against the gradient", 2 * p - want)])
    steps = _state_steps(fn, case, (lr, alpha, eps), ("v", "v"), lambda p, g, v: _rms(p, g, v, lr, alpha, eps)[1],
                         hints, "torch.optim.RMSprop")
    print(f"PASS check_rmsprop_step: {steps} steps match torch.optim.RMSprop")
    return True


# ---------------------------------------------------------------- Nesterov momentum

@_checker
def check_nesterov_step(fn) -> bool:
    """Check fn(param, grad, buf, lr, mu) -> (param, buf) against torch.optim.SGD(nesterov=True), step for step."""
    lr, mu = 0.05, 0.9
    case = _case(402, 5, (1.0, 0.5, 2.0, 1.0, 0.2, 1.0),
                 lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mu, nesterov=True))

    def hints(p, g, buf, new_b, want):
        """The typical wrong buffers, then the typical wrong parameters, of one step."""
        return ([("PyTorch's buffer is b = mu * b + g, without a (1 - mu) factor on g (dampening is 0)",
                  mu * buf + (1 - mu) * g),
                 ("mu weighs the old buffer, not the new gradient", buf + mu * g),
                 ("the buffer was not updated", buf)],
                [("that is plain (heavy-ball) momentum, p - lr * b: Nesterov steps along g + mu * b, the "
                  "gradient plus the look-ahead, with b the NEW buffer (after this step's update)", p - lr * new_b),
                 ("the look-ahead uses the NEW buffer (after this step's update): g + mu * b",
                  p - lr * (g + mu * buf)),
                 ("mu multiplies the buffer in the look-ahead, not the gradient", p - lr * (new_b + mu * g)),
                 ("sign error: the parameter must move against the gradient", 2 * p - want)])
    steps = _state_steps(fn, case, (lr, mu), ("buf", "the buffer"), lambda p, g, buf: mu * buf + g, hints,
                         "torch.optim.SGD(nesterov=True)")
    print(f"PASS check_nesterov_step: {steps} steps match torch.optim.SGD(momentum=0.9, nesterov=True)")
    return True


# ---------------------------------------------------------------- AdamW

def _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, mode="decoupled"):
    """One AdamW step (reference, mode 'decoupled'), or one of the typical mistakes."""
    if mode == "l2":
        g = g + wd * p                                      # Adam(weight_decay): L2 through the gradient
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = (m, v) if mode == "no_bc" else (m / (1 - b1 ** t), v / (1 - b2 ** t))
    step = lr * m_hat / (np.sqrt(v_hat + eps) if mode == "eps_in" else np.sqrt(v_hat) + eps)
    if mode == "hats":                                      # returns the corrected moments as the state
        return p * (1 - lr * wd) - step, m_hat, v_hat
    if mode in ("decoupled", "no_bc", "eps_in"):
        return p * (1 - lr * wd) - step, m, v
    if mode == "no_lr":
        return p * (1 - wd) - step, m, v
    if mode == "after":
        return (p - step) * (1 - lr * wd), m, v
    if mode == "plus":
        return p * (1 + lr * wd) - step, m, v
    return p - step, m, v                                   # "l2" or "none"


@_checker
def check_adamw_step(fn) -> bool:
    """Check fn(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay) -> (param, m, v) against torch.optim.AdamW."""
    n, lr, b1, b2, eps, wd = 6, 0.05, 0.9, 0.999, 1e-3, 0.1  # eps > 1e-8: sqrt(v_hat + eps) shows
    p0, grads, ref = _case(404, n, (1.0, 0.1, 2.0, 0.5, 1.0),
                           lambda ps: torch.optim.AdamW(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), sd=2.0)
    p, m, v = p0.copy(), np.zeros(n), np.zeros(n)
    for t, (g, want) in enumerate(zip(grads, ref), start=1):
        with np.errstate(all="ignore"):
            res = fn(p.copy(), g.copy(), m.copy(), v.copy(), t, lr, b1, b2, eps, wd)
        if not (isinstance(res, (tuple, list)) and len(res) == 3):
            raise _Fail("return a tuple (param, m, v): the new parameter and both updated moments")
        out_p, out_m, out_v = (_result(r, (n,), name) for r, name in zip(res, ("param", "m", "v")))
        exp_p, exp_m, exp_v = _adamw(p, g, m, v, t, lr, b1, b2, eps, wd)
        l2_p, l2_m, l2_v = _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "l2")
        none_p = _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "none")[0]
        if (_close(out_m, l2_m) and not _close(out_m, exp_m)) or (_close(out_p, l2_p, 1e-9)
                                                                  and not _close(out_p, none_p, 1e-9)):
            raise _Fail("that is Adam with an L2 penalty (torch.optim.Adam(weight_decay=...)): the decay went "
                        "into the gradient and through m and v. AdamW decouples it: the moments see only the "
                        "loss gradient, and the parameter shrinks by its own factor")
        hat = ("you returned the bias-corrected {0}_hat as the new {0}: the state carries the raw moment, the "
               "correction only enters the step")
        if not _close(out_m, exp_m):
            _diagnose(out_m, exp_m, [("m was not updated", m), (hat.format("m"), exp_m / (1 - b1 ** t))],
                      f"m is wrong at step t={t} (the moments are Adam's)")
        if not _close(out_v, exp_v):
            _diagnose(out_v, exp_v, [("v was not updated", v), (hat.format("v"), exp_v / (1 - b2 ** t))],
                      f"v is wrong at step t={t} (the moments are Adam's)")
        if not _close(out_p, want, 1e-9):
            cands = [("the decay is scaled by the learning rate too: the parameter shrinks by (1 - lr * weight_decay)",
                      _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "no_lr")[0]),
                     ("PyTorch shrinks the parameter BEFORE the Adam step: (param * (1 - lr * wd)) - step",
                      _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "after")[0]),
                     ("weight decay is missing: the parameter must also shrink towards 0", none_p),
                     ("sign error in the decay: it pulls the parameter towards 0",
                      _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "plus")[0]),
                     ("the bias correction is missing: m and v start at 0, so in the first steps they are too "
                      "small; the step uses the corrected m_hat and v_hat",
                      _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "no_bc")[0]),
                     ("eps goes outside the square root, as in torch.optim.AdamW: sqrt(v_hat) + eps",
                      _adamw(p, g, m, v, t, lr, b1, b2, eps, wd, "eps_in")[0])]
            _diagnose(out_p, want, cands, f"the parameter differs from torch.optim.AdamW at step t={t}")
        p, m, v = want, exp_m, exp_v
    print(f"PASS check_adamw_step: {len(grads)} steps match torch.optim.AdamW")
    return True


# ---------------------------------------------------------------- He / Glorot initialisation

def _fans(shape):
    """(fan_in, fan_out) of a PyTorch weight (out, in, *kernel)."""
    rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * rf, shape[0] * rf


def _init_std(shape, scheme):
    """Reference std: He (Kaiming normal, fan-in, gain sqrt 2) or Glorot (Xavier normal, gain 1)."""
    fi, fo = _fans(shape)
    return float(np.sqrt(2.0 / fi)) if scheme == "he" else float(np.sqrt(2.0 / (fi + fo)))


@_checker
def check_init_std(fn) -> bool:
    """Check fn(shape, scheme) -> init std of a PyTorch weight shape (out, in, *kernel); scheme 'he' or 'glorot'."""
    rng = np.random.default_rng(403)
    shapes = [(int(rng.integers(20, 300)), int(rng.integers(20, 300))),
              (int(rng.integers(16, 128)), int(rng.integers(3, 64)), 3, 3),
              (int(rng.integers(16, 128)), int(rng.integers(3, 64)), 5),
              (10, int(rng.integers(100, 500))),
              (int(rng.integers(16, 64)), int(rng.integers(64, 128)), 1, 7)]
    for shape in shapes:
        for scheme in ("he", "glorot"):
            res = fn(tuple(shape), scheme)
            try:
                got = float(np.squeeze(np.asarray(res, dtype=np.float64)))
            except (TypeError, ValueError):
                raise _Fail(f"return one number (the standard deviation), not {type(res).__name__}") from None
            want = _init_std(shape, scheme)
            if np.isclose(got, want, rtol=1e-9, atol=0):
                continue
            fi, fo = _fans(shape)
            flat = (shape[0], shape[1])                           # kernel size forgotten
            what = f"for a weight of shape {tuple(shape)} and scheme {scheme!r}: "
            cands = [
                ("you returned the variance; the standard deviation is its square root", want ** 2),
                ("fan-in and fan-out are swapped (He's variance uses fan-in): PyTorch stores a weight as "
                 "(out, in, *kernel), so fan-in is shape[1] times the kernel size", float(np.sqrt(2.0 / fo))),
                ("a convolution's fan-in counts every input of one output: in_channels x kernel height x "
                 "kernel width (the kernel size is missing)", _init_std(flat, scheme)),
                ("that is LeCun's 1/fan_in; He adds a factor 2 because ReLU zeroes half of the signal",
                 float(np.sqrt(1.0 / fi))),
                ("Glorot's variance is 2 / (fan_in + fan_out): the 2 is missing", float(np.sqrt(1.0 / (fi + fo)))),
                ("he and glorot are swapped", _init_std(shape, "glorot" if scheme == "he" else "he")),
            ]
            for hint, cand in cands:
                if np.isclose(got, cand, rtol=1e-9, atol=0):
                    raise _Fail(what + hint)
            raise _Fail(what + "the standard deviation is wrong: work out fan-in and fan-out first, then the variance")
    print("PASS check_init_std: right for 5 hidden weight shapes (linear and convolutional), He and Glorot")
    return True
