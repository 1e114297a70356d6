"""The seed LSTM shared by notebooks 06 and 07: packing ignores the pads, and Keras's initial weights."""
import torch

from helpers.models.seed_lstm import SeedLSTM, keras_init_


def _model(seed=0):
    torch.manual_seed(seed)
    return keras_init_(SeedLSTM(50, 8, 3)).eval()


def test_padding_changes_nothing_and_lengths_default_to_the_non_pad_count():
    model = _model()
    ids = torch.tensor([[5, 6, 7, 0, 0], [9, 8, 7, 6, 5]])
    longer = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], 1)     # more padding at the end
    with torch.no_grad():
        a = model(ids, torch.tensor([3, 5]))
        b = model(longer)
        c = model(ids[:1, :3])
    assert a.shape == (2, 3)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    torch.testing.assert_close(a[:1], c, rtol=0, atol=1e-6)
    with torch.no_grad():
        unpacked = model(ids, torch.tensor([5, 5]))                        # told to read the pads
    assert (unpacked[0] - a[0]).abs().max() > 1e-4


def test_keras_initial_weights():
    model = _model()
    assert model.emb.weight.abs().max() <= 0.05 and model.emb.weight.std() > 0.02
    for lstm in (model.lstm1, model.lstm2):
        h = lstm.hidden_size
        w_hh = lstm.weight_hh_l0
        torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(h), atol=1e-5, rtol=0)   # orthogonal columns
        bound = (6 / (lstm.input_size + 4 * h)) ** 0.5                               # Glorot uniform
        assert lstm.weight_ih_l0.abs().max() <= bound and lstm.weight_ih_l0.abs().max() > 0.9 * bound
        bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
        assert torch.equal(bias[h:2 * h], torch.ones(h))                              # forget gate starts open
        assert not bias[:h].any() and not bias[2 * h:].any()
    assert not model.out.bias.any()


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = _model(0), _model(0), _model(1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.lstm1.weight_ih_l0, c.lstm1.weight_ih_l0)
