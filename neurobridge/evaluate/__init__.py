"""Evaluation: readout, Brain-Score-exact neural predictivity, generation metrics and alignment diagnostics.

Names load on first use so that importing the package stays cheap.
"""
from __future__ import annotations

from neurobridge._lazy import lazy_names

_NAMES = {
    "internal_consistency": "ceiling",
    "neural_predictivity": "predictivity",
    "neural_predictivity_by_region": "predictivity",
    "PredictivityResult": "predictivity",
    "CeilingResult": "ceiling",
    "linear_probe_readout": "readout",
    "LinearProbe": "readout",
    "PrototypeReadout": "readout",
    "prototype_readout": "readout",
    "ReadoutResult": "readout",
    "generation_metrics": "generation",
    "frechet_distance": "generation",
    "linear_cka": "diagnostics",
    "rsa": "diagnostics",
    "rdm": "diagnostics",
    "identification_accuracy": "diagnostics",
    "rsa_inference": "rdms",
    "RSAResult": "rdms",
    "cka_bootstrap": "rdms",
    "plot_rdm": "rdms",
    "decoding_curve": "decoding",
    "DecodingCurve": "decoding",
    "decoding_over_time": "decoding",
    "TimeDecoding": "decoding",
    "plot_decoding_curves": "decoding",
    "dprime": "decoding",
    "inter_animal_consistency": "consistency",
}

__getattr__, __all__ = lazy_names("neurobridge.evaluate", _NAMES)
