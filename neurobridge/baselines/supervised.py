"""End-to-end supervised recognition from source inputs, trained on the labelled rows only.

- ``kind="logistic"``: multinomial logistic regression on standardised features (the
  :class:`~neurobridge.evaluate.readout.LinearProbe`, here fitted on the *source* side);
- ``kind="cnn"``: the small CNN of :class:`neurobridge.models.ImageClassifier`, trained from raw images.

Both see exactly the labelled rows that the alignment methods get as bridges, so the comparison is at one labelled
fraction on one split.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.baselines._inputs import full_labels, labelled_indices
from neurobridge.evaluate.readout import LinearProbe, ReadoutResult, features_and_labels

__all__ = ["SupervisedClassifier"]


class SupervisedClassifier:
    """Supervised classifier from source inputs at a given labelled fraction; ``kind`` is ``"logistic"`` or ``"cnn"``.

    ``config`` (CNN only) overrides :data:`neurobridge.models.CLASSIFIER_DEFAULTS`; ``seed`` and ``device`` as for
    the reference models.
    """

    def __init__(self, kind: str = "logistic", *, C: float = 1.0, config: dict | None = None, seed: int = 0,
                 device="auto", progress: bool = False, label: str = "label"):
        if kind not in ("logistic", "cnn"):
            raise ValueError(f"kind must be 'logistic' or 'cnn'; got {kind!r}")
        self.kind = kind
        self.C = C
        self.config = config
        self.seed = seed
        self.device = device
        self.progress = progress
        self.label = label

    def fit(self, x, labels=None, labelled=None) -> SupervisedClassifier:
        """Train on the rows ``labelled`` (indices or mask; ``None`` = all) of ``x`` with their ``labels``.

        ``labels`` has one entry per row of ``x`` (unlabelled rows are ignored) or comes from ``x``'s label coord.
        ``x`` is a feature matrix / assembly (logistic) or images ``(n, H, W)`` / pixel assembly (cnn).
        """
        n = _n_rows(x)
        labels = full_labels(x, labels, n, self.label)
        self.labelled_ = labelled_indices(labelled, n)
        if self.kind == "logistic":
            values, _ = features_and_labels(_flat(x), None, label=None, name="x", need_labels=False)
            self.model_ = LinearProbe(C=self.C, label=self.label).fit(values[self.labelled_], labels[self.labelled_])
        else:
            from neurobridge._validation import check_images
            from neurobridge.models.classifier import train_classifier

            images = check_images(x, "x")
            self.model_ = train_classifier(images[self.labelled_], labels[self.labelled_], self.config, seed=self.seed,
                                           device=self.device, progress=self.progress)
        self.classes_ = np.asarray(self.model_.classes_)
        return self

    def predict(self, x) -> np.ndarray:
        """Predicted label of each row / image of ``x``."""
        if not hasattr(self, "model_"):
            raise RuntimeError("SupervisedClassifier is not fitted; call fit(x, labels, labelled) first")
        return self.model_.predict(_flat(x) if self.kind == "logistic" else x)

    def score(self, x, labels=None) -> ReadoutResult:
        """:class:`ReadoutResult` on ``x`` against ``labels`` (or ``x``'s label coord)."""
        labels = full_labels(x, labels, _n_rows(x), self.label)
        predictions = self.predict(x)
        classes = list(self.classes_) + [c for c in pd.unique(labels) if c not in set(self.classes_.tolist())]
        return ReadoutResult.from_predictions(labels, predictions, classes=np.asarray(classes))


def _n_rows(x) -> int:
    if isinstance(x, xr.DataArray):
        return x.sizes.get("presentation", x.shape[0])
    shape = np.shape(x)
    if not shape:
        raise ValueError("x must be an array with one row per stimulus, or an assembly")
    return shape[0]


def _flat(x):
    if isinstance(x, xr.DataArray):
        return x
    values = np.asarray(x)
    return values.reshape(len(values), -1) if values.ndim > 2 else values
