"""Notebook 03's exercise checkers: each accepts a right answer and rejects typical mistakes with a hint."""
import numpy as np
import pytest

from helpers.checks import classification as C
from checker_util import fails, in_place, passes, _stub  # noqa: E402


def _sig(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softmax(Z, axis=1):
    E = np.exp(Z - Z.max(axis, keepdims=True))
    return E / E.sum(axis, keepdims=True)


# ------------------------------------------------------------------ softmax of two logits

def test_two_logit_prob_accepts_sigmoid_of_difference(capsys):
    passes(C.check_two_logit_prob, lambda z0, z1: _sig(z1 - z0), capsys)


def test_two_logit_prob_accepts_stable_softmax(capsys):
    passes(C.check_two_logit_prob, lambda z0, z1: _softmax(np.stack([z0, z1], 1))[:, 1], capsys)


def test_two_logit_prob_accepts_torch():
    torch = pytest.importorskip("torch")
    assert C.check_two_logit_prob(lambda z0, z1: torch.sigmoid(torch.tensor(z1 - z0)))


@pytest.mark.parametrize("mistake, hint", [
    (lambda z0, z1: _sig(z0 - z1), "probability of class 0"),
    (lambda z0, z1: _sig(z1), "ignored z0"),
    (lambda z0, z1: _sig(z0 + z1), "not their sum"),
    (lambda z0, z1: z1 / (z0 + z1), "exponentials"),
    (lambda z0, z1: np.log(_sig(z1 - z0)), "log-probability"),
    (lambda z0, z1: _softmax(np.stack([z0, z1]), axis=1)[1], "wrong axis"),
    (lambda z0, z1: np.exp(z1), "not normalised"),
    (lambda z0, z1: np.exp(z1 - np.maximum(z0, z1)), "not normalised"),
    (lambda z0, z1: np.exp(z1) / (np.exp(z0) + np.exp(z1)), "overflow"),
    (lambda z0, z1: np.clip(_sig(z1 - z0), 0.01, 0.99), "do not match"),
    (lambda z0, z1: _sig(z1 - z0)[:1], "shape"),
    (_stub, "not implemented yet"),
])
def test_two_logit_prob_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_two_logit_prob, mistake, hint, capsys)


def test_two_logit_prob_hides_the_answer(capsys):
    out = fails(C.check_two_logit_prob, lambda z0, z1: _sig(z1 - z0) + 0.01, "do not match", capsys)
    z0, z1 = np.array([1000.0, -1000.0]), np.array([1001.0, -1002.0])
    for v in _sig(z1 - z0):
        assert f"{v:.3f}" not in out


# ------------------------------------------------------------------ L2-regularised logistic gradient

def l2_ok(w, b, X, y, lam):
    r = _sig(X @ w + b) - y
    return X.T @ r / len(y) + lam * w, r.mean()


def test_l2_logreg_grad_accepts_the_formula(capsys):
    passes(C.check_l2_logreg_grad, l2_ok, capsys)


def test_l2_logreg_grad_accepts_autograd():
    torch = pytest.importorskip("torch")

    def with_autograd(w, b, X, y, lam):
        wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        z = torch.tensor(X) @ wt + bt
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y)) + lam / 2 * (wt ** 2).sum()
        loss.backward()
        return wt.grad.numpy(), bt.grad.item()
    assert C.check_l2_logreg_grad(with_autograd)


def _data(w, b, X, y):
    r = _sig(X @ w + b) - y
    return X.T @ r / len(y), r.mean()


@pytest.mark.parametrize("mistake, hint", [
    (lambda w, b, X, y, lam: _data(w, b, X, y), "penalty's gradient is missing"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] + 2 * lam * w, _data(w, b, X, y)[1]), "factor 2"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] + lam * w / 2, _data(w, b, X, y)[1]), "factor 1/2"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] + lam * w / len(y), _data(w, b, X, y)[1]), "no 1/n"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] - lam * w, _data(w, b, X, y)[1]), "pulls w towards 0"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] + lam * np.sign(w), _data(w, b, X, y)[1]), "L1"),
    (lambda w, b, X, y, lam: (-_data(w, b, X, y)[0] + lam * w, _data(w, b, X, y)[1]), "data term"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] * len(y) + lam * w, _data(w, b, X, y)[1]), "divide"),
    (lambda w, b, X, y, lam: (_data(w, b, X, y)[0] * len(y) + lam * w, _data(w, b, X, y)[1] * len(y)), "db is n times"),
    (lambda w, b, X, y, lam: (l2_ok(w, b, X, y, lam)[0], l2_ok(w, b, X, y, lam)[1] + lam * b), "bias is not"),
    (lambda w, b, X, y, lam: (l2_ok(w, b, X, y, lam)[0], -l2_ok(w, b, X, y, lam)[1]), "sign error in db"),
    (lambda w, b, X, y, lam: l2_ok(w, b, X, y, lam)[0], "tuple"),
    (lambda w, b, X, y, lam: (l2_ok(w, b, X, y, lam)[0] * 1.1, l2_ok(w, b, X, y, lam)[1]), "grad_check"),
    (_stub, "not implemented yet"),
])
def test_l2_logreg_grad_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_l2_logreg_grad, mistake, hint, capsys)


