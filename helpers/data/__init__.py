"""The data room: files (download, verify, resume, mirror, locks, safe extraction), the catalogue, and one
loader module per dataset family (cifar, text, tabular, images, timeseries).

Importing this package loads the standard library only. The retrieval and catalogue names below are
here at once; a loader named here (`load_cifar10`, ...) imports its family module on first use.
"""
from __future__ import annotations

import importlib as _importlib

from .catalogue import REGISTRY, describe, fetch, fetch_or_standin, standin_used
from .files import DataError, FileSpec, cache_dir, mirror_dir, retrieve

FAMILIES = ("catalogue", "files", "cifar", "text", "tabular", "images", "timeseries")
_LOADERS = {"load_cifar10": "cifar", "CIFAR10_CLASSES": "cifar", "load_corpus": "text",
            "load_ai4i2020": "tabular", "load_cmapss": "tabular", "load_neu": "images",
            "load_digits_split": "images", "load_power_load": "timeseries"}

__all__ = ["DataError", "FileSpec", "REGISTRY", "cache_dir", "describe", "fetch", "fetch_or_standin",
           "mirror_dir", "retrieve", "standin_used", *_LOADERS]


def __getattr__(name: str):
    """Import a family module (helpers.data.text) or a loader (helpers.data.load_neu) on first use."""
    if name in FAMILIES:
        return _importlib.import_module(f"{__name__}.{name}")
    if name in _LOADERS:
        return getattr(_importlib.import_module(f"{__name__}.{_LOADERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
