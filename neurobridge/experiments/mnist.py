"""``neurobridge run mnist``: MNIST with a conv VAE (64-d latent, :data:`neurobridge.models.frozen.MNIST_IMAGE_VAE`;
linear probe 0.950) and a label VAE (4-d latent).

The split used before: the first 50,000 training images train the unimodal models, the last 10,000 form the
alignment pool, and the 10,000 test images evaluate. ``--quick`` keeps 10,000 unimodal images (trained briefly),
a 2,000-image pool and 2,000 test images so that CI stays fast.
"""
from __future__ import annotations

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.image_label import ImageLabelData, ImageLabelExperiment

__all__ = ["EXPERIMENT", "IMAGE_MODEL", "FLOW", "FLOW_QUICK", "load_data", "models", "setup"]

FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 256, "depth": 3}}, "steps": 1500, "batch_size": 512, "lr": 2e-3}
FLOW_QUICK = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 128, "depth": 3}}, "steps": 400, "batch_size": 256, "lr": 2e-3}
IMAGE_MODEL = "image_vae"


def load_data(quick: bool = False) -> ImageLabelData:
    from neurobridge.assemblies import unflatten_pixels
    from neurobridge.datasets import load

    train = load("mnist", split="train")
    test = load("mnist", split="test")
    images = unflatten_pixels(train).astype(np.float32)
    labels = train.coords["label"].values
    test_images = unflatten_pixels(test).astype(np.float32)
    test_labels = test.coords["label"].values
    unimodal, pool = slice(0, 50000), slice(50000, 60000)
    if quick:
        unimodal, pool = slice(0, 10000), slice(50000, 52000)
        test_images, test_labels = test_images[:2000], test_labels[:2000]
    return ImageLabelData("mnist", images[unimodal], labels[unimodal], images[pool], labels[pool], test_images, test_labels)


def models(config: RunConfig) -> dict:
    """Settings of the reference models and of the end-to-end baselines (``cnn``, ``fused_vae``)."""
    if config.quick:
        return {"image_vae": {"epochs": 3}, "classifier": {"epochs": 2}, "cnn": {"epochs": 3}, "fused_vae": {"epochs": 3}}
    from neurobridge.models.frozen import MNIST_IMAGE_VAE

    return {"image_vae": dict(MNIST_IMAGE_VAE), "classifier": {"epochs": 3}, "cnn": {"epochs": 5}, "fused_vae": {"epochs": 10}}


EXPERIMENT = ImageLabelExperiment(
    "mnist",
    load_data=lambda config: load_data(config.quick),
    models=models,
    flow=lambda config: FLOW_QUICK if config.quick else FLOW,
    image_model=IMAGE_MODEL,
    data_settings=lambda config: {"quick_split": bool(config.quick)},
)


def setup(config: RunConfig):
    """The run's data splits and frozen spaces (an :class:`~neurobridge.experiments.image_label.ImageLabelContext`)."""
    return EXPERIMENT.setup(config)

