"""Bad inputs to the evaluation: no silent numbers (a ceiling too low to normalise by gives NaN with a warning,
constant neuroids raise), and every error names the argument."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurobridge.assemblies import make_assembly
from neurobridge.evaluate import LinearProbe, identification_accuracy, linear_cka, neural_predictivity
from neurobridge.evaluate.generation import frechet_distance
from neurobridge.evaluate.predictivity import normalize_score
from neurobridge.evaluate.readout import features_and_labels


def _problem(seed=0, n_objects=4, per_object=10, n_features=12, n_neuroids=8):
    rng = np.random.default_rng(seed)
    n = n_objects * per_object
    ids = np.array([f"img{i:03d}" for i in range(n)])
    objects = np.repeat([f"obj{k}" for k in range(n_objects)], per_object)
    z = rng.standard_normal((n, 3))
    features = z @ rng.standard_normal((3, n_features)) + 0.3 * rng.standard_normal((n, n_features))
    responses = z @ rng.standard_normal((3, n_neuroids)) + 0.5 * rng.standard_normal((n, n_neuroids))
    model = make_assembly(features, stimulus_id=ids, presentation={"object_name": objects})
    neural = make_assembly(responses, stimulus_id=ids, presentation={"object_name": objects})
    return model, neural


def _pure_noise_trials(neural, n_reps=6, seed=1):
    rng = np.random.default_rng(seed)
    n, p = neural.shape
    return make_assembly(
        rng.standard_normal((n_reps * n, p)),
        stimulus_id=np.tile(neural.stimulus_id.values, n_reps),
        presentation={"repetition": np.repeat(np.arange(n_reps), n), "object_name": np.tile(neural.object_name.values, n_reps)},
    )


KW = {"n_components": 3, "n_splits": 3}


@pytest.mark.parametrize(
    "ceiling, pattern",
    [(-0.5, r"the noise ceiling is -0.5 <= 0"), (0.0, r"the noise ceiling is 0 <= 0"),
     (0.01, r"the noise ceiling 0.01 is below min_ceiling=0.1")],
    ids=["negative", "zero", "too-low"],
)
def test_unusable_ceiling_gives_nan_score_with_a_warning_and_keeps_raw(ceiling, pattern):
    model, neural = _problem()
    with pytest.warns(UserWarning, match=pattern + r".*normalised score \(r2_over_c\) is NaN. The raw r"):
        result = neural_predictivity(model, neural, ceiling=ceiling, **KW)
    assert math.isnan(result.score) and 0.3 < result.raw <= 1
    assert any("score is NaN" in note for note in result.notes)


def test_computed_ceiling_of_pure_noise_gives_nan_score():
    model, neural = _problem()
    with pytest.warns(UserWarning, match=r"noise ceiling .*(<= 0|below min_ceiling).*NaN"):
        result = neural_predictivity(model, _pure_noise_trials(neural), **KW)
    assert math.isnan(result.score) and result.ceiling < 0.1 and math.isfinite(result.raw)


def test_ceiling_of_constant_trials_warns():
    from neurobridge.evaluate import internal_consistency

    _, neural = _problem()
    trials = _pure_noise_trials(neural)
    with pytest.warns(UserWarning, match=r"internal_consistency: every neuroid is constant .* the ceiling is NaN"):
        result = internal_consistency(trials.copy(data=np.ones(trials.shape)))
    assert math.isnan(result.raw)


def test_min_ceiling_is_a_setting():
    model, neural = _problem()
    result = neural_predictivity(model, neural, ceiling=0.01, min_ceiling=0.0, **KW)
    assert result.score == pytest.approx(result.raw**2 / 0.01)


def test_normalize_score_warns_for_a_zero_ceiling():
    with pytest.warns(UserWarning, match=r"noise ceiling is 0 <= 0.*\(r_over_c\) is NaN"):
        assert math.isnan(normalize_score(0.5, 0.0, "r_over_c"))


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"ceiling": "0.8"}, TypeError, r"ceiling must be a number, a CeilingResult or None; got '0.8' \(str\)"),
        ({"ceiling": True}, TypeError, r"ceiling must be a number, a CeilingResult or None; got True \(bool\)"),
        ({"ceiling": float("inf")}, ValueError, r"ceiling must be a finite number"),
        ({"random_state": -1}, ValueError, r"random_state must be a non-negative integer; got -1"),
        ({"n_splits": True}, TypeError, r"n_splits must be an integer >= 1; got True"),
        ({"train_size": "0.9"}, TypeError, r"train_size must be a real number; got '0.9'"),
        ({"min_ceiling": "0.1"}, TypeError, r"min_ceiling must be a real number; got '0.1'"),
    ],
    ids=["ceiling-str", "ceiling-bool", "ceiling-inf", "random-state", "n-splits-bool", "train-size-str", "min-ceiling-str"],
)
def test_predictivity_arguments(kwargs, error, pattern):
    model, neural = _problem()
    with pytest.raises(error, match=pattern):
        neural_predictivity(model, neural, **{**KW, **kwargs})


def test_all_constant_neuroids_raise():
    model, neural = _problem()
    flat = neural.copy(data=np.ones(neural.shape))
    with pytest.raises(ValueError, match=r"every one of the 8 neuroids of neural_assembly is constant over the 40 presentations"):
        neural_predictivity(model, flat, **KW)


def test_constant_model_raises():
    model, neural = _problem()
    flat = model.copy(data=np.full(model.shape, 3.0))
    with pytest.raises(ValueError, match=r"model_assembly is constant over the 40 presentations"):
        neural_predictivity(flat, neural, **KW)


def test_inf_in_the_model_assembly_is_named():
    model, neural = _problem()
    values = model.values.copy()
    values[5, 2] = np.inf
    with pytest.raises(ValueError, match=r"model_assembly contains 0 NaN and 1 infinite values"):
        neural_predictivity(model.copy(data=values), neural, **KW)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: features_and_labels(np.array([[1.0, np.inf]]), [0], name="test_points"), ValueError,
         r"test_points contains NaN or inf in 1 rows"),
        (lambda: features_and_labels(np.ones((3, 2)), [0, 1], name="test_points"), ValueError,
         r"labels of test_points has 2 entries; expected 3"),
        (lambda: features_and_labels([["a", "b"]], [0], name="test_points"), TypeError, r"test_points must hold real numbers"),
        (lambda: LinearProbe(C="1"), TypeError, r"C \(inverse regularisation strength\) must be a real number; got '1'"),
        (lambda: LinearProbe(max_iter=0), ValueError, r"max_iter must be an integer >= 1; got 0"),
        (lambda: linear_cka(np.ones((4, 2)), np.array([[0, 1], [1, np.nan], [2, 2], [3, 3]])), ValueError,
         r"y contains NaN or inf in 1 rows \(first rows: \[1\]\)"),
        (lambda: identification_accuracy(np.eye(4), np.eye(4), top_k=True), TypeError, r"top_k must be an integer >= 1; got True"),
        (lambda: identification_accuracy(np.eye(4), np.eye(4), top_k=(1, 0)), ValueError, r"top_k must be an integer >= 1; got 0"),
        (lambda: identification_accuracy(np.eye(4), np.eye(4), chunk_size=0), ValueError, r"chunk_size must be an integer >= 1; got 0"),
        (lambda: frechet_distance(np.full((5, 2), np.inf), np.ones((5, 2))), ValueError, r"feats_a contains NaN or inf in 5 rows"),
    ],
    ids=["readout-inf", "readout-labels", "readout-strings", "probe-C-str", "probe-max-iter", "cka-nan", "top-k-bool",
         "top-k-zero", "chunk-size", "frechet-inf"],
)
def test_evaluation_inputs(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_generation_names_non_finite_classifier_features():
    from neurobridge.evaluate import generation_metrics

    class Broken:
        def predict(self, images):
            return np.zeros(len(images), dtype=int)

        def features(self, images):
            out = np.ones((len(images), 3))
            out[0, 0] = np.nan
            return out

    images = np.random.default_rng(0).random((6, 4, 4))
    with pytest.raises(ValueError, match=r"classifier.features\(images\) contains NaN or inf in 1 rows"):
        generation_metrics(images, np.zeros(6, dtype=int), Broken(), images, np.zeros(6, dtype=int))
