"""Alignment diagnostics on paired test stimuli: how close transported source points ``X`` are to the true target
points ``Y`` of the same stimuli.

- :func:`linear_cka`: linear centred kernel alignment (Kornblith et al. 2019, ICML, "Similarity of neural network
  representations revisited"); invariant to orthogonal transforms and isotropic scaling of either space.
- :func:`rsa`: representational similarity analysis (Kriegeskorte, Mur & Bandettini 2008, Front. Syst. Neurosci.):
  correlation of the upper triangles of the two correlation-distance RDMs.
- :func:`identification_accuracy`: top-k identification, is the true partner among the k nearest targets.

Inputs are two assemblies (aligned on ``stimulus_id`` first) or two arrays with the same number of rows, row ``i``
of one paired with row ``i`` of the other. The two spaces may differ in dimension except for identification, which
compares points in one space.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr, spearmanr

from neurobridge._validation import check_int, check_points

__all__ = ["linear_cka", "rsa", "identification_accuracy", "paired"]


def _matrix(data, name):
    return check_points(data, name, min_points=2)


def paired(x, y, names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """Return the two spaces as float arrays with row ``i`` of each describing the same stimulus.

    Two assemblies are aligned on ``stimulus_id`` (inner join); arrays must already have equal row counts.
    """
    if isinstance(x, xr.DataArray) and isinstance(y, xr.DataArray):
        from neurobridge.assemblies import align, validate

        x, y = align(validate(x, name=names[0]), validate(y, name=names[1]), names=names)
    a, b = _matrix(x, names[0]), _matrix(y, names[1])
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} has {a.shape[0]} rows and {names[1]} has {b.shape[0]}; paired diagnostics need row i of each "
            "to be the same stimulus (pass two assemblies to align them on stimulus_id)"
        )
    return a, b


def linear_cka(x, y) -> float:
    """Linear CKA between paired representations.

    With column-centred ``X (n, p)`` and ``Y (n, q)``:
    ``CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``, in [0, 1]; 1 when ``Y = s X Q`` for orthogonal ``Q`` and
    ``s != 0`` (Kornblith et al. 2019, eq. for linear HSIC). Computed in feature space (``O(n (p + q)^2)``) or, when
    ``n`` is smaller than the dimensions, through the ``n x n`` Gram matrices.
    """
    a, b = paired(x, y)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    if a.shape[0] < max(a.shape[1], b.shape[1]):
        ka, kb = a @ a.T, b @ b.T
        cross, na, nb = np.sum(ka * kb), np.linalg.norm(ka), np.linalg.norm(kb)
    else:
        cross = np.linalg.norm(b.T @ a) ** 2
        na, nb = np.linalg.norm(a.T @ a), np.linalg.norm(b.T @ b)
    if na == 0 or nb == 0:
        raise ValueError("linear_cka: one representation is constant across stimuli; CKA is undefined")
    return float(cross / (na * nb))


def rdm(x) -> np.ndarray:
    """Condensed correlation-distance RDM, ``1 - pearson(x_i, x_j)`` for ``i < j`` (Kriegeskorte et al. 2008)."""
    a = _matrix(x, "x")
    if a.shape[1] < 2:
        raise ValueError("rdm: correlation distance needs at least 2 features per stimulus")
    return pdist(a, metric="correlation")


def rsa(x, y, *, method: str = "spearman") -> float:
    """Correlation (``"spearman"`` or ``"pearson"``) between the upper triangles of the two correlation-distance RDMs."""
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson'; got {method!r}")
    a, b = paired(x, y)
    if a.shape[0] < 3:
        raise ValueError(f"rsa needs at least 3 paired stimuli to correlate RDMs; got {a.shape[0]}")
    da, db = rdm(a), rdm(b)
    if not (np.isfinite(da).all() and np.isfinite(db).all()):
        raise ValueError("rsa: some stimulus has a constant response pattern, so its correlation distance is undefined")
    stat = spearmanr(da, db) if method == "spearman" else pearsonr(da, db)
    return float(stat[0])


def identification_accuracy(
    predicted,
    target,
    *,
    top_k: Sequence[int] = (1, 5),
    metric: str = "cosine",
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Fraction of stimuli whose true target is among the ``k`` nearest targets to its predicted (transported) point.

    Rank of stimulus ``i`` = number of targets ``j`` with ``d(x_i, y_j) < d(x_i, y_i)`` (ties count in its favour);
    top-k accuracy = mean over ``i`` of ``[rank_i < k]``; chance is ``k / n``. Distances are cosine or Euclidean,
    computed in row chunks so memory stays ``O(chunk_size * n)``. Returns ``{"top1": ..., "top5": ...}``.
    """
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean'; got {metric!r}")
    if not isinstance(top_k, (list, tuple, np.ndarray)):
        top_k = (top_k,)
    ks = [check_int(k, "top_k", low=1) for k in top_k]
    if not ks:
        raise ValueError(f"top_k must hold at least one positive integer; got {top_k!r}")
    chunk_size = check_int(chunk_size, "chunk_size", low=1)
    a, b = paired(predicted, target, names=("predicted", "target"))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"predicted has {a.shape[1]} features and target {b.shape[1]}; identification compares points in the target space")
    if metric == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    b_sq = (b**2).sum(axis=1)
    ranks = np.empty(a.shape[0], dtype=np.int64)
    for start in range(0, a.shape[0], chunk_size):
        block = a[start:start + chunk_size]
        if metric == "cosine":
            dist = -(block @ b.T)
        else:
            dist = b_sq[None, :] - 2 * block @ b.T
        true = dist[np.arange(len(block)), np.arange(start, start + len(block))]
        ranks[start:start + len(block)] = (dist < true[:, None]).sum(axis=1)
    return {f"top{k}": float(np.mean(ranks < k)) for k in ks}
