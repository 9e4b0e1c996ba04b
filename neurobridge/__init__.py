"""neurobridge: align representation spaces of models and brains through a few labelled bridges.

Submodules load on first use, so ``import neurobridge`` is cheap and never touches CUDA.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Aligner": ("neurobridge.align", "Aligner"),
    "Bridges": ("neurobridge.bridges", "Bridges"),
    "load": ("neurobridge.datasets", "load"),
}
_SUBMODULES = {"assemblies", "datasets", "activations", "bridges", "couplings", "flows", "evaluate", "baselines", "models", "experiments", "align"}

__all__ = sorted(list(_LAZY) + list(_SUBMODULES))


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"neurobridge.{name}")
    raise AttributeError(f"module 'neurobridge' has no attribute {name!r}")
