"""neurobridge: align representation spaces of models and brains through a few labelled bridges.

Submodules load on first use, so ``import neurobridge`` is cheap and never touches CUDA.
"""
from __future__ import annotations

from neurobridge._lazy import lazy_package

__version__ = "0.1.0"

_NAMES = {"Aligner": "align", "Bridges": "bridges", "load": "datasets", "ConditionalFlow": "flows"}
_SUBMODULES = ("assemblies", "datasets", "activations", "bridges", "couplings", "flows", "evaluate", "baselines", "models",
               "experiments", "align", "benchmarks")

__getattr__, __dir__, __all__ = lazy_package("neurobridge", _NAMES, _SUBMODULES, module_globals=globals())
