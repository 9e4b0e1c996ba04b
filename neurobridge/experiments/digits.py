"""``neurobridge run digits``: scikit-learn's 8x8 digits, image latents <-> label latents (the embedded default).

Split (stratified, fixed ``split_seed=0``): 30 % test; the other 70 % are both the unimodal training images (no
labels are used by the image VAE) and the alignment pool whose labelled fraction gives the bridges. The label VAE and
the judging classifier see the unimodal labels, as pretrained unimodal models would. Flows use a concatenation MLP
(width 128, depth 3, 600 steps, peak learning rate 5e-3 under the trainer's warm-up + cosine decay; 2e-3 left them
undertrained in the 32-d image latent, see :mod:`neurobridge.models.frozen`). The frozen image model is :data:`neurobridge.models.frozen.DIGITS_IMAGE_VAE` (32-d MLP
VAE, trained without labels; linear probe 0.96-0.97 on the test split), so the latent does not cap the alignment.
"""
from __future__ import annotations

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.image_label import ImageLabelData, ImageLabelExperiment

__all__ = ["EXPERIMENT", "IMAGE_MODEL", "FLOW", "FLOW_QUICK", "load_data", "models", "setup"]

FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 128, "depth": 3}}, "steps": 600, "batch_size": 256, "lr": 5e-3}
FLOW_QUICK = {**FLOW, "steps": 300}
IMAGE_MODEL = "image_vae"
"""The frozen image model (a :func:`neurobridge.models.get_or_train` kind); its settings are in :func:`models`."""


def load_data(split_seed: int = 0, test_fraction: float = 0.3) -> ImageLabelData:
    from sklearn.model_selection import train_test_split

    from neurobridge.assemblies import unflatten_pixels
    from neurobridge.datasets import load

    digits = load("digits")
    images = unflatten_pixels(digits).astype(np.float32)
    labels = digits.coords["label"].values
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=split_seed)
    return ImageLabelData("digits", images[train], labels[train], images[train], labels[train], images[test], labels[test])


def models(config: RunConfig) -> dict:
    """Settings of the reference models (by :func:`neurobridge.models.get_or_train` kind; the package defaults
    where absent) and of the end-to-end baselines (``cnn``, ``fused_vae``)."""
    from neurobridge.models.frozen import DIGITS_IMAGE_VAE

    return {"cnn": {"epochs": 15}, "image_vae": dict(DIGITS_IMAGE_VAE)}


EXPERIMENT = ImageLabelExperiment(
    "digits",
    load_data=lambda config: load_data(int(config.options.get("split_seed", 0))),
    models=models,
    flow=lambda config: FLOW_QUICK if config.quick else FLOW,
    image_model=IMAGE_MODEL,
    data_settings=lambda config: {"split_seed": int(config.options.get("split_seed", 0)), "test_fraction": 0.3},
)


def setup(config: RunConfig):
    """The run's data splits and frozen spaces (an :class:`~neurobridge.experiments.image_label.ImageLabelContext`)."""
    return EXPERIMENT.setup(config)

