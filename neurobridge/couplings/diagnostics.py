"""Diagnostics of a coupling: label agreement of its pairs, entropy of its rows, marginal errors."""
from __future__ import annotations

import numpy as np
import torch

from .errors import CouplingError

__all__ = ["match_accuracy", "plan_match_accuracy", "row_entropy", "marginal_error"]


def _labels(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise CouplingError(f"{name} must be a non-empty 1-D array (one label per point); got shape {arr.shape}")
    return arr


def _plan(plan) -> np.ndarray:
    if isinstance(plan, torch.Tensor):
        plan = plan.detach().to("cpu", torch.float64).numpy()
    P = np.asarray(plan, dtype=np.float64)
    if P.ndim != 2 or P.size == 0:
        raise CouplingError(f"plan must be a non-empty 2-D array; got shape {P.shape}")
    return P


def match_accuracy(source_index, target_index, source_labels, target_labels) -> float:
    """Share of sampled pairs ``(i, j)`` with ``source_labels[i] == target_labels[j]``."""
    si = np.asarray(source_index, dtype=np.int64)
    ti = np.asarray(target_index, dtype=np.int64)
    if si.shape != ti.shape or si.ndim != 1 or si.size == 0:
        raise CouplingError(f"source_index and target_index must be non-empty 1-D of equal length; got {si.shape} and {ti.shape}")
    ls, lt = _labels(source_labels, "source_labels"), _labels(target_labels, "target_labels")
    if si.max() >= ls.size or ti.max() >= lt.size:
        raise CouplingError(f"pair positions exceed the label arrays ({ls.size} source, {lt.size} target labels)")
    return float(np.mean(ls[si] == lt[ti]))


def plan_match_accuracy(plan, source_labels, target_labels) -> float:
    """Expected label agreement under the plan: ``sum_ij P_ij [l_i = l_j] / sum_ij P_ij``."""
    P = _plan(plan)
    ls, lt = _labels(source_labels, "source_labels"), _labels(target_labels, "target_labels")
    if P.shape != (ls.size, lt.size):
        raise CouplingError(f"plan has shape {P.shape} but there are {ls.size} source and {lt.size} target labels")
    classes = np.union1d(ls, lt)
    S = np.zeros((P.shape[0], classes.size))
    np.add.at(S.T, np.searchsorted(classes, lt), P.T)
    return float(S[np.arange(P.shape[0]), np.searchsorted(classes, ls)].sum() / P.sum())


def row_entropy(plan, *, normalise: bool = True) -> np.ndarray:
    """Entropy ``-sum_j p_ij log p_ij`` of each row ``p_i = P[i] / sum_j P[i, j]`` (``0`` for a one-hot row);
    divided by ``log m`` (so in ``[0, 1]``) when ``normalise``. Rows without mass give NaN."""
    P = _plan(plan)
    mass = P.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = P / mass
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(1)
    h[mass[:, 0] <= 0] = np.nan
    return h / np.log(P.shape[1]) if normalise and P.shape[1] > 1 else h


def marginal_error(plan, a=None, b=None) -> tuple[float, float]:
    """L1 marginal errors ``(|P 1 - a|_1, |P^T 1 - b|_1)``; ``a``, ``b`` default to uniform."""
    P = _plan(plan)
    n, m = P.shape
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64)
    if a.shape != (n,) or b.shape != (m,):
        raise CouplingError(f"a and b must have shapes ({n},) and ({m},); got {a.shape} and {b.shape}")
    return float(np.abs(P.sum(1) - a).sum()), float(np.abs(P.sum(0) - b).sum())
