"""helpers.models.finetune: padding, length batches, features in the input order, and the training loop."""
import numpy as np
import torch
from torch import nn

from helpers.models import finetune


class EmbedBody(nn.Module):
    """A stand-in encoder: token embeddings as hidden states."""

    def __init__(self, vocab=30, width=8):
        super().__init__()
        self.emb = nn.Embedding(vocab, width)

    def forward(self, ids, mask):
        return self.emb(ids)


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    seqs = [list(rng.integers(3, 15, rng.integers(2, 9)) + (15 if y else 0)) for y in labels]   # class 1: ids 15-28
    return seqs, labels


def test_pad_batch_and_length_batches():
    ids, mask = finetune.pad_batch([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    seqs = [[1] * n for n in (5, 1, 3, 2, 4, 1, 6)]
    bs = finetune.length_batches(seqs, np.arange(7), 2)
    assert sorted(np.concatenate(bs).tolist()) == list(range(7))
    assert [len(seqs[j]) for b in bs for j in b] == sorted(len(s) for s in seqs)     # one block: fully sorted


def test_features_are_the_mean_over_real_tokens_in_input_order():
    torch.manual_seed(0)
    model = finetune.MeanPooled(EmbedBody(), 8, 2)
    seqs, _ = _data(20)
    feats = finetune.encode_all(model, seqs, "cpu", batch=4)
    for i in (0, 7, 19):
        want = model.body.emb.weight[torch.as_tensor(seqs[i])].mean(0)
        torch.testing.assert_close(feats[i], want.detach(), rtol=0, atol=1e-6)
    scores = finetune.encode_all(model, seqs, "cpu", batch=3, what="scores")
    assert scores.shape == (20, 2)


def test_fine_tune_learns_and_leaves_frozen_parameters_alone():
    torch.manual_seed(0)
    seqs, labels = _data()
    model = finetune.MeanPooled(EmbedBody(), 8, 2)
    model.body.emb.weight.requires_grad_(False)
    frozen = model.body.emb.weight.clone()
    before = float((finetune.encode_all(model, seqs, "cpu", what="scores").argmax(1).numpy() == labels).mean())
    seconds, losses, opt = finetune.fine_tune(model, seqs, labels, np.arange(len(seqs)), epochs=30, lr=1e-2,
                                              head_lr=5e-2, dev="cpu", seed=1)
    after = float((finetune.encode_all(model, seqs, "cpu", what="scores").argmax(1).numpy() == labels).mean())
    assert torch.equal(model.body.emb.weight, frozen)
    assert sum(len(g["params"]) for g in opt.param_groups) == 2                     # the head's weight and bias
    assert len(losses) == 30 * 6 and seconds > 0                                    # 96 items, batches of 16
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]) and after > before + 0.1    # the head alone learns


def test_fine_tuning_everything_fits_the_task():
    torch.manual_seed(0)
    seqs, labels = _data()
    model = finetune.MeanPooled(EmbedBody(), 8, 2)
    start = model.body.emb.weight.clone()
    _, losses, opt = finetune.fine_tune(model, seqs, labels, np.arange(len(seqs)), epochs=30, lr=1e-2,
                                        head_lr=5e-2, dev="cpu", seed=1)
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0]                         # decayed to zero at the end
    assert not torch.equal(model.body.emb.weight, start)
    acc = float((finetune.encode_all(model, seqs, "cpu", what="scores").argmax(1).numpy() == labels).mean())
    assert acc > 0.95 and np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])


def test_step_count_respects_min_and_max_steps():
    seqs, labels = _data(20)
    model = finetune.MeanPooled(EmbedBody(), 8, 2)
    _, losses, _ = finetune.fine_tune(model, seqs, labels, np.arange(20), epochs=1, lr=1e-3, head_lr=1e-3,
                                      dev="cpu", min_steps=7)
    assert len(losses) == 7
    _, losses, _ = finetune.fine_tune(model, seqs, labels, np.arange(20), epochs=10, lr=1e-3, head_lr=1e-3,
                                      dev="cpu", max_steps=4)
    assert len(losses) == 4
