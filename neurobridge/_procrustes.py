r"""Orthogonal Procrustes, the one implementation behind the Procrustes regression map and the map coupling.

Both sides are normalised (``scaling``), zero-padded to ``d = max(d_x, d_y)`` features, and the orthogonal
``R = argmin_{R^T R = I} ||X R - Y||_F`` is ``U V^T`` with ``U S V^T = svd(X^T Y)`` (Schonemann 1966). Normalisations:

- ``"isotropic"``: centre, divide by the RMS row norm (keeps an orthogonal relation exact);
- ``"feature"``: centre, divide each feature by its standard deviation (``ddof=0``; constant features by 1);
- ``"zscore"``: centre, divide each feature by its unbiased standard deviation, floored at ``1e-12``;
- ``None``: centre only.

NumPy arrays are computed with NumPy, torch tensors with torch (on their device), so each caller keeps its numbers.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["SCALINGS", "scaling_stats", "pad", "rotation"]

SCALINGS = ("isotropic", "feature", "zscore", None)


def scaling_stats(a, scaling):
    """``(mean, scale)`` over the rows of ``a`` such that ``(a - mean) / scale`` is normalised by ``scaling``."""
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}; got {scaling!r}")
    if isinstance(a, torch.Tensor):
        mean = a.mean(0)
        if scaling == "zscore":
            return mean, a.std(0).clamp_min(1e-12)
        centred = a - mean
        if scaling == "isotropic":
            scale = torch.sqrt((centred**2).sum(1).mean())
        elif scaling == "feature":
            scale = centred.std(0, unbiased=False)
        else:
            scale = torch.ones(a.shape[1], dtype=a.dtype, device=a.device)
        return mean, torch.where(scale > 0, scale, torch.ones_like(scale))
    mean = a.mean(axis=0)
    if scaling == "zscore":
        return mean, np.maximum(a.std(axis=0, ddof=1), 1e-12)
    centred = a - mean
    if scaling == "isotropic":
        scale = np.sqrt((centred**2).sum(axis=1).mean())
    elif scaling == "feature":
        scale = centred.std(axis=0)
    else:
        scale = np.ones(a.shape[1])
    return mean, np.where(np.asarray(scale) > 0, scale, 1.0)


def pad(a, d: int):
    """``a`` with zero columns appended up to ``d`` features."""
    if a.shape[1] == d:
        return a
    if isinstance(a, torch.Tensor):
        return torch.nn.functional.pad(a, (0, d - a.shape[1]))
    return np.hstack([a, np.zeros((a.shape[0], d - a.shape[1]))])


def rotation(x, y):
    """The orthogonal ``R`` (``d x d``) minimising ``||x R - y||_F`` for normalised, equally padded ``x`` and ``y``."""
    if isinstance(x, torch.Tensor):
        U, _, Vh = torch.linalg.svd(x.T @ y)
        return U @ Vh
    u, _, vt = np.linalg.svd(x.T @ y)
    return u @ vt
