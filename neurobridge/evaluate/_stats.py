"""Column-wise statistics used by the Brain-Score-exact metrics, vectorised over neuroids.

Each function reproduces what Brain-Score (Schrimpf et al. 2018, 2020) computes one neuroid at a time with
:func:`scipy.stats.pearsonr`, :meth:`xarray.DataArray.median` and ``std / sqrt(n)``, but on whole matrices.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["pearson_columns", "spearman_brown", "nan_median", "mean_and_sem"]


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Pearson correlation of each column of ``a`` with the same column of ``b``.

    .. math:: r_j = \frac{\sum_i (a_{ij} - \bar a_j)(b_{ij} - \bar b_j)}
                         {\lVert a_{:j} - \bar a_j \rVert \, \lVert b_{:j} - \bar b_j \rVert}

    computed, as :func:`scipy.stats.pearsonr` does, as the dot product of the two unit-normalised centred columns
    and clipped to ``[-1, 1]``. A column that is exactly constant in either input gives ``NaN`` (scipy returns NaN
    with a ``ConstantInputWarning`` there; Brain-Score keeps that NaN and skips it when it takes the median).
    Needs at least two rows; with exactly two, r is +-1 and is rounded to it, as scipy does.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"pearson_columns: a and b must be 2-D arrays of one shape; got {a.shape} and {b.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"pearson_columns: a Pearson r needs at least 2 rows (stimuli); got {a.shape[0]}")
    constant = np.all(a == a[:1], axis=0) | np.all(b == b[:1], axis=0)
    am = a - a.mean(axis=0, keepdims=True)
    bm = b - b.mean(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        an = am / np.linalg.norm(am, axis=0, keepdims=True)
        bn = bm / np.linalg.norm(bm, axis=0, keepdims=True)
        r = np.einsum("ij,ij->j", an, bn)
    r = np.clip(r, -1.0, 1.0)
    if a.shape[0] == 2:
        r = np.round(r)
    r[constant] = np.nan
    return r


def spearman_brown(r, n: float = 2.0):
    r"""Spearman-Brown prophecy for a test ``n`` times as long: :math:`\frac{n r}{1 + (n - 1) r}`.

    With ``n = 2`` it turns a split-half correlation into the reliability of the full set of repetitions.
    """
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n * r / (1.0 + (n - 1.0) * r)


def nan_median(values: np.ndarray, axis: int) -> np.ndarray:
    """Median over ``axis`` skipping NaN (xarray's default ``skipna``); all-NaN slices give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=axis)


def mean_and_sem(per_split: np.ndarray) -> tuple[float, float]:
    r"""Mean over splits and Brain-Score's standard error of that mean.

    Brain-Score takes ``values.mean('split')`` and ``values.std('split') / sqrt(len(split))``: NaN splits are skipped
    in both, the standard deviation uses ``ddof = 0``, and the divisor counts every split, NaN or not:

    .. math:: \bar s = \operatorname{nanmean}_k s_k, \qquad
              \mathrm{SEM} = \frac{\operatorname{nanstd}_k(s_k;\ \mathrm{ddof}=0)}{\sqrt{K}}
    """
    per_split = np.asarray(per_split, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = float(np.nanmean(per_split))
        sem = float(np.nanstd(per_split, ddof=0) / math.sqrt(len(per_split)))
    return mean, sem
