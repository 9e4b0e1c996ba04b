"""Evaluation: readout, Brain-Score-exact neural predictivity, generation metrics and alignment diagnostics.

Names load on first use so that importing the package stays cheap.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "internal_consistency": "predictivity",
    "neural_predictivity": "predictivity",
    "neural_predictivity_by_region": "predictivity",
    "PredictivityResult": "predictivity",
    "CeilingResult": "predictivity",
    "linear_probe_readout": "readout",
    "LinearProbe": "readout",
    "PrototypeReadout": "readout",
    "prototype_readout": "readout",
    "ReadoutResult": "readout",
    "generation_metrics": "generation",
    "frechet_distance": "generation",
    "linear_cka": "diagnostics",
    "rsa": "diagnostics",
    "identification_accuracy": "diagnostics",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f"neurobridge.evaluate.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'neurobridge.evaluate' has no attribute {name!r}")
