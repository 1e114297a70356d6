"""Classifying text with a pre-trained encoder: mean pooling over the real tokens, batches of similar
lengths, frozen features, and end-to-end fine-tuning (linear warm-up and decay, the new head at its
own rate).

Shared by notebooks/07_attention_and_transformers.ipynb and notebooks/13_large_models_on_a_budget.ipynb.
Token id 0 is padding (BERT's [PAD] and the course's <pad>).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import autocast


class BertBody(nn.Module):
    """A Hugging Face encoder's last hidden states for (ids, mask)."""

    def __init__(self, bert):
        """Wrap a transformers BertModel (or a peft model around one)."""
        super().__init__()
        self.bert = bert

    def forward(self, ids, mask):
        """ids, mask [B, L] -> hidden states [B, L, width]."""
        return self.bert(input_ids=ids, attention_mask=mask).last_hidden_state


class MeanPooled(nn.Module):
    """An encoder body, the mean of its outputs over the real tokens, a linear layer."""

    def __init__(self, body, width, n_classes):
        """body(ids, mask) -> [B, L, width]."""
        super().__init__()
        self.body, self.head = body, nn.Linear(width, n_classes)

    def features(self, ids, mask):
        """Mean of the hidden states where mask is 1."""
        h = self.body(ids, mask)
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, ids, mask):
        """Class scores."""
        return self.head(self.features(ids, mask))


def pad_batch(seqs):
    """(ids, mask) [B, longest] from a list of id lists, padded with 0."""
    L = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.as_tensor(s)
    return ids, (ids != 0).long()


def length_batches(seqs, order, batch):
    """`order` cut into batches of similar lengths (sorted within blocks of 50 batches)."""
    order = np.asarray(order)
    blocks = [order[i: i + 50 * batch] for i in range(0, len(order), 50 * batch)]
    order = np.concatenate([b[np.argsort([len(seqs[j]) for j in b], kind="stable")] for b in blocks])
    return [order[i: i + batch] for i in range(0, len(order), batch)]


def encode_all(model, seqs, dev, amp=None, batch=128, what="features"):
    """model.features (what="features") or class scores (what="scores") of every sequence, float32 on the CPU."""
    model.eval()
    out = [None] * len(seqs)
    fn = model.features if what == "features" else model
    with torch.no_grad(), autocast(dev, amp):
        for b in length_batches(seqs, np.arange(len(seqs)), batch):
            ids, mask = pad_batch([seqs[j] for j in b])
            for j, row in zip(b, fn(ids.to(dev), mask.to(dev)).float().cpu()):
                out[j] = row
    return torch.stack(out)


def fine_tune(model, seqs, labels, idx, *, epochs, lr, head_lr, dev, amp=None, seed=0, min_steps=30,
              max_steps=None, warmup=0.1, weight_decay=0.01, batch=None):
    """Train model's trainable parameters on the items idx of (seqs, labels); returns (seconds, losses, optimizer).

    AdamW; the body at lr, the head at head_lr, both warmed up linearly over `warmup` of the steps and
    then decayed linearly to zero; gradients clipped at norm 1; batch 16 below 200 items, else 32.
    """
    batch = batch or (16 if len(idx) < 200 else 32)
    steps = max(min_steps, epochs * math.ceil(len(idx) / batch))
    if max_steps:
        steps = min(steps, max_steps)
    warm = max(1, int(steps * warmup))
    trainable = lambda module: [p for p in module.parameters() if p.requires_grad]   # noqa: E731
    groups = [{"params": trainable(model.body), "lr": lr}, {"params": trainable(model.head), "lr": head_lr}]
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, (steps - s) / max(1, steps - warm)))
    labels = torch.as_tensor(labels)
    rng, losses, t0 = np.random.default_rng(seed), [], time.perf_counter()
    model.to(dev).train()
    while len(losses) < steps:
        batches = length_batches(seqs, rng.permutation(idx), batch)
        rng.shuffle(batches)
        for b in batches:
            ids, mask = pad_batch([seqs[j] for j in b])
            with autocast(dev, amp):
                logits = model(ids.to(dev), mask.to(dev))
            loss = F.cross_entropy(logits.float(), labels[b].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return time.perf_counter() - t0, losses, opt
