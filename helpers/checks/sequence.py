"""Exercise checkers of notebook 06 (LSTMs and sequences), on the framework of helpers.checks."""
from __future__ import annotations

import numpy as np

from . import _call, _checker, _close, _diagnose, _Fail, _hint, _sig


def _gru(x, h, W_ih, W_hh, b_ih, b_hh, order=(0, 1), reset_after=True, bias_inside=True, swap_update=False,
         reset=True):
    """A GRU step in PyTorch's layout (r, z, n), with switches that reproduce typical mistakes."""
    H = h.shape[1]
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    sl = [slice(0, H), slice(H, 2 * H)]
    r = _sig(gi[:, sl[order[0]]] + gh[:, sl[order[0]]]) if reset else 1.0
    z = _sig(gi[:, sl[order[1]]] + gh[:, sl[order[1]]])
    if reset_after:
        rec = r * gh[:, 2 * H:] if bias_inside else r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:]
    else:
        rec = (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:]
    n = np.tanh(gi[:, 2 * H:] + rec)
    return z * n + (1 - z) * h if swap_update else (1 - z) * n + z * h


@_checker
def check_gru_step(fn) -> bool:
    """Check fn(x, h, W_ih, W_hh, b_ih, b_hh) -> one GRU step, PyTorch's equations and gate order r, z, n."""
    rng = np.random.default_rng(601)
    for B, D, H in [(3, 5, 4), (1, 2, 6), (4, 7, 3)]:
        x, h = rng.normal(size=(B, D)), np.tanh(rng.normal(size=(B, H)))
        W_ih, W_hh = rng.normal(0, 0.8, (3 * H, D)), rng.normal(0, 0.8, (3 * H, H))
        b_ih, b_hh = rng.normal(0, 0.5, 3 * H), rng.normal(0, 0.5, 3 * H)
        w = (x, h, W_ih, W_hh, b_ih, b_hh)
        out = _call(fn, w, shape=(B, H), what="new hidden state")
        expected = _gru(*w)
        if _close(out, expected, 1e-9):
            continue
        cands = [("the gates are stacked r, z, n in PyTorch (Keras stacks z, r, h): you swapped r and z",
                  _gru(*w, order=(1, 0))),
                 ("h' = (1 - z) * n + z * h: you swapped the roles of z and 1 - z", _gru(*w, swap_update=True)),
                 ("PyTorch applies the reset gate AFTER the matrix product: r * (W_hn h + b_hn), not W_hn (r * h)",
                  _gru(*w, reset_after=False)),
                 ("the recurrent bias b_hn sits inside the reset product: r * (W_hn h + b_hn)",
                  _gru(*w, bias_inside=False)),
                 ("swapped r and z and the update rule", _gru(*w, order=(1, 0), swap_update=True)),
                 ("the reset gate is missing: r must scale the previous state's part of the candidate n",
                  _gru(*w, reset=False))]
        _diagnose(out, expected, cands, f"with batch {B}, input size {D}, hidden size {H} the new state is wrong")
    print("PASS check_gru_step: the same as torch.nn.GRU's equations on 3 hidden batches")
    return True


def _lstm_stack(vocab, emb, units, classes, biases, gates=4, recurrent=True, chain=True, dense_from=None,
                dense_bias=True, embedding=True):
    """Parameters of Embedding -> stacked LSTMs -> Dense, with switches for typical mistakes."""
    total, d = (vocab * emb if embedding else 0), emb
    for h in units:
        total += gates * h * ((d if chain else emb) + (h if recurrent else 0) + biases)
        d = h
    d = units[dense_from] if dense_from is not None else d
    return total + d * classes + (classes if dense_bias else 0)


@_checker
def check_classifier_params(fn) -> bool:
    """Check fn(vocab_size, embedding_dim, units, num_classes, framework) -> parameter count, Keras or PyTorch."""
    cases = [(20_000, 64, [128, 64], 4, "keras"), (20_000, 64, [128, 64], 4, "torch"),
             (5_000, 32, [48], 5, "torch"), (12_345, 100, [64, 32, 16], 3, "keras"), (800, 8, [8, 8], 2, "torch")]
    for vocab, emb, units, classes, fw in cases:
        got = fn(vocab, emb, list(units), classes, fw)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise _Fail(f"return a number (an int), not {type(got).__name__}") from None
        b = 1 if fw == "keras" else 2
        expected = _lstm_stack(vocab, emb, units, classes, b)
        if got == expected:
            continue
        cands = [("PyTorch keeps TWO bias vectors per LSTM layer (bias_ih and bias_hh)", fw == "torch" and
                  _lstm_stack(vocab, emb, units, classes, 1)),
                 ("Keras keeps ONE bias vector per LSTM layer", fw == "keras" and
                  _lstm_stack(vocab, emb, units, classes, 2)),
                 ("an LSTM layer has four gates (i, f, g, o), each with its own weights",
                  _lstm_stack(vocab, emb, units, classes, b, gates=1)),
                 ("an LSTM layer has four gates (i, f, g, o), each with its own weights",
                  _lstm_stack(vocab, emb, units, classes, b, gates=3)),
                 ("each gate also has recurrent weights: H x H from the previous hidden state",
                  _lstm_stack(vocab, emb, units, classes, b, recurrent=False)),
                 ("each LSTM layer after the first reads the previous layer's units, not the embedding",
                  _lstm_stack(vocab, emb, units, classes, b, chain=False)),
                 ("the Dense layer reads the LAST LSTM layer's units", _lstm_stack(vocab, emb, units, classes, b,
                                                                                   dense_from=0)),
                 ("the Dense layer has a bias too", _lstm_stack(vocab, emb, units, classes, b, dense_bias=False)),
                 ("count the embedding table too: one vector per vocabulary entry",
                  _lstm_stack(vocab, emb, units, classes, b, embedding=False))]
        _hint(got, cands, f"wrong count for {len(units)} LSTM layer(s) in {fw} (off by {'more' if got > expected else 'less'}"
              " than any single typical mistake)")
    print("PASS check_classifier_params: right for Keras and PyTorch stacks of 1 to 3 LSTM layers")
    return True


