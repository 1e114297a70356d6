"""The models room: the seed CNN and its twins (seed_cnn), the seed LSTM in PyTorch (seed_lstm), the
fast CIFAR network (fastnet), its augmentation (augment) and training recipe (fastcifar), the
scale-out entry points (distributed for torch DDP, tfdistribute for TensorFlow), the edge export
(edge: ONNX Runtime, int8) and a real pre-trained text encoder shipped in a PyPI package
(pretrained: all-MiniLM-L6-v2, offline).

Importing this package loads no framework; each module imports its framework at its top.
"""
from __future__ import annotations

import importlib as _importlib

MODULES = ("seed_cnn", "seed_lstm", "finetune", "fastnet", "augment", "fastcifar", "distributed", "tfdistribute", "edge", "pretrained")


def count_params(model) -> int:
    """Number of parameters of a Keras or PyTorch model (trainable and frozen)."""
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters())


def __getattr__(name: str):
    """Import a module of this room (helpers.models.fastcifar) on first use."""
    if name in MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
