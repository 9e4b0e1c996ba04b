"""neurobridge.benchmarks: named benchmarks over neural_predictivity and the internal-consistency ceiling.

The numbers themselves are checked against brainscore_vision in tests/test_brainscore_benchmark.py (the benchmark
object against Brain-Score's NeuralBenchmark) and tests/test_brainscore_equivalence.py (the metric and ceiling);
here: the registry, the settings each name carries, candidate handling and errors, on the real 25-image slice.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from neurobridge import benchmarks
from neurobridge.assemblies import AssemblyError, average_repetitions, make_assembly
from neurobridge.evaluate import internal_consistency, neural_predictivity

REQUIRED = ["majajhong2015.IT-pls", "majajhong2015.V4-pls", "majajhong2015.slice25.IT-pls", "majajhong2015.slice25.V4-pls",
            "majajhong2015.IT-ridge", "majajhong2015.V4-ridge", "majajhong2015.slice25.IT-ridge", "majajhong2015.slice25.V4-ridge"]


def test_registry_names_and_unknown_name():
    assert set(REQUIRED) <= set(benchmarks.available())
    with pytest.raises(KeyError) as info:
        benchmarks.load("majajhong2015.IT-pl")
    for name in REQUIRED:
        assert name in str(info.value)
    with pytest.raises(KeyError, match="unknown benchmark"):
        benchmarks.load(3)


def test_settings_follow_brainscore_and_the_slice():
    public = benchmarks.load("majajhong2015.IT-pls")
    assert (public.identifier, public.dataset, public.region) == ("majajhong2015.IT-pls", "majajhong2015.public", "IT")
    assert (public.regression, public.n_components, public.stratify_by, public.train_size, public.n_splits) == ("pls", 25, "object_name", 0.9, 10)
    sliced = benchmarks.load("majajhong2015.slice25.V4-ridge")
    assert (sliced.dataset, sliced.region, sliced.regression, sliced.stratify_by) == ("majajhong2015.slice25", "V4", "ridge", None)
    assert benchmarks.load("majajhong2015.slice25.IT-pls").n_components == 20
    text = repr(public)
    assert "majajhong2015.IT-pls" in text and "25 components" in text and "object_name" in text


@pytest.fixture(scope="module")
def slice_benchmark(shared_data):
    shared_data("majajhong2015_slice25.nc")
    return benchmarks.load("majajhong2015.slice25.IT-pls")


@pytest.fixture(scope="module")
def pixel_features(slice_benchmark):
    pixels = slice_benchmark.load_stimuli(size=32, mode="L")
    weights = np.random.default_rng(0).standard_normal((pixels.sizes["neuroid"], 200)) / 32
    return make_assembly(np.maximum(pixels.values @ weights, 0), stimulus_id=pixels.stimulus_id.values, name="pixels")


@pytest.mark.realdata
def test_stimulus_set_and_assembly(slice_benchmark):
    frame = slice_benchmark.stimulus_set
    assert len(frame) == 25 and frame["stimulus_id"].is_unique
    assert {"stimulus_id", "image_path", "object_name", "category_name"} <= set(frame.columns)
    assert list(frame["stimulus_id"]) == sorted(frame["stimulus_id"])
    trials = slice_benchmark.neural_assembly()
    assert trials.sizes == {"presentation": 700, "neuroid": 168} and trials.dtype == np.float64
    assert set(trials.region.values) == {"IT"}
    assert slice_benchmark.load_stimuli(size=16, mode="RGB").sizes["neuroid"] == 16 * 16 * 3


@pytest.mark.realdata
def test_result_is_neural_predictivity_with_the_benchmark_settings(slice_benchmark, pixel_features):
    result = slice_benchmark(pixel_features)
    trials = slice_benchmark.neural_assembly()
    ceiling = internal_consistency(trials)
    direct = neural_predictivity(pixel_features, trials, ceiling=ceiling, stratify_by=None, n_components=20)
    assert result.raw == direct.raw and result.error == direct.error
    np.testing.assert_array_equal(result.values.values, direct.values.values)
    assert result.ceiling == pytest.approx(ceiling.raw, abs=0) and result.score == pytest.approx(result.raw**2 / result.ceiling, rel=1e-12)
    assert result.per_site.sizes["neuroid"] == 168
    np.testing.assert_allclose(result.per_site.values, np.nanmean(result.values.values, axis=0))
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["benchmark"] == "majajhong2015.slice25.IT-pls" and len(summary["per_site"]["pearson_r"]) == 168
    assert "majajhong2015.slice25.IT-pls" in repr(result)
    averaged = average_repetitions(trials)
    assert list(averaged.stimulus_id.values) == sorted(averaged.stimulus_id.values)


@pytest.mark.realdata
def test_callable_candidate_and_extra_stimuli(slice_benchmark, pixel_features):
    seen = []

    def model(stimulus_set):
        seen.append(stimulus_set)
        return pixel_features.isel(presentation=slice(None, None, -1))

    by_callable = slice_benchmark(model)
    assert len(seen) == 1 and len(seen[0]) == 25
    assert by_callable.raw == slice_benchmark(pixel_features).raw
    extra = make_assembly(np.ones((1, pixel_features.sizes["neuroid"])), stimulus_id=["not-in-benchmark"])
    import xarray as xr

    with_extra = xr.concat([pixel_features, extra], dim="presentation")
    assert slice_benchmark(with_extra).raw == by_callable.raw


@pytest.mark.realdata
def test_ridge_and_v4_variants(shared_data, pixel_features):
    shared_data("majajhong2015_slice25.nc")
    ridge = benchmarks.load("majajhong2015.slice25.IT-ridge")(pixel_features)
    v4 = benchmarks.load("majajhong2015.slice25.V4-pls")(pixel_features)
    assert ridge.predictivity.regression == "ridge" and v4.per_site.sizes["neuroid"] == 128
    assert np.isfinite([ridge.raw, v4.raw, ridge.ceiling, v4.ceiling]).all() and v4.ceiling != ridge.ceiling


@pytest.mark.realdata
def test_bad_candidates(slice_benchmark, pixel_features):
    with pytest.raises(AssemblyError, match="lack 5 of the benchmark's 25 stimuli"):
        slice_benchmark(pixel_features.isel(presentation=slice(0, 20)))
    with pytest.raises(TypeError, match="candidate must be an activations assembly or a callable"):
        slice_benchmark(np.zeros((25, 3)))
    with pytest.raises(TypeError, match="must return an assembly"):
        slice_benchmark(lambda stimuli: np.zeros((25, 3)))
    import xarray as xr

    doubled = xr.concat([pixel_features, pixel_features], dim="presentation")
    with pytest.raises(AssemblyError, match="duplicate stimulus_id|repeat stimulus ids"):
        slice_benchmark(doubled)
