"""End-to-end baselines at a given labelled fraction, on the same splits as the alignment methods.

- :class:`SupervisedClassifier`: recognition trained directly on the labelled source inputs (logistic regression on
  features, or a small CNN on raw images);
- :class:`FusedVAE`: a two-branch (image, label) VAE with a shared latent, for generation and recognition;
- :class:`RegressionMap`: ridge, PLS or orthogonal Procrustes maps fitted on the bridges.

Every ``fit`` takes the labelled row indices (or the bridge pairs), so one split serves every method.
"""
from __future__ import annotations

from neurobridge._lazy import lazy_package

_NAMES = {
    "RegressionMap": "regression",
    "SupervisedClassifier": "supervised",
    "FusedVAE": "fused_vae",
    "product_of_experts": "fused_vae",
    "labelled_indices": "_inputs",
}

__getattr__, __dir__, __all__ = lazy_package("neurobridge.baselines", _NAMES, module_globals=globals())
