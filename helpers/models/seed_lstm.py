"""The seed's LSTM text classifier (002 §5.2) in PyTorch, with packed sequences, and Keras's initial
weights drawn without Keras.

Shared by notebooks/06_lstms_and_sequences.ipynb (which also builds the Keras original and copies its
weights in) and notebooks/07_attention_and_transformers.ipynb (which trains it with 06's settings
beside the transformers, without loading TensorFlow).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class SeedLSTM(nn.Module):
    """Embedding -> LSTM 128 (all steps) -> LSTM 64 (last state) -> linear; packed sequences skip the pads."""

    def __init__(self, vocab_size: int, embedding_dim: int, num_classes: int):
        """The seed's layer sizes; the embedding width is the caller's choice (the seed leaves it open)."""
        super().__init__()
        self.emb = nn.Embedding(vocab_size, embedding_dim)
        self.lstm1 = nn.LSTM(embedding_dim, 128, batch_first=True)
        self.lstm2 = nn.LSTM(128, 64, batch_first=True)
        self.out = nn.Linear(64, num_classes)              # logits; softmax is in the loss

    def forward(self, ids, lengths=None):
        """ids [B, L] (pad id 0 at the end), lengths [B] (default: the non-pad count) -> logits [B, classes]."""
        if lengths is None:
            lengths = (ids != 0).sum(1).clamp(min=1)
        packed = pack_padded_sequence(self.emb(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        seq, _ = self.lstm1(packed)                        # still packed: LSTM 2 sees real steps only
        _, (h, _) = self.lstm2(seq)
        return self.out(h[-1])


def keras_init_(model: SeedLSTM) -> SeedLSTM:
    """Draw the weights as Keras's defaults would (from torch's RNG): embedding U(-0.05, 0.05), Glorot
    uniform input and dense kernels, orthogonal recurrent kernels, forget-gate bias 1, other biases 0."""
    with torch.no_grad():
        nn.init.uniform_(model.emb.weight, -0.05, 0.05)
        for lstm in (model.lstm1, model.lstm2):
            hidden = lstm.hidden_size
            nn.init.xavier_uniform_(lstm.weight_ih_l0)     # [4h, in]: the same bound as Keras's [in, 4h]
            nn.init.orthogonal_(lstm.weight_hh_l0)         # [4h, h]: orthonormal columns (Keras: rows of [h, 4h])
            lstm.bias_ih_l0.zero_()
            lstm.bias_hh_l0.zero_()
            lstm.bias_ih_l0[hidden:2 * hidden] = 1.0       # gates i, f, g, o: unit_forget_bias
        nn.init.xavier_uniform_(model.out.weight)
        model.out.bias.zero_()
    return model
