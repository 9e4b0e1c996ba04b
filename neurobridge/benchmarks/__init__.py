"""Benchmarks as objects: ``neurobridge.benchmarks.load(name)(activations)`` scores a model as Brain-Score does.

=====================================  =======================================================================
name                                   what
=====================================  =======================================================================
majajhong2015.IT-pls                   MajajHong2015 public (HvM variations 0 + 3, 3,200 images), IT, PLS 25
majajhong2015.V4-pls                   the same, V4
majajhong2015.IT-ridge, .V4-ridge      the same with ridge regression (alpha = 1, Brain-Score's ``ridge``)
majajhong2015.slice25.IT-pls, .V4-pls  the real 25-image slice, PLS with 20 components, unstratified splits
majajhong2015.slice25.IT-ridge, ...    the slice with ridge regression
=====================================  =======================================================================

The public benchmarks are Brain-Score's ``MajajHong2015.IT.public-pls`` / ``.V4.public-pls``: repetitions averaged,
10 splits of 90 % / 10 % stratified by ``object_name``, PLS with 25 components, internal-consistency ceiling,
score ``r^2 / ceiling``. The slice has 25 images, most objects once, so stratifying by object is impossible and
the 22 training images per split give features of rank <= 21: 20 PLS components is the most it supports (with
more, the last components fit rounding noise). Usage::

    from neurobridge import benchmarks
    benchmark = benchmarks.load("majajhong2015.slice25.IT-pls")
    print(benchmark(record_activations(cnn, benchmark.load_stimuli(size=64), ["layer3"])))
"""
from __future__ import annotations

from neurobridge.benchmarks.neural import BenchmarkResult, LayerScores, LayerSelection, PredictivityBenchmark

__all__ = ["load", "available", "PredictivityBenchmark", "BenchmarkResult", "LayerScores", "LayerSelection"]

_SETTINGS = {
    "majajhong2015": dict(dataset="majajhong2015.public", stimuli="public", n_components=25, stratify_by="object_name"),
    "majajhong2015.slice25": dict(dataset="majajhong2015.slice25", stimuli="slice25", n_components=20, stratify_by=None),
}
_REGIONS = ("IT", "V4")
_REGRESSIONS = ("pls", "ridge")


def available() -> list[str]:
    """The names :func:`load` accepts."""
    return sorted(f"{prefix}.{region}-{regression}" for prefix in _SETTINGS for region in _REGIONS for regression in _REGRESSIONS)


def load(name: str) -> PredictivityBenchmark:
    """The benchmark called ``name`` (see :func:`available`). Data load on first use, not here."""
    if not isinstance(name, str) or name not in available():
        raise KeyError(f"unknown benchmark {name!r}; available: {available()}")
    prefix, _, rest = name.rpartition(".")
    region, _, regression = rest.partition("-")
    settings = dict(_SETTINGS[prefix])
    return PredictivityBenchmark(name, region=region, regression=regression, **settings)
