"""The frozen digits image model holds the class information: its linear probe reaches 0.95 on the digits test split.

Trains ``DIGITS_IMAGE_VAE`` without labels on the unimodal training images of ``neurobridge run digits`` (about
10-20 s on one thread; the model cache of the test session is isolated), then fits the probe with every label.
"""
import numpy as np
import pytest
import torch

from neurobridge.models.frozen import DIGITS_IMAGE_VAE, digits_image_vae, linear_probe


@pytest.fixture(scope="module")
def split():
    from neurobridge.experiments.digits import load_data

    return load_data(0)


def test_digits_image_vae_linear_probe_reaches_095(split, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = digits_image_vae(split.unimodal_images, seed=0, device="cpu", cache_dir=tmp_path_factory.mktemp("models"))
    finally:
        torch.set_num_threads(threads)
    assert model.latent_dim == DIGITS_IMAGE_VAE["latent_dim"]
    acc = linear_probe(model, split.unimodal_images, split.unimodal_labels, split.test_images, split.test_labels)
    assert acc >= 0.95, f"linear probe {acc:.4f} on the frozen digits latent is below 0.95"


def test_linear_probe_checks_pairing_and_is_a_real_classifier(split):
    class Pixels:
        def encode(self, images):
            return np.asarray(images).reshape(len(images), -1)

    acc = linear_probe(Pixels(), split.unimodal_images, split.unimodal_labels, split.test_images, split.test_labels)
    assert 0.93 < acc <= 1.0
    shuffled = np.random.default_rng(0).permutation(split.unimodal_labels)
    assert linear_probe(Pixels(), split.unimodal_images, shuffled, split.test_images, split.test_labels) < 0.3
    with pytest.raises(ValueError, match="pair up"):
        linear_probe(Pixels(), split.unimodal_images, split.unimodal_labels[:-1], split.test_images, split.test_labels)
