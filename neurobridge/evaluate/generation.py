"""Generation metrics: judge images decoded from transported points against the labels they were meant to show.

Three numbers, all computed with an independent classifier trained on real images
(:class:`neurobridge.models.ImageClassifier`, or anything with ``predict(images)`` and ``features(images)``):

- **accuracy**: fraction of generated images the classifier reads as the intended label (the "classifier score"
  used e.g. by Wu & Goodman 2018 for cross-modal MNIST generation);
- **per-class MSE**: ``mean_pixels (mean generated image of class c - mean real image of class c)^2``, in the units
  of the images, then averaged over classes;
- **Frechet distance** between Gaussians fitted to the classifier's penultimate-layer features of generated and
  real images (Heusel et al. 2017, "GANs trained by a two time-scale update rule", the FID, with this classifier in
  place of Inception).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import linalg

from neurobridge._validation import check_images, check_labels, check_points

__all__ = ["GenerationResult", "generation_metrics", "frechet_distance", "gaussian_frechet_distance"]


def gaussian_frechet_distance(mu_a, cov_a, mu_b, cov_b, *, eps: float = 1e-6) -> float:
    """Frechet (2-Wasserstein squared) distance between ``N(mu_a, cov_a)`` and ``N(mu_b, cov_b)``:

        d^2 = ||mu_a - mu_b||^2 + Tr(cov_a + cov_b - 2 (cov_a cov_b)^{1/2})      (Dowson & Landau 1982).

    ``(cov_a cov_b)^{1/2}`` is taken with ``scipy.linalg.sqrtm``. When the product is singular (fewer samples than
    features) ``sqrtm`` can return non-finite values; then ``eps * I`` is added to both covariances, as in the
    reference FID code. A tiny imaginary part from round-off is dropped; a large one is an error.
    """
    mu_a, mu_b = np.atleast_1d(np.asarray(mu_a, dtype=np.float64)), np.atleast_1d(np.asarray(mu_b, dtype=np.float64))
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, dtype=np.float64)), np.atleast_2d(np.asarray(cov_b, dtype=np.float64))
    d = mu_a.shape[0]
    for name, value, shape in (("mu_b", mu_b, (d,)), ("cov_a", cov_a, (d, d)), ("cov_b", cov_b, (d, d))):
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}; expected {shape} to match mu_a {mu_a.shape}")
    diff = mu_a - mu_b
    covmean = _sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(d)
        covmean = _sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(covmean):
        scale = max(np.abs(covmean).max(), 1.0)
        if np.abs(covmean.imag).max() > 1e-6 * scale:
            raise FloatingPointError(
                f"the square root of cov_a @ cov_b has an imaginary part of {np.abs(covmean.imag).max():.3g}; "
                "the covariances are not positive semi-definite or too ill-conditioned"
            )
        covmean = covmean.real
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def _sqrtm(matrix):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = linalg.sqrtm(matrix)
    return result[0] if isinstance(result, tuple) else result


def frechet_distance(feats_a, feats_b, *, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted (sample mean, unbiased covariance) to two feature sets ``(n, d)``.

    Caveat: the estimate is biased upward for small ``n`` (Binkowski et al. 2018; Chong & Forsyth 2020): two
    samples of the same distribution give FD > 0, shrinking roughly like ``1/n``. Compare FDs only at equal sample
    sizes, and prefer ``n`` well above the feature dimension ``d``.
    """
    a = _features(feats_a, "feats_a")
    b = _features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a has {a.shape[1]} features and feats_b {b.shape[1]}; they must come from the same feature space")
    return gaussian_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False), eps=eps)


def _features(feats, name) -> np.ndarray:
    return check_points(feats, name, min_points=2)


@dataclass(frozen=True)
class GenerationResult:
    """Scores of generated images. ``per_class_mse`` is an ``xr.DataArray`` over dim ``class``; ``mse`` its mean.

    ``frechet_distance`` is comparable only between results with the same ``n_generated`` and ``n_real``.
    """

    accuracy: float
    mse: float
    frechet_distance: float
    per_class_mse: xr.DataArray = field(repr=False)
    per_class_accuracy: xr.DataArray = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    n_generated: int = 0
    n_real: int = 0

    def to_dict(self) -> dict:
        """Scalar summary for a results table."""
        return {"accuracy": self.accuracy, "mse": self.mse, "frechet_distance": self.frechet_distance,
                "n_generated": self.n_generated, "n_real": self.n_real}


def _images(images, name):
    return check_images(images, name)


def _labels(labels, images, n, name):
    if labels is None:
        if isinstance(images, xr.DataArray) and "label" in images.coords:
            return np.asarray(images.coords["label"].values)
        raise ValueError(f"{name} is missing: pass one label per image (or an assembly with a 'label' coord)")
    return check_labels(labels, n, name=name)


def generation_metrics(images, labels, classifier, real_images, real_labels=None, *, frechet: bool = True) -> GenerationResult:
    """Score ``images`` (generated, meant to show ``labels``) against ``real_images`` with ``classifier``.

    ``images`` / ``real_images``: ``(n, H, W)``, ``(n, H*W)`` or pixel assemblies, in the same units (e.g. both
    0..16 for digits). ``classifier`` needs ``predict(images) -> labels`` and ``features(images) -> (n, d)``.
    Per-class MSE is computed for the classes present in both sets. ``frechet=False`` skips the FD (NaN).
    """
    if not (hasattr(classifier, "predict") and hasattr(classifier, "features")):
        raise TypeError(f"classifier must have predict(images) and features(images); got {type(classifier).__name__}")
    gen = _images(images, "images")
    real = _images(real_images, "real_images")
    if gen.shape[1:] != real.shape[1:]:
        raise ValueError(f"images are {gen.shape[1:]} and real_images {real.shape[1:]}; they must have the same size")
    y_gen = _labels(labels, images, len(gen), "labels")
    y_real = _labels(real_labels, real_images, len(real), "real_labels")
    predictions = np.asarray(classifier.predict(gen))
    correct = predictions == y_gen
    classes = [c for c in pd.unique(y_gen) if np.any(y_real == c)]
    try:
        classes = sorted(classes)
    except TypeError:
        pass
    if not classes:
        raise ValueError("labels and real_labels share no class; per-class MSE needs real images of the generated classes")
    mse = [float(np.mean((gen[y_gen == c].mean(0) - real[y_real == c].mean(0)) ** 2)) for c in classes]
    acc = [float(correct[y_gen == c].mean()) for c in classes]
    fd = float("nan")
    if frechet:
        feats_gen = _features(classifier.features(gen), "classifier.features(images)")
        feats_real = _features(classifier.features(real), "classifier.features(real_images)")
        fd = frechet_distance(feats_gen, feats_real)
    return GenerationResult(
        accuracy=float(correct.mean()),
        mse=float(np.mean(mse)),
        frechet_distance=fd,
        per_class_mse=xr.DataArray(mse, dims=("class",), coords={"class": classes}, name="mse"),
        per_class_accuracy=xr.DataArray(acc, dims=("class",), coords={"class": classes}, name="accuracy"),
        predictions=predictions,
        n_generated=len(gen),
        n_real=len(real),
    )