@_checker
def check_last_real_output(fn) -> bool:
    """Check fn(outputs (B, T, H), lengths (B,)) -> the output at each sequence's last real step (B, H)."""
    rng = np.random.default_rng(603)
    for B, T, H, lengths in [(4, 6, 3, [6, 1, 3, 5]), (3, 9, 2, [2, 9, 4]), (5, 5, 4, [5, 5, 1, 2, 3])]:
        lengths = np.array(lengths)
        outputs = rng.normal(size=(B, T, H))
        try:
            out = _call(fn, (outputs, lengths), shape=(B, H))
        except IndexError:
            raise _Fail("an index is out of range: a sequence of length L has its last real step at index "
                        "L - 1 (positions count from 0)") from None
        rows = np.arange(B)
        expected = outputs[rows, lengths - 1]
        if _close(out, expected, 1e-12):
            continue
        mask = np.arange(T)[None, :] < lengths[:, None]
        cands = [("that is the output at the LAST position, a pad for the shorter sequences",
                  outputs[:, -1]),
                 ("off by one: the last real step of a sequence of length L is at index L - 1",
                  outputs[rows, np.minimum(lengths, T - 1)]),
                 ("that is the FIRST step; take the last real one", outputs[:, 0]),
                 ("you counted the steps back from the end of the padded sequence: the padding comes AFTER the "
                  "real steps, so count from the start", outputs[rows, T - lengths]),
                 ("you averaged the real steps; take the output at the last one",
                  (outputs * mask[..., None]).sum(1) / lengths[:, None]),
                 ("you took the maximum over steps; take the output at the last real one", outputs.max(1))]
        _diagnose(out, expected, cands, "the rows are not the outputs at the last real steps")
    print("PASS check_last_real_output: the right step for every sequence of 3 hidden padded batches")
    return True


def _jac(W, hs, k, mode="ok"):
    """d h_T / d h_k of h_t = tanh(W h_{t-1} + u_t), with switches that reproduce typical mistakes."""
    J = np.eye(W.shape[0])
    T = len(hs) - 1
    for t in range(k + 1 if mode != "extra" else k, T + 1):
        if mode == "extra" and t == 0:
            continue
        d = 1 - hs[t - 1 if mode == "prev" else t] ** 2
        if mode == "nod":
            F = W
        elif mode == "right":
            F = W * d[None, :]
        elif mode == "transpose":
            F = d[:, None] * W.T
        else:
            F = d[:, None] * W
        J = J @ F if mode == "order" else F @ J
    return J


@_checker
def check_bptt_jacobian(fn) -> bool:
    """Check fn(W, hs, k) -> d h_T / d h_k (H, H) of the tanh RNN h_t = tanh(W h_{t-1} + u_t)."""
    rng = np.random.default_rng(604)
    for H, T, ks in [(3, 5, [0, 2, 5]), (4, 7, [1, 6]), (2, 4, [3, 0])]:
        W = rng.normal(0, 0.9, (H, H))
        hs = [np.tanh(rng.normal(size=H))]
        for _ in range(T):
            hs.append(np.tanh(W @ hs[-1] + rng.normal(0, 0.7, H)))
        hs = np.array(hs)
        for k in ks:
            out = _call(fn, (W, hs), k, shape=(H, H), what="Jacobian")
            expected = _jac(W, hs, k)
            if _close(out, expected, 1e-9):
                continue
            if k == T:
                raise _Fail("for k = T nothing lies between h_T and h_k: the Jacobian is the identity")
            cands = [("you left out the derivative of tanh: each step contributes diag(1 - h_t**2) W",
                      _jac(W, hs, k, "nod")),
                     ("off by one: step t's factor uses tanh' at its own output h_t, diag(1 - h_t**2)",
                      _jac(W, hs, k, "prev")),
                     ("one factor too many: the product runs over t = k+1 .. T", _jac(W, hs, k, "extra")),
                     ("the chain rule multiplies in time order: the latest step's factor goes on the LEFT",
                      _jac(W, hs, k, "order")),
                     ("tanh' scales the ROWS: the factor is diag(1 - h_t**2) @ W, not W @ diag(...)",
                      _jac(W, hs, k, "right")),
                     ("d(W h)/dh is W itself, not its transpose", _jac(W, hs, k, "transpose"))]
            _diagnose(out, expected, cands, f"with H = {H}, T = {T}, k = {k} the Jacobian is wrong")
    print("PASS check_bptt_jacobian: right on 3 hidden tanh RNNs for several k, the identity at k = T included")
    return True
