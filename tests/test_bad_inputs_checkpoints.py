"""Corrupt or truncated checkpoints, saved flows and cached models: a clear error that names the file and never
suggests weights_only=False."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from neurobridge._io import CorruptFileError, read_torch
from neurobridge.flows import ConditionalFlow, FixedPairs, TrainConfig, Trainer, build_velocity
from neurobridge.flows.checkpoint import atomic_save, read_checkpoint

TINY = {"width": 16, "depth": 1}


def _no_unsafe_advice(error) -> None:
    assert "weights_only=False" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def _flow(**kw):
    return ConditionalFlow(network="small", network_kwargs=TINY, steps=3, batch_size=8, progress=False, device="cpu", **kw)


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 2)).astype(np.float32), rng.normal(size=(20, 2)).astype(np.float32)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_save({"format": "x", "weights": torch.arange(1000.0)}, path)
    return path


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b[:10], lambda b: b"", lambda b: b"not a checkpoint at all"],
    ids=["half", "ten-bytes", "empty", "text"],
)
def test_truncated_or_corrupt_checkpoint_names_the_file(checkpoint, damage):
    checkpoint.write_bytes(damage(checkpoint.read_bytes()))
    with pytest.raises(CorruptFileError, match=rf"checkpoint file {checkpoint} \(\d+ bytes\) cannot be read: it is truncated, corrupt") as info:
        read_checkpoint(checkpoint)
    _no_unsafe_advice(info.value)


def test_a_pickled_object_is_refused_without_unsafe_advice(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weights": np.zeros(3)}, path)
    with pytest.raises(CorruptFileError, match=rf"saved flow model file {path} .* cannot be read") as info:
        read_torch(path, what="saved flow model")
    _no_unsafe_advice(info.value)


def test_checkpoint_that_is_not_a_dict(tmp_path):
    path = tmp_path / "c.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CorruptFileError, match=rf"checkpoint file {path} holds a list, not a checkpoint dict"):
        read_checkpoint(path)


def test_trainer_resume_from_an_incomplete_checkpoint_names_the_file(tmp_path):
    x, y = (torch.from_numpy(a) for a in _data())
    trainer = Trainer(build_velocity("mlp", 2, 2, width=8, depth=1), x, y, FixedPairs(np.arange(20), np.arange(20)),
                      config=TrainConfig(steps=2, batch_size=4, progress=False), device="cpu")
    state = trainer.state_dict()
    del state["optimizer"]
    path = tmp_path / "c.pt"
    atomic_save(state, path)
    with pytest.raises(ValueError, match=rf"{path}: the flow checkpoint lacks \['optimizer'\]"):
        trainer.load_checkpoint(path)


def test_flow_resume_from_a_truncated_checkpoint_names_the_file(tmp_path):
    x, y = _data()
    _flow(checkpoint_dir=tmp_path).fit(x, y)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match=rf"checkpoint file {path} \(200 bytes\) cannot be read") as info:
        _flow(checkpoint_dir=tmp_path).fit(x, y, resume=True)
    _no_unsafe_advice(info.value)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("flow")
    _flow().fit(*_data()).save(path)
    return path


def _copy(saved, tmp_path):
    for name in ("config.json", "model.pt", "history.json"):
        (tmp_path / name).write_bytes((saved / name).read_bytes())
    return tmp_path


def test_saved_flow_with_truncated_weights(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "model.pt").write_bytes((folder / "model.pt").read_bytes()[:300])
    with pytest.raises(CorruptFileError, match=rf"saved flow model file {folder / 'model.pt'} \(300 bytes\)") as info:
        ConditionalFlow.load(folder, device="cpu")
    _no_unsafe_advice(info.value)


def test_saved_flow_with_broken_config_json(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "config.json").write_text('{"format": "neurobridge.flows.model/1", "d_x": ')
    with pytest.raises(CorruptFileError, match=rf"{folder / 'config.json'} is not valid JSON"):
        ConditionalFlow.load(folder, device="cpu")


def test_saved_flow_config_missing_keys(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["d_y"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptFileError, match=rf"{folder / 'config.json'} lacks \['d_y'\]"):
        ConditionalFlow.load(folder, device="cpu")


def test_saved_flow_weights_of_another_shape(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["d_y"] = 5
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptFileError, match=rf"{folder / 'model.pt'} does not match {folder / 'config.json'}"):
        ConditionalFlow.load(folder, device="cpu")


def test_saved_flow_missing_weights(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "model.pt").unlink()
    with pytest.raises(FileNotFoundError, match=rf"the saved flow at {folder} has no model.pt"):
        ConditionalFlow.load(folder, device="cpu")


def test_saved_flow_with_broken_history(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "history.json").write_text("{")
    with pytest.raises(CorruptFileError, match=rf"{folder / 'history.json'} is not valid JSON"):
        ConditionalFlow.load(folder, device="cpu")


def test_corrupt_cached_model_is_named_and_retrained(tmp_path):
    from neurobridge.models import get_or_train

    labels = np.repeat(np.arange(3), 4)
    config = {"steps": 2, "hidden": 8, "latent_dim": 2}
    first = get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path)
    path = first.training_info["cache_path"]
    with open(path, "r+b") as handle:
        handle.truncate(100)
    with pytest.warns(RuntimeWarning, match=rf"cached label_vae model file {path} \(100 bytes\) cannot be read.*retraining") as record:
        again = get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path)
    assert not again.training_info["from_cache"]
    assert all("weights_only=False" not in str(w.message) for w in record)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path).training_info["from_cache"]


def test_get_or_train_refuses_a_negative_seed(tmp_path):
    from neurobridge.models import get_or_train

    with pytest.raises(ValueError, match=r"seed must be a non-negative integer; got -1"):
        get_or_train("label_vae", np.arange(3), seed=-1, cache_dir=tmp_path)
