"""One stimulus-id policy everywhere: ids of different types are an error naming both types, never a match by
coercion (numpy's ``isin`` converts integers to strings on large enough arrays, so the outcome used to depend on
the number of stimuli)."""
import numpy as np
import pandas as pd
import pytest

import neurobridge as nb
from neurobridge.assemblies import align, make_assembly

N_STIMULI = (10, 30, 40)


def _pair(n, kind_a="int", kind_b="str", seed=0):
    rng = np.random.default_rng(seed)
    base = np.arange(n)
    ids = {"int": base, "str": base.astype(str), "float": base.astype(float),
           "mixed": np.array([str(i) if i % 2 else int(i) for i in base], dtype=object)}
    a = make_assembly(rng.normal(size=(n, 5)), stimulus_id=ids[kind_a])
    b = make_assembly(rng.normal(size=(n, 4)), stimulus_id=ids[kind_b])
    return a, b


def _message_names_both(err, first="integers", second="strings"):
    text = str(err.value)
    assert first in text and second in text and "e.g." in text


@pytest.mark.parametrize("n", N_STIMULI)
@pytest.mark.parametrize("kinds", [("int", "str"), ("str", "int"), ("int", "float"), ("str", "mixed")])
def test_align_refuses_ids_of_different_types(n, kinds):
    a, b = _pair(n, *kinds)
    with pytest.raises(ValueError, match="stimulus_id values are") as err:
        align(a, b)
    assert "dtype" in str(err.value)


@pytest.mark.parametrize("n", N_STIMULI)
def test_align_still_matches_ids_of_one_type_and_any_width(n):
    a, b = _pair(n, "int", "int")
    b = b.assign_coords(stimulus_id=("presentation", b.stimulus_id.values.astype(np.int32)[::-1]))
    x, y = align(a, b)
    assert np.array_equal(x.stimulus_id.values, y.stimulus_id.values) and len(x) == n


@pytest.mark.parametrize("n", N_STIMULI)
def test_paired_bridges_refuse_ids_of_different_types(n):
    a, b = _pair(n)
    with pytest.raises(ValueError) as err:
        nb.Bridges.sample(a, b, fraction=0.5, match="stimulus_id", seed=0)
    _message_names_both(err)


@pytest.mark.parametrize("n", N_STIMULI)
def test_predictivity_refuses_ids_of_different_types(n):
    from neurobridge.evaluate import neural_predictivity

    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(2), n // 2 + 1)[:n]
    neural = make_assembly(rng.normal(size=(3 * n, 5)), stimulus_id=np.repeat(np.arange(n), 3),
                           presentation={"repetition": np.tile(np.arange(3), n), "object_name": np.repeat(labels, 3)})
    model = make_assembly(rng.normal(size=(n, 4)), stimulus_id=np.arange(n).astype(str), presentation={"object_name": labels})
    with pytest.raises(ValueError) as err:
        neural_predictivity(model, neural, ceiling=None)
    _message_names_both(err)


def test_brainscore_adapter_refuses_ids_of_different_types():
    from neurobridge.evaluate.brainscore import AlignedBrainModel

    stimuli = pd.DataFrame({"stimulus_id": np.arange(30).astype(str)})
    model = AlignedBrainModel("probe", lambda s: make_assembly(np.ones((30, 3)) * np.arange(30)[:, None], stimulus_id=np.arange(30)),
                              regions=["IT"])
    model.start_recording("IT", [(70, 170)])
    with pytest.raises(ValueError) as err:
        model.look_at(stimuli)
    _message_names_both(err, "integers", "strings")


@pytest.mark.realdata
def test_benchmark_refuses_candidate_ids_of_another_type(shared_data):
    from neurobridge import benchmarks

    shared_data("majajhong2015_slice25.nc")
    benchmark = benchmarks.load("majajhong2015.slice25.IT-pls")
    ids = benchmark.stimulus_ids
    codes = {sid: i for i, sid in enumerate(ids)}
    candidate = make_assembly(np.random.default_rng(0).normal(size=(len(ids), 8)), stimulus_id=np.array([codes[s] for s in ids]))
    with pytest.raises(ValueError) as err:
        benchmark(candidate)
    _message_names_both(err)
