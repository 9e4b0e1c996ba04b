import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from neurobridge.assemblies import flatten_pixels
from neurobridge.models import cache as cache_module
from neurobridge.models import get_or_train, model_cache_dir


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    images, labels = d.images[order].astype(np.float32), d.target[order]
    return images[:1400], labels[:1400], images[1400:], labels[1400:]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


def test_digits_classifier_is_accurate(digits, cache_dir):
    train_x, train_y, test_x, test_y = digits
    model = get_or_train("classifier", (train_x, train_y), seed=0, cache_dir=cache_dir, device="cpu")
    assert model.score(test_x, test_y).accuracy > 0.9
    assert model.features(test_x).shape == (len(test_x), model.config["hidden"])
    np.testing.assert_allclose(model.predict_proba(test_x[:5]).sum(1), 1.0, rtol=1e-5)


def test_image_vae_reconstructs_better_than_the_mean_image(digits, cache_dir):
    train_x, _, test_x, test_y = digits
    vae = get_or_train("image_vae", train_x, seed=0, cache_dir=cache_dir, device="cpu")
    z = vae.encode(test_x)
    assert z.shape == (len(test_x), 8)
    recon = vae.decode(z)
    assert recon.shape == test_x.shape and recon.min() >= 0 and recon.max() <= 16
    assert np.mean((recon - test_x) ** 2) < 0.5 * np.mean((train_x.mean(0) - test_x) ** 2)
    assembly = flatten_pixels(test_x, presentation={"label": test_y})
    latent = vae.encode(assembly)
    assert latent.dims == ("presentation", "neuroid")
    assert latent.coords["label"].values.tolist() == test_y.tolist()
    np.testing.assert_allclose(latent.values, z, rtol=1e-5, atol=1e-6)


def test_label_vae_decodes_its_own_codes(digits, cache_dir):
    _, train_y, _, test_y = digits
    vae = get_or_train("label_vae", train_y, seed=0, cache_dir=cache_dir, device="cpu")
    z = vae.encode(test_y)
    assert z.shape == (len(test_y), 4)
    assert vae.decode(z).shape == (len(test_y), 10)
    np.testing.assert_array_equal(vae.predict(z), test_y)


def test_cache_hit_returns_the_identical_model_without_training(digits, tmp_path, monkeypatch):
    _, train_y, _, _ = digits
    first = get_or_train("label_vae", train_y, {"steps": 50}, seed=1, cache_dir=tmp_path, device="cpu")
    assert first.training_info["from_cache"] is False

    def no_training(*args, **kwargs):
        raise AssertionError("a cache hit must not train")

    monkeypatch.setattr(cache_module, "_train", no_training)
    second = get_or_train("label_vae", train_y, {"steps": 50}, seed=1, cache_dir=tmp_path, device="cpu")
    assert second.training_info["from_cache"] is True
    assert second.training_info["cache_path"] == first.training_info["cache_path"]
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(AssertionError, match="cache hit"):
        get_or_train("label_vae", train_y, {"steps": 50}, seed=2, cache_dir=tmp_path, device="cpu")
    assert len(list(Path(tmp_path).glob("*.pt"))) == 1
    assert not list(Path(tmp_path).glob("*.part"))


def test_training_is_seeded_without_touching_the_global_rng(digits, tmp_path):
    _, train_y, _, _ = digits
    state = torch.get_rng_state()
    a = get_or_train("label_vae", train_y, {"steps": 30}, seed=5, cache_dir=tmp_path / "a", device="cpu")
    b = get_or_train("label_vae", train_y, {"steps": 30}, seed=5, cache_dir=tmp_path / "b", device="cpu")
    c = get_or_train("label_vae", train_y, {"steps": 30}, seed=6, cache_dir=tmp_path / "c", device="cpu")
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_cache_dir_follows_neurobridge_home(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(tmp_path))
    assert model_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("NEUROBRIDGE_HOME")
    assert model_cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "neurobridge" / "models"


def test_bad_inputs_name_the_argument(digits, tmp_path):
    train_x, train_y, _, _ = digits
    with pytest.raises(ValueError, match="kind"):
        get_or_train("gan", train_x, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown keys \\['epoch'\\]"):
        get_or_train("image_vae", train_x, {"epoch": 3}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="data"):
        get_or_train("image_vae", train_x.reshape(len(train_x), -1)[:, :10], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="labels"):
        get_or_train("classifier", (train_x, train_y[:10]), cache_dir=tmp_path)
    with pytest.raises(TypeError, match="seed"):
        get_or_train("label_vae", train_y, seed=1.5, cache_dir=tmp_path)


def _idx(path):
    with gzip.open(path) as handle:
        data = handle.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.mark.slow
@pytest.mark.realdata
def test_mnist_quick_models(tmp_path, shared_data):
    images = _idx(shared_data("train-images-idx3-ubyte.gz"))[:6000]
    labels = _idx(shared_data("train-labels-idx1-ubyte.gz"))[:6000]
    train_x, train_y, test_x, test_y = images[:5000], labels[:5000], images[5000:], labels[5000:]
    clf = get_or_train("classifier", (train_x, train_y), {"epochs": 2}, cache_dir=tmp_path, device="cpu")
    assert clf.score(test_x, test_y).accuracy > 0.9
    vae = get_or_train("image_vae", train_x, {"epochs": 6}, cache_dir=tmp_path, device="cpu")
    assert vae.encode(test_x).shape == (1000, 16)
    assert np.mean((vae.reconstruct(test_x) - test_x) ** 2) < 0.7 * np.mean((train_x.mean(0) - test_x) ** 2)
