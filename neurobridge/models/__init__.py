"""The small reference networks the experiments train and cache: image VAEs (MLP for 8x8 digits, conv for 28x28
MNIST), a label VAE, a CNN classifier that judges generated images, and :class:`RandomCNN`, a seeded random CNN
whose layers stand in for a model without any download.

Every model exposes ``encode(x) -> latent mean`` and ``decode(z)`` (VAEs) or ``predict`` / ``features``
(classifier); :func:`get_or_train` trains once per (data, config, seed) and reuses the cached weights.
Names load on first use, so importing this package does not import torch.
"""
from __future__ import annotations

from neurobridge._lazy import lazy_package

_NAMES = {
    "ImageVAE": "vae",
    "LabelVAE": "vae",
    "train_image_vae": "vae",
    "train_label_vae": "vae",
    "IMAGE_VAE_DEFAULTS": "vae",
    "LABEL_VAE_DEFAULTS": "vae",
    "ImageClassifier": "classifier",
    "train_classifier": "classifier",
    "CLASSIFIER_DEFAULTS": "classifier",
    "get_or_train": "cache",
    "model_cache_dir": "cache",
    "cache_key": "cache",
    "digits_image_vae": "frozen",
    "RandomCNN": "random_cnn",
}

__getattr__, __dir__, __all__ = lazy_package("neurobridge.models", _NAMES, module_globals=globals())
