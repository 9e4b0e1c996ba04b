"""Checks shared by the baselines: labelled indices, labels, feature matrices."""
from __future__ import annotations

import numpy as np
import xarray as xr


def labelled_indices(labelled, n: int, *, name: str = "labelled") -> np.ndarray:
    """Sorted unique row indices from ``labelled``: integer indices into ``n`` rows, a boolean mask of length ``n``,
    or ``None`` (all rows). Every method at one labelled fraction gets the same array, so the splits match."""
    if labelled is None:
        return np.arange(n)
    array = np.asarray(labelled)
    if array.dtype == bool:
        if array.shape != (n,):
            raise ValueError(f"{name} is a boolean mask of shape {array.shape}; it needs one entry per row ({n})")
        array = np.flatnonzero(array)
    elif not np.issubdtype(array.dtype, np.integer) or array.ndim != 1:
        raise ValueError(f"{name} must be 1-D integer row indices or a boolean mask; got dtype {array.dtype}, shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: a baseline needs at least one labelled row")
    if array.min() < -n or array.max() >= n:
        raise ValueError(f"{name} holds indices outside [0, {n}); they index the rows of the training data")
    return np.unique(np.where(array < 0, array + n, array))


def full_labels(data, labels, n: int, label: str, name: str = "labels") -> np.ndarray:
    """Labels for all ``n`` rows (only the labelled ones are used) from ``labels`` or the assembly coord ``label``."""
    if labels is None:
        if isinstance(data, xr.DataArray) and label in data.coords:
            return np.asarray(data.coords[label].values)
        raise ValueError(f"{name} is missing: pass one label per row of the data (entries of unlabelled rows are ignored) or an assembly with a {label!r} coord")
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} has shape {labels.shape}; pass one label per row of the data ({n},); entries of unlabelled rows are ignored")
    return labels
