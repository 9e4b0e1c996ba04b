"""Readout: classify points of a target space (typically source points transported into it) with a head fitted on
that space alone.

Two readouts share one result type, :class:`ReadoutResult`:

- the **linear probe** (:class:`LinearProbe`, :func:`linear_probe_readout`): multinomial logistic regression on
  standardised features, fitted on labelled *target* data, then applied to transported source points (Alain & Bengio
  2016, "Understanding intermediate layers using linear classifier probes"). Fit it once per target space and score
  every method against it;
- the **prototype readout** (:class:`PrototypeReadout`, :func:`prototype_readout`): nearest class prototype, e.g. the
  embedding of the class prompt "a photo of a {class}" (Radford et al. 2021, CLIP zero-shot) or a class mean
  (Snell et al. 2017, prototypical networks), by cosine similarity or Euclidean distance.

Inputs are assemblies (``presentation x neuroid``, the labels in a presentation coord named by ``label``) or plain
arrays ``(n, d)`` with a separate label array.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from neurobridge._validation import check_float, check_int, check_labels, check_points

__all__ = [
    "ReadoutResult",
    "LinearProbe",
    "PrototypeReadout",
    "linear_probe_readout",
    "prototype_readout",
    "features_and_labels",
]


def features_and_labels(data, labels=None, *, label: str | None = "label", name: str = "data", need_labels: bool = True):
    """Return ``(X, y)``: a float ``(n, d)`` matrix and an ``(n,)`` label array (or ``None``) from ``data``.

    ``data`` is an assembly (labels read from its presentation coord ``label`` unless ``labels`` is given) or an
    array-like ``(n, d)``. ``need_labels`` makes missing labels an error that names ``name``.
    """
    if isinstance(data, xr.DataArray):
        from neurobridge.assemblies import PRESENTATION, validate

        data = validate(data, name=name)
        if data.ndim != 2:
            raise ValueError(f"{name} has dims {data.dims}; select one time bin first (neurobridge.assemblies.select_time_bin)")
        if labels is None and label is not None and label in data.coords:
            coord = data.coords[label]
            if coord.dims != (PRESENTATION,):
                raise ValueError(f"{name}: label coord {label!r} lies along {coord.dims}; it must lie along presentation")
            labels = coord.values
    values = check_points(data, name)
    if labels is None:
        if need_labels:
            where = f"a presentation coord {label!r}" if isinstance(data, xr.DataArray) else "a label array"
            raise ValueError(f"{name} has no labels: pass {where} (or labels=... of length {values.shape[0]})")
        return values, None
    return values, check_labels(labels, values.shape[0], name=f"labels of {name}")


@dataclass(frozen=True)
class ReadoutResult:
    """Accuracy, balanced accuracy (mean per-class recall) and the confusion matrix of one readout.

    ``confusion`` is an ``xr.DataArray`` with dims ``(true, predicted)`` and the class labels as coords; entry
    ``[a, b]`` counts points of class ``a`` read out as ``b``. ``predictions`` and ``labels`` are per point.
    """

    accuracy: float
    balanced_accuracy: float
    confusion: xr.DataArray
    predictions: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)

    @classmethod
    def from_predictions(cls, labels, predictions, classes: Sequence | None = None) -> ReadoutResult:
        """Score ``predictions`` against true ``labels``; ``classes`` fixes the confusion-matrix rows and columns."""
        labels, predictions = np.asarray(labels), np.asarray(predictions)
        if labels.shape != predictions.shape or labels.ndim != 1:
            raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} must be 1-D of the same length")
        if len(labels) == 0:
            raise ValueError("labels is empty: nothing to score")
        observed = pd.unique(np.concatenate([labels, predictions]))
        if classes is None:
            classes = np.sort(observed) if _sortable(observed) else observed
        else:
            classes = np.asarray(classes)
            known = set(classes.tolist())
            missing = [c for c in observed if c not in known]
            if missing:
                raise ValueError(f"classes lacks labels {list(missing)[:5]} that occur in labels or predictions")
        index = pd.Index(classes)
        t, p = index.get_indexer(labels), index.get_indexer(predictions)
        counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
        np.add.at(counts, (t, p), 1)
        support = counts.sum(axis=1)
        recall = np.diag(counts)[support > 0] / support[support > 0]
        confusion = xr.DataArray(counts, dims=("true", "predicted"), coords={"true": classes, "predicted": classes}, name="confusion")
        return cls(
            accuracy=float(np.mean(labels == predictions)),
            balanced_accuracy=float(recall.mean()),
            confusion=confusion,
            predictions=predictions,
            labels=labels,
        )

    def to_dict(self) -> dict:
        """Scalar summary for a results table."""
        return {"accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy, "n": int(len(self.labels))}


def _sortable(values) -> bool:
    try:
        np.sort(np.asarray(values))
        return True
    except TypeError:
        return False


class LinearProbe:
    """Multinomial logistic regression on standardised features: ``p(c | x) = softmax(W (x - mu) / s + b)_c``.

    A scikit-learn ``Pipeline(StandardScaler, LogisticRegression(C))``; ``C`` is the inverse L2 strength. Fit once on
    labelled target-space data, then :meth:`score` each method's transported points.
    """

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, label: str = "label"):
        self.C = check_float(C, "C (inverse regularisation strength)", positive=True)
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.label = label

    def fit(self, data, labels=None) -> LinearProbe:
        """Fit on ``data`` (assembly with a ``label`` coord, or array ``(n, d)`` plus ``labels``)."""
        x, y = features_and_labels(data, labels, label=self.label, name="data")
        classes = pd.unique(y)
        if len(classes) < 2:
            raise ValueError(f"labels hold a single class {classes.tolist()}; a probe needs at least two classes")
        self.pipeline_ = Pipeline([
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(C=self.C, max_iter=self.max_iter)),
        ]).fit(x, y)
        self.classes_ = self.pipeline_.classes_
        self.n_features_in_ = x.shape[1]
        return self

    def _check(self, points, name):
        if not hasattr(self, "pipeline_"):
            raise RuntimeError("LinearProbe is not fitted; call fit(target_data, labels) first")
        x, _ = features_and_labels(points, None, label=None, name=name, need_labels=False)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {x.shape[1]} features; the probe was fitted on {self.n_features_in_} (the target space)")
        return x

    def predict(self, points) -> np.ndarray:
        """Most probable class of each point."""
        x = self._check(points, "points")
        return self.pipeline_.predict(x)

    def predict_proba(self, points) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        x = self._check(points, "points")
        return self.pipeline_.predict_proba(x)

    def score(self, points, labels=None) -> ReadoutResult:
        """Read out ``points`` (labels from their ``label`` coord or ``labels``) and score against the truth."""
        _, y = features_and_labels(points, labels, label=self.label, name="points")
        return ReadoutResult.from_predictions(y, self.predict(points), classes=_union(self.classes_, y))


def _union(classes, labels):
    known = set(classes.tolist())
    extra = [c for c in pd.unique(labels) if c not in known]
    return np.concatenate([classes, np.asarray(extra)]) if extra else classes


class PrototypeReadout:
    """Nearest-prototype readout: ``c(x) = argmax_c cos(x, p_c)`` (or ``argmin_c ||x - p_c||`` with Euclidean).

    :meth:`fit` takes either one row per class (e.g. class-prompt embeddings) or labelled points, in which case
    the prototypes are the class means ``p_c = mean{x_i : y_i = c}``.
    """

    def __init__(self, *, metric: str = "cosine", label: str = "label"):
        if metric not in ("cosine", "euclidean"):
            raise ValueError(f"metric must be 'cosine' or 'euclidean'; got {metric!r}")
        self.metric = metric
        self.label = label

    def fit(self, prototypes, labels=None) -> PrototypeReadout:
        """Set the prototypes from ``prototypes`` (assembly with a ``label`` coord, or array plus ``labels``)."""
        x, y = features_and_labels(prototypes, labels, label=self.label, name="prototypes")
        codes, classes = pd.factorize(y, sort=_sortable(pd.unique(y)))
        sums = np.zeros((len(classes), x.shape[1]))
        np.add.at(sums, codes, x)
        self.prototypes_ = sums / np.bincount(codes)[:, None]
        self.classes_ = np.asarray(classes)
        return self

    def decision_function(self, points) -> np.ndarray:
        """Similarity ``(n, n_classes)``: cosine similarity, or negative Euclidean distance."""
        if not hasattr(self, "prototypes_"):
            raise RuntimeError("PrototypeReadout is not fitted; call fit(prototypes, labels) first")
        x, _ = features_and_labels(points, None, label=None, name="points", need_labels=False)
        if x.shape[1] != self.prototypes_.shape[1]:
            raise ValueError(f"points have {x.shape[1]} features; the prototypes have {self.prototypes_.shape[1]}")
        if self.metric == "cosine":
            a = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            b = self.prototypes_ / np.maximum(np.linalg.norm(self.prototypes_, axis=1, keepdims=True), 1e-12)
            return a @ b.T
        sq = (x**2).sum(1)[:, None] - 2 * x @ self.prototypes_.T + (self.prototypes_**2).sum(1)[None, :]
        return -np.sqrt(np.maximum(sq, 0.0))

    def predict(self, points) -> np.ndarray:
        """Class of the nearest prototype."""
        return self.classes_[np.argmax(self.decision_function(points), axis=1)]

    def score(self, points, labels=None) -> ReadoutResult:
        """Read out ``points`` and score against their labels."""
        _, y = features_and_labels(points, labels, label=self.label, name="points")
        return ReadoutResult.from_predictions(y, self.predict(points), classes=_union(self.classes_, y))


def linear_probe_readout(
    train_target,
    test_points,
    label: str = "label",
    *,
    train_labels=None,
    test_labels=None,
    C: float = 1.0,
    max_iter: int = 2000,
) -> ReadoutResult:
    """Fit a :class:`LinearProbe` on ``train_target`` and score it on ``test_points`` (e.g. transported source points)."""
    probe = LinearProbe(C=C, max_iter=max_iter, label=label).fit(train_target, train_labels)
    return probe.score(test_points, test_labels)


def prototype_readout(
    prototypes,
    test_points,
    label: str = "label",
    *,
    prototype_labels=None,
    test_labels=None,
    metric: str = "cosine",
) -> ReadoutResult:
    """Nearest-prototype readout of ``test_points``; ``prototypes`` holds one row per class or labelled points (class means)."""
    readout = PrototypeReadout(metric=metric, label=label).fit(prototypes, prototype_labels)
    return readout.score(test_points, test_labels)
