"""Input conversion shared by the reference models: images, labels, data fingerprints, latent assemblies."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge._validation import check_images, check_labels


def as_images(images, *, name: str = "images", image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return float32 images ``(n, H, W)`` from ``(n, H, W)``, ``(n, 1, H, W)``, ``(n, H*W)`` or a pixel assembly
    (:func:`neurobridge._validation.check_images`)."""
    return check_images(images, name, image_shape=image_shape)


def as_labels(labels, n: int | None = None, *, name: str = "labels") -> np.ndarray:
    """A 1-D label array (from an array or a torch tensor) with ``n`` entries when given
    (:func:`neurobridge._validation.check_labels`)."""
    return check_labels(labels, n, name)


def label_coord(data, label: str, name: str):
    """Labels from the presentation coord ``label`` of an assembly, with an error naming ``name`` when absent."""
    if not isinstance(data, xr.DataArray) or label not in data.coords:
        raise ValueError(f"{name}: pass labels=... or an assembly with a presentation coord {label!r}")
    return np.asarray(data.coords[label].values)




def fingerprint(*arrays) -> str:
    """sha1 over the shape, dtype and bytes of each array: identifies training data in cache keys."""
    h = hashlib.sha1()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array))
        if array.dtype == object:
            array = array.astype(str)
        h.update(repr((array.shape, array.dtype.str)).encode())
        h.update(array.tobytes())
    return h.hexdigest()


def latent_assembly(values: np.ndarray, like: xr.DataArray, prefix: str) -> xr.DataArray:
    """Wrap ``values (n, d)`` as an assembly with the presentation coords of ``like`` and neuroids ``prefix_0..``."""
    from neurobridge.assemblies import make_assembly, presentation_coords

    coords = {k: like.coords[k].values for k in presentation_coords(like) if k != "stimulus_id"}
    return make_assembly(
        values,
        stimulus_id=like.coords["stimulus_id"].values,
        neuroid_id=[f"{prefix}_{j}" for j in range(values.shape[1])],
        presentation=coords,
        name=prefix,
    )


def merge_config(defaults: dict, config: dict | None, kind: str) -> dict:
    """``defaults`` updated by ``config``; an unknown key is an error listing the allowed ones."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ValueError(f"config has unknown keys {unknown} for {kind}; allowed: {sorted(defaults)}")
    return {**defaults, **config}


def first_rows(array: np.ndarray, n_train, name="n_train"):
    """The first ``n_train`` rows (all when ``None``)."""
    if n_train is None:
        return array
    if int(n_train) < 1:
        raise ValueError(f"{name} must be >= 1 or None; got {n_train}")
    return array[: int(n_train)]


def class_set(labels: np.ndarray) -> np.ndarray:
    """The distinct labels, sorted when they can be (mixed types keep their order of appearance)."""
    classes = pd.unique(np.asarray(labels))
    try:
        return np.sort(classes)
    except TypeError:
        return classes
