"""Data sets as Brain-Score-style assemblies: ``load(name, **options)``.

=======================  =====================================================================
name                     what
=======================  =====================================================================
majajhong2015.public     MajajHong2015 V4/IT, HvM variations 0+3 (options: region, animal, time_bin, average)
majajhong2015.private    MajajHong2015, variation 6
majajhong2015.full       MajajHong2015, all variations
majajhong2015.slice25    the real 25-image slice (Brain-Score test fixture)
hvm                      HvM stimulus images (options: variant, stimulus_ids, size, mode)
mnist                    MNIST pixels with ``label`` (options: split, n, seed)
digits                   scikit-learn's 8x8 digits with ``label`` (no files; the embedded default)
features                 your own .nc/.npy/.npz features (options: path, labels, label_coord)
=======================  =====================================================================
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import xarray as xr

from neurobridge.datasets.digits import load_digits
from neurobridge.datasets.download import resolve
from neurobridge.datasets.features import load_features
from neurobridge.datasets.hvm import load_hvm
from neurobridge.datasets.majajhong2015 import load_majajhong2015
from neurobridge.datasets.manifests import DataError, DataWarning, list_manifests
from neurobridge.datasets.mnist import load_mnist

__all__ = ["load", "register", "available", "resolve", "list_manifests", "DataError", "DataWarning"]

_REGISTRY: dict[str, Callable[..., xr.DataArray]] = {
    "majajhong2015.public": partial(load_majajhong2015, "public"),
    "majajhong2015.private": partial(load_majajhong2015, "private"),
    "majajhong2015.full": partial(load_majajhong2015, "full"),
    "majajhong2015.slice25": partial(load_majajhong2015, "slice25"),
    "hvm": load_hvm,
    "mnist": load_mnist,
    "digits": load_digits,
    "features": load_features,
}


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_REGISTRY)


def register(name: str, loader: Callable[..., xr.DataArray]) -> None:
    """Add a loader under ``name`` (it must return an assembly)."""
    if not callable(loader):
        raise TypeError(f"register: loader for {name!r} must be callable")
    _REGISTRY[name] = loader


def load(name: str, **options) -> xr.DataArray:
    """Load the data set ``name`` (see the table above) as an assembly."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown data set {name!r}; available: {available()}")
    return _REGISTRY[name](**options)