# ------------------------------------------------------------------ label smoothing

def ls_ok(Z, y, eps):
    n, k = Z.shape
    T = (1 - eps) * np.eye(k)[y] + eps / k
    return (_softmax(Z) - T) / n


def test_label_smoothing_accepts_the_formula(capsys):
    passes(C.check_label_smoothing_grad, ls_ok, capsys)


def _onehot(y, k):
    return np.eye(k)[y]


@pytest.mark.parametrize("mistake, hint", [
    (lambda Z, y, eps: (_softmax(Z) - _onehot(y, Z.shape[1])) / len(y), "ignored the smoothing"),
    (lambda Z, y, eps: (_softmax(Z) - (1 - eps) * _onehot(y, Z.shape[1])
                        - eps / (Z.shape[1] - 1) * (1 - _onehot(y, Z.shape[1]))) / len(y), "K - 1"),
    (lambda Z, y, eps: (_softmax(Z) - (1 - eps) * _onehot(y, Z.shape[1])) / len(y), "part of the target"),
    (lambda Z, y, eps: ls_ok(Z, y, eps) * len(y), "1/n"),
    (lambda Z, y, eps: -ls_ok(Z, y, eps), "sign error"),
    (lambda Z, y, eps: ls_ok(np.log(_softmax(Z)), y, eps) + (Z - _softmax(Z)) / len(y), "softmax probabilities"),
    (lambda Z, y, eps: ls_ok(Z, y, eps) + (_softmax(Z, axis=0) - _softmax(Z)) / len(y), "wrong axis"),
    (lambda Z, y, eps: ls_ok(Z, y, eps) + (np.exp(Z) - _softmax(Z)) / len(y), "not normalised"),
    (lambda Z, y, eps: ls_ok(Z, y, eps).T, "shape"),
    (lambda Z, y, eps: ls_ok(Z, y, 2 * eps), "does not match"),
    (in_place(ls_ok, lambda Z, y, eps: np.subtract(Z, Z.max(1, keepdims=True), out=Z)), "in place"),
    (_stub, "not implemented yet"),
])
def test_label_smoothing_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_label_smoothing_grad, mistake, hint, capsys)


# ------------------------------------------------------------------ class weights

def wce_ok(Z, y, w):
    D = _softmax(Z) - np.eye(Z.shape[1])[y]
    return w[y][:, None] * D / w[y].sum()


def test_weighted_ce_accepts_the_formula(capsys):
    passes(C.check_weighted_ce_grad, wce_ok, capsys)


@pytest.mark.parametrize("checker, option", [(C.check_label_smoothing_grad, "label_smoothing"),
                                             (C.check_weighted_ce_grad, "weight")])
def test_cross_entropy_references_are_torch(checker, option):
    torch = pytest.importorskip("torch")

    def with_torch(Z, y, extra):
        """dL/dZ of torch's cross_entropy, the third argument passed as `option` (eps, or the class weights)."""
        z = torch.tensor(Z, requires_grad=True)
        extra = extra if np.isscalar(extra) else torch.tensor(extra)
        torch.nn.functional.cross_entropy(z, torch.tensor(y), **{option: extra}).backward()
        return z.grad.numpy()
    assert checker(with_torch)


def _d(Z, y):
    return _softmax(Z) - np.eye(Z.shape[1])[y]


@pytest.mark.parametrize("mistake, hint", [
    (lambda Z, y, w: w[y][:, None] * _d(Z, y) / len(y), "not by n"),
    (lambda Z, y, w: _d(Z, y) / len(y), "weights are missing"),
    (lambda Z, y, w: _d(Z, y) * w[None, :] / w[y].sum(), "not each column"),
    (lambda Z, y, w: _d(Z, y) * w[None, :] / len(y), "not each column"),
    (lambda Z, y, w: w[y][:, None] * _d(Z, y) / w.sum(), "not over the classes"),
    (lambda Z, y, w: -wce_ok(Z, y, w), "sign error"),
    (lambda Z, y, w: wce_ok(Z, y, w) + w[y][:, None] * (_softmax(Z, axis=0) - _softmax(Z)) / w[y].sum(), "wrong axis"),
    (lambda Z, y, w: wce_ok(Z, y, w) + w[y][:, None] * (np.exp(Z) - _softmax(Z)) / w[y].sum(), "not normalised"),
    (lambda Z, y, w: wce_ok(Z, y, w) * 2, "does not match"),
    (lambda Z, y, w: wce_ok(Z, y, w)[:, :-1], "shape"),
    (in_place(wce_ok, lambda Z, y, w: np.divide(w, w.sum(), out=w)), "in place"),
    (_stub, "not implemented yet"),
])
def test_weighted_ce_rejects_typical_mistakes(mistake, hint, capsys):
    fails(C.check_weighted_ce_grad, mistake, hint, capsys)
