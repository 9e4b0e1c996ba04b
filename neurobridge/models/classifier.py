"""A small CNN image classifier: the independent judge of generated images and the end-to-end recognition baseline.

Architecture (LeCun et al. 1998 in spirit): 3x3 convolutions with ReLU, one 2x2 max-pool per stage (one stage for
8x8 digits, two for 28x28 MNIST), a ReLU hidden layer whose activations are the **features** (the penultimate
layer used by the Frechet distance, as Inception's pool layer is in FID), and a linear layer to class logits.
Trained with cross-entropy and Adam.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn

from neurobridge._device import resolve_device
from neurobridge._training import fit_minibatch, seeded
from neurobridge._validation import pixel_max
from neurobridge.models._base import ReferenceModel
from neurobridge.models._data import as_images, as_labels, class_set, first_rows, latent_assembly, merge_config

__all__ = ["ImageClassifier", "train_classifier", "CLASSIFIER_DEFAULTS"]


class ImageClassifier(ReferenceModel):
    """CNN classifier; ``predict(images) -> labels``, ``features(images) -> (n, hidden)`` penultimate activations."""

    kind = "classifier"

    def __init__(self, *, image_shape=(8, 8), classes=tuple(range(10)), channels: int = 32, hidden: int = 128,
                 dropout: float = 0.25, pixel_max: float = 1.0):
        image_shape = tuple(int(s) for s in image_shape)
        classes = list(np.asarray(classes).tolist())
        super().__init__(image_shape=list(image_shape), classes=classes, channels=int(channels), hidden=int(hidden),
                         dropout=float(dropout), pixel_max=float(pixel_max))
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes must list at least two distinct labels; got {classes}")
        self.image_shape = image_shape
        self.classes_ = np.asarray(classes)
        self.pixel_max = float(pixel_max)
        h, w = image_shape
        stages = 1 if min(h, w) < 16 else 2
        layers, c_in = [nn.Unflatten(1, (1, h))], 1
        for stage in range(stages):
            c_out = channels * 2**stage
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            if stages == 1:
                layers += [nn.Conv2d(c_out, 2 * c_out, 3, padding=1), nn.ReLU()]
                c_out *= 2
            layers.append(nn.MaxPool2d(2))
            c_in = c_out
        side = (h // 2**stages) * (w // 2**stages)
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * side, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, len(classes)))

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """Class logits for images scaled to [0, 1]."""
        return self.head(self.body(x01))

    def _images(self, images) -> np.ndarray:
        return as_images(images, image_shape=self.image_shape) / self.pixel_max

    def predict_proba(self, images) -> np.ndarray:
        """Softmax class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        return self._batched(lambda x: F.softmax(self(x), dim=1), self._images(images))

    def predict(self, images) -> np.ndarray:
        """Most probable label of each image."""
        return self.classes_[np.argmax(self._batched(self, self._images(images)), axis=1)]

    def features(self, images):
        """Penultimate-layer activations ``(n, hidden)`` (a feature assembly for an assembly in)."""
        feats = self._batched(self.body, self._images(images))
        return latent_assembly(feats, images, "feature") if isinstance(images, xr.DataArray) else feats

    def score(self, images, labels):
        """:class:`~neurobridge.evaluate.readout.ReadoutResult` of the predictions against ``labels``."""
        from neurobridge.evaluate.readout import ReadoutResult

        labels = as_labels(labels, n=len(self._images(images)))
        return ReadoutResult.from_predictions(labels, self.predict(images), classes=self.classes_)


CLASSIFIER_DEFAULTS = {
    "small": {"channels": 16, "hidden": 64, "dropout": 0.25, "epochs": 25, "min_steps": 300, "batch_size": 128, "lr": 3e-3, "weight_decay": 0.0, "n_train": None},
    "large": {"channels": 16, "hidden": 128, "dropout": 0.25, "epochs": 3, "min_steps": 300, "batch_size": 128, "lr": 2e-3, "weight_decay": 0.0, "n_train": None},
}


def resolve_classifier_config(images: np.ndarray, config: dict | None) -> dict:
    """Defaults for the image size ("small" up to 16x16 pixels, else "large") updated by ``config``."""
    size = "small" if images.shape[1] * images.shape[2] <= 256 else "large"
    return merge_config(CLASSIFIER_DEFAULTS[size], config, "classifier")


def train_classifier(images, labels, config: dict | None = None, *, seed: int = 0, device="auto", progress: bool = False,
                     classes=None) -> ImageClassifier:
    """Train an :class:`ImageClassifier` on labelled images (the first ``n_train`` when set); see ``CLASSIFIER_DEFAULTS``.

    It runs ``epochs`` passes, or more when needed to reach ``min_steps`` minibatch steps (few labelled images).

    ``classes`` fixes the label set (default: the sorted labels present), e.g. when few labelled images miss a class.
    """
    array = as_images(images)
    labels = as_labels(labels, n=len(array))
    cfg = resolve_classifier_config(array, config)
    array, labels = first_rows(array, cfg["n_train"]), first_rows(labels, cfg["n_train"])
    if classes is None:
        classes = class_set(labels)
    dev = resolve_device(device)
    scale = pixel_max(array)
    start = time.perf_counter()
    with seeded(seed, dev):
        model = ImageClassifier(image_shape=array.shape[1:], classes=classes, channels=cfg["channels"], hidden=cfg["hidden"],
                                dropout=cfg["dropout"], pixel_max=scale).to(dev)
        x = torch.as_tensor(array / scale, dtype=torch.float32, device=dev)
        y = torch.as_tensor(model.codes(labels), device=dev)
        epochs = max(int(cfg["epochs"]), math.ceil(cfg["min_steps"] / math.ceil(len(array) / cfg["batch_size"])))
        history = fit_minibatch(model, lambda m, xb, yb: F.cross_entropy(m(xb), yb), [x, y], epochs=epochs,
                                batch_size=cfg["batch_size"], lr=cfg["lr"], weight_decay=cfg["weight_decay"], seed=seed,
                                progress=progress, desc="classifier")
    model.training_info = {"seed": int(seed), "seconds": time.perf_counter() - start, "loss": history[-1], "n_train": len(array), "train_config": cfg}
    return model
