"""Notebook 06's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest
import torch

from helpers.checks import sequence as C
from checker_util import fails, in_place, passes, run, _stub  # noqa: E402


def sig(z):
    return 1 / (1 + np.exp(-z))


# ------------------------------------------------------------------ GRU step

def gru_ok(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r, z = sig(gi[:, :H] + gh[:, :H]), sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def gru_torch(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.GRUCell(x.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for p, v in zip([cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh], [W_ih, W_hh, b_ih, b_hh]):
            p.copy_(torch.from_numpy(v))
        return cell(torch.from_numpy(x), torch.from_numpy(h))


@pytest.mark.parametrize("fn", [gru_ok, gru_torch])
def test_gru_accepts_right_answers(fn, capsys):
    passes(C.check_gru_step, fn, capsys)


def gru_variant(order=(0, 1), reset_after=True, bias_inside=True, swap=False, reset=True):
    def fn(x, h, W_ih, W_hh, b_ih, b_hh):
        H = h.shape[1]
        gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
        s = [slice(0, H), slice(H, 2 * H)]
        r, z = sig(gi[:, s[order[0]]] + gh[:, s[order[0]]]), sig(gi[:, s[order[1]]] + gh[:, s[order[1]]])
        r = r if reset else 1
        if not reset_after:
            rec = (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:]
        elif not bias_inside:
            rec = r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:]
        else:
            rec = r * gh[:, 2 * H:]
        n = np.tanh(gi[:, 2 * H:] + rec)
        return z * n + (1 - z) * h if swap else (1 - z) * n + z * h
    return fn


@pytest.mark.parametrize("mistake, hint", [
    (gru_variant(order=(1, 0)), "swapped r and z"),
    (gru_variant(swap=True), "roles of z and 1 - z"),
    (gru_variant(reset_after=False), "AFTER the matrix product"),
    (gru_variant(bias_inside=False), "inside the reset product"),
    (gru_variant(reset=False), "reset gate is missing"),
    (lambda x, h, *w: gru_ok(x, h, *w)[:, :-1], "shape"),
    (lambda x, h, *w: np.tanh(gru_ok(x, h, *w)), "new state is wrong"),
    (_stub, "not implemented yet"),
])
def test_gru_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_gru_step, mistake, hint, capsys)


def test_gru_rejects_mutation(capsys):
    def mutating(x, h, W_ih, W_hh, b_ih, b_hh):
        b_ih += 0
        h *= 1.0001
        return gru_ok(x, h, W_ih, W_hh, b_ih, b_hh)
    fails(C.check_gru_step, mutating, "changed its input", capsys)


# ------------------------------------------------------------------ parameter count

def params_ok(vocab, emb, units, classes, fw):
    b = 1 if fw == "keras" else 2
    total, d = vocab * emb, emb
    for h in units:
        total += 4 * h * (d + h + b)
        d = h
    return total + d * classes + classes


def params_real(vocab, emb, units, classes, fw):
    """Build the model and count (the slow, sure way)."""
    if fw == "torch":
        mods = [torch.nn.Embedding(vocab, emb)]
        d = emb
        for h in units:
            mods.append(torch.nn.LSTM(d, h))
            d = h
        mods.append(torch.nn.Linear(d, classes))
        return sum(p.numel() for m in mods for p in m.parameters())
    b = 1
    total, d = vocab * emb, emb
    for h in units:
        total += 4 * h * (d + h + b)
        d = h
    return total + d * classes + classes


@pytest.mark.parametrize("fn", [params_ok, params_real])
def test_params_accepts_right_answers(fn, capsys):
    passes(C.check_classifier_params, fn, capsys)


def test_params_matches_keras_for_the_seed_model():
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.Input((10,), dtype="int64"), keras.layers.Embedding(1000, 16),
                          keras.layers.LSTM(12, return_sequences=True), keras.layers.LSTM(8), keras.layers.Dense(3)])
    assert m.count_params() == params_ok(1000, 16, [12, 8], 3, "keras")


def params_wrong(**kw):
    def fn(vocab, emb, units, classes, fw):
        b = kw.get("b", 1 if fw == "keras" else 2)
        gates = kw.get("gates", 4)
        total, d = (0 if kw.get("no_emb") else vocab * emb), emb
        for h in units:
            total += gates * h * ((emb if kw.get("no_chain") else d) + (0 if kw.get("no_rec") else h) + b)
            d = h
        d = units[0] if kw.get("dense_first") else d
        return total + d * classes + (0 if kw.get("no_dense_bias") else classes)
    return fn


@pytest.mark.parametrize("mistake, hint", [
    (params_wrong(b=1), "TWO bias vectors"),
    (params_wrong(b=2), "ONE bias vector"),
    (params_wrong(gates=1), "four gates"),
    (params_wrong(no_rec=True), "recurrent weights"),
    (params_wrong(no_chain=True), "previous layer's units"),
    (params_wrong(dense_first=True), "LAST LSTM layer"),
    (params_wrong(no_dense_bias=True), "Dense layer has a bias"),
    (params_wrong(no_emb=True), "embedding table"),
    (lambda *a: params_ok(*a) + 7, "wrong count"),
    (lambda *a: "many", "return a number"),
    (_stub, "not implemented yet"),
])
def test_params_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_classifier_params, mistake, hint, capsys)


def test_params_never_prints_the_answer(capsys):
    for fn in [params_wrong(b=1), lambda *a: params_ok(*a) + 7]:
        _, out = run(C.check_classifier_params, fn, capsys)
        for case in [(20_000, 64, [128, 64], 4, "keras"), (20_000, 64, [128, 64], 4, "torch")]:
            n = params_ok(*case)
            assert str(n) not in out and f"{n:,}" not in out


# ------------------------------------------------------------------ last real output

def last_ok(outputs, lengths):
    return outputs[np.arange(len(lengths)), lengths - 1]


def last_torch(outputs, lengths):
    o = torch.from_numpy(outputs)
    idx = torch.from_numpy(lengths - 1)[:, None, None].expand(-1, 1, o.shape[2])
    return o.gather(1, idx)[:, 0]


@pytest.mark.parametrize("fn", [last_ok, last_torch])
def test_last_accepts_right_answers(fn, capsys):
    passes(C.check_last_real_output, fn, capsys)


@pytest.mark.parametrize("mistake, hint", [
    (lambda o, L: o[:, -1], "LAST position"),
    (lambda o, L: o[np.arange(len(L)), L], "out of range"),
    (lambda o, L: o[np.arange(len(L)), np.minimum(L, o.shape[1] - 1)], "off by one"),
    (lambda o, L: o[:, 0], "FIRST step"),
    (lambda o, L: o[np.arange(len(L)), o.shape[1] - L], "end of the padded sequence"),
    (lambda o, L: o[np.arange(len(L)), -L], "end of the padded sequence"),
    (lambda o, L: (o * (np.arange(o.shape[1])[None] < L[:, None])[..., None]).sum(1) / L[:, None], "averaged"),
    (lambda o, L: o.max(1), "maximum"),
    (lambda o, L: o[:, L - 1], "shape"),
    (_stub, "not implemented yet"),
])
def test_last_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_last_real_output, mistake, hint, capsys)


def test_last_rejects_mutation(capsys):
    def mutating(o, L):
        L -= 1
        return o[np.arange(len(L)), L]
    fails(C.check_last_real_output, mutating, "changed its input", capsys)


# ------------------------------------------------------------------ BPTT Jacobian

def jac_ok(W, hs, k):
    J = np.eye(W.shape[0])
    for t in range(k + 1, len(hs)):
        J = np.diag(1 - hs[t] ** 2) @ W @ J
    return J


def jac_autograd(W, hs, k):
    """The Jacobian by automatic differentiation: recompute h_T from h_k with the same pre-activations."""
    Wt = torch.from_numpy(W)
    hs_t = torch.from_numpy(hs)
    # u_t = atanh(h_t) - W h_{t-1}: the inputs that produced the recorded states
    u = [torch.atanh(hs_t[t]) - Wt @ hs_t[t - 1] for t in range(1, len(hs))]

    def forward(hk):
        h = hk
        for t in range(k + 1, len(hs)):
            h = torch.tanh(Wt @ h + u[t - 1])
        return h
    return torch.autograd.functional.jacobian(forward, hs_t[k].clone())


@pytest.mark.parametrize("fn", [jac_ok, jac_autograd])
def test_bptt_accepts_right_answers(fn, capsys):
    passes(C.check_bptt_jacobian, fn, capsys)


def jac_wrong(mode):
    def fn(W, hs, k):
        J = np.eye(W.shape[0])
        start = k if mode == "extra" else k + 1
        for t in range(max(start, 1), len(hs)):
            d = 1 - hs[t - 1 if mode == "prev" else t] ** 2
            F = {"nod": W, "right": W @ np.diag(d), "transpose": np.diag(d) @ W.T}.get(mode, np.diag(d) @ W)
            J = J @ F if mode == "order" else F @ J
        return J
    return fn


@pytest.mark.parametrize("mistake, hint", [
    (jac_wrong("nod"), "derivative of tanh"),
    (jac_wrong("prev"), "off by one"),
    (jac_wrong("extra"), "one factor too many"),
    (jac_wrong("order"), "time order"),
    (jac_wrong("right"), "ROWS"),
    (jac_wrong("transpose"), "not its transpose"),
    (lambda W, hs, k: np.zeros_like(W) if k == len(hs) - 1 else jac_ok(W, hs, k), "identity"),
    (lambda W, hs, k: jac_ok(W, hs, k)[0], "shape"),
    (in_place(jac_ok, lambda W, hs, k: np.multiply(hs, 0.5, out=hs)), "changed its input"),
    (_stub, "not implemented yet"),
])
def test_bptt_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_bptt_jacobian, mistake, hint, capsys)


def test_checkers_return_scores(capsys):
    assert float(C.check_last_real_output(last_ok)) == 1.0
    assert float(C.check_last_real_output(_stub)) == 0.0
    capsys.readouterr()
