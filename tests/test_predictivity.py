"""Brain-Score-exact neural predictivity and ceiling on small synthetic assemblies (main environment, fast)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import StratifiedShuffleSplit

from neurobridge.assemblies import AssemblyError, average_repetitions, make_assembly
from neurobridge.evaluate import CeilingResult, PredictivityResult, internal_consistency, neural_predictivity
from neurobridge.evaluate._pls import NipalsPLS
from neurobridge.evaluate._stats import mean_and_sem, pearson_columns, spearman_brown
from neurobridge.evaluate.predictivity import NORMALIZATIONS, neural_predictivity_by_region


def _problem(seed=0, n_objects=8, per_object=10, n_features=40, n_neuroids=30, noise=1.0, latent=6):
    """Stimuli with object labels, model features and neural responses sharing a latent signal."""
    rng = np.random.default_rng(seed)
    n = n_objects * per_object
    ids = np.array([f"img{i:03d}" for i in range(n)])
    objects = np.repeat([f"obj{k}" for k in range(n_objects)], per_object)
    z = rng.standard_normal((n, latent))
    features = z @ rng.standard_normal((latent, n_features)) + 0.3 * rng.standard_normal((n, n_features))
    responses = z @ rng.standard_normal((latent, n_neuroids)) + noise * rng.standard_normal((n, n_neuroids))
    model = make_assembly(features, stimulus_id=ids, presentation={"object_name": objects})
    regions = np.where(np.arange(n_neuroids) < n_neuroids // 2, "V4", "IT")
    neural = make_assembly(responses, stimulus_id=ids, presentation={"object_name": objects},
                           neuroid={"region": regions}, name="neural")
    return model, neural


def _trials(neural, n_reps=6, noise=0.8, seed=1, identical=False):
    rng = np.random.default_rng(seed)
    values = np.repeat(neural.values[None], n_reps, axis=0)
    if not identical:
        values = values + noise * rng.standard_normal(values.shape)
    n = neural.sizes["presentation"]
    return make_assembly(
        values.reshape(n_reps * n, -1),
        stimulus_id=np.tile(neural.stimulus_id.values, n_reps),
        presentation={"repetition": np.repeat(np.arange(n_reps), n), "object_name": np.tile(neural.object_name.values, n_reps)},
        neuroid={"region": neural.region.values},
        neuroid_id=neural.neuroid_id.values,
    )


def test_self_prediction_is_one():
    _, neural = _problem(n_neuroids=12)
    result = neural_predictivity(neural, neural, ceiling=1.0, n_components=12)
    assert result.raw > 0.999
    assert result.score == pytest.approx(result.raw**2)


def test_signal_predicts_and_shuffled_stimuli_do_not():
    model, neural = _problem(per_object=40, n_features=60, noise=0.5)
    good = neural_predictivity(model, neural, n_components=10, normalization="raw")
    shuffled = model.assign_coords(stimulus_id=("presentation", np.random.default_rng(3).permutation(model.stimulus_id.values)))
    bad = neural_predictivity(shuffled, neural, n_components=10, normalization="raw")
    assert good.raw > 0.6
    assert abs(bad.raw) < 0.1


def test_identical_repetitions_give_ceiling_one():
    _, neural = _problem()
    ceiling = internal_consistency(_trials(neural, identical=True))
    assert isinstance(ceiling, CeilingResult)
    assert ceiling.raw == pytest.approx(1.0, abs=1e-12)
    assert ceiling.error == pytest.approx(0.0, abs=1e-12)


def test_ceiling_follows_noise_and_matches_a_direct_computation():
    _, neural = _problem()
    trials = _trials(neural, noise=1.5)
    ceiling = internal_consistency(trials)
    assert 0.3 < ceiling.raw < 0.99
    assert internal_consistency(_trials(neural, noise=3.0)).raw < ceiling.raw
    reps = np.unique(trials.repetition.values)
    from sklearn.model_selection import ShuffleSplit

    half_a, half_b = next(ShuffleSplit(10, train_size=0.5, random_state=1).split(np.zeros(len(reps))))
    mean = lambda half: trials.isel(presentation=np.isin(trials.repetition.values, reps[half])).groupby("stimulus_id").mean()  # noqa: E731
    a, b = mean(half_a), mean(half_b)
    r = np.array([scipy.stats.pearsonr(a.values[:, j], b.values[:, j])[0] for j in range(a.shape[1])])
    np.testing.assert_allclose(ceiling.values.isel(split=0).values, 2 * r / (1 + r), atol=1e-12)
    assert ceiling.values.dims == ("split", "neuroid")
    assert list(ceiling.values.region.values) == list(neural.region.values)


def test_pls_split_equals_direct_sklearn_and_scipy():
    model, neural = _problem(seed=4)
    result = neural_predictivity(model, neural, ceiling=0.9, n_components=5)
    split = StratifiedShuffleSplit(n_splits=10, train_size=0.9, random_state=1)
    train, test = next(split.split(np.zeros(neural.sizes["presentation"]), neural.object_name.values))
    train = train[np.argsort(neural.stimulus_id.values[train], kind="stable")]
    pls = PLSRegression(n_components=5, scale=False).fit(model.values[train], neural.values[train])
    prediction = pls.predict(model.values[test])
    expected = [scipy.stats.pearsonr(neural.values[test, j], prediction[:, j])[0] for j in range(neural.sizes["neuroid"])]
    np.testing.assert_allclose(result.values.isel(split=0).values, expected, atol=1e-10)
    per_split = np.median(result.values.values, axis=1)
    assert result.raw == pytest.approx(per_split.mean(), abs=1e-14)
    assert result.error == pytest.approx(per_split.std(ddof=0) / np.sqrt(10), abs=1e-14)


@pytest.mark.parametrize("shape", [(120, 40, 15), (60, 8, 30), (50, 20, 1), (300, 150, 60)])
def test_nipals_reproduces_sklearn_pls(shape):
    n, p, q = shape
    rng = np.random.default_rng(n + p + q)
    z = rng.standard_normal((n, 5))
    X = z @ rng.standard_normal((5, p)) + 0.5 * rng.standard_normal((n, p))
    Y = z @ rng.standard_normal((5, q)) + rng.standard_normal((n, q))
    X_new = rng.standard_normal((20, p))
    k = min(8, p)
    ours = NipalsPLS(k).fit(X, Y)
    ref = PLSRegression(k, scale=False).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X_new), ref.predict(X_new).reshape(20, -1), atol=1e-9)
    np.testing.assert_allclose(ours.x_weights_, ref.x_weights_, atol=1e-9)
    assert ours.n_iter_ == list(ref.n_iter_)


@pytest.mark.parametrize("shape", [(120, 40, 15), (300, 30, 60), (200, 50, 1), (400, 100, 200)])
def test_nipals_from_moments_reproduces_sklearn_pls(shape):
    """Fitting from the shared cross-products of all rows (CentredMoments) gives scikit-learn's fit on the subset,
    whether the subset or the rows left out are the smaller side, and whatever the features' offset."""
    from neurobridge.evaluate._pls import CentredMoments

    n, p, q = shape
    rng = np.random.default_rng(n + p + q)
    z = rng.standard_normal((n, 5))
    X = 50.0 + z @ rng.standard_normal((5, p)) + 0.5 * rng.standard_normal((n, p))
    Y = z @ rng.standard_normal((5, q)) + rng.standard_normal((n, q))
    moments = CentredMoments(X, Y)
    X_new = rng.standard_normal((20, p)) + 50.0
    for rows in (np.sort(rng.permutation(n)[: int(0.9 * n)]), np.sort(rng.permutation(n)[: n // 3])):
        ours = NipalsPLS(8).fit_moments(moments, rows)
        ref = PLSRegression(8, scale=False).fit(X[rows], Y[rows])
        np.testing.assert_allclose(ours.predict(X_new), ref.predict(X_new).reshape(20, -1), atol=1e-9)
        np.testing.assert_allclose(ours.x_weights_, ref.x_weights_, atol=1e-9)
        np.testing.assert_allclose(ours.y_loadings_, ref.y_loadings_, atol=1e-9)
        assert ours.n_iter_ == list(ref.n_iter_)


def test_moments_route_taken_and_equal_to_sklearn(monkeypatch):
    """With at most half as many features as training stimuli the metric fits from shared moments, and every
    per-split, per-site r equals scikit-learn's PLS on the rows (float64 and float32 features)."""
    from neurobridge.evaluate import _pls

    calls = []
    original = _pls.NipalsPLS.fit_moments
    monkeypatch.setattr(_pls.NipalsPLS, "fit_moments", lambda self, m, rows: calls.append(len(rows)) or original(self, m, rows))
    model, neural = _problem(seed=8, n_objects=20, per_object=12, n_features=40)
    for features in (model, model.astype(np.float32)):
        calls.clear()
        fast = neural_predictivity(features, neural, n_components=8)
        assert len(calls) == 10
        slow = neural_predictivity(features, neural, n_components=8, pls_backend="sklearn")
        np.testing.assert_allclose(fast.values.values, slow.values.values, atol=1e-12)


def test_backends_agree():
    model, neural = _problem(seed=7)
    fast = neural_predictivity(model, neural, n_components=8)
    slow = neural_predictivity(model, neural, n_components=8, pls_backend="sklearn")
    np.testing.assert_allclose(fast.values.values, slow.values.values, atol=1e-10)


def test_normalisations_and_repr():
    model, neural = _problem(seed=2)
    raw = neural_predictivity(model, neural, ceiling=0.8, normalization="raw", n_components=5)
    r = raw.raw
    expected = {"r2_over_c": r**2 / 0.8, "r_over_c_squared": (r / 0.8) ** 2, "r_over_c": r / 0.8, "raw": r}
    for name, value in expected.items():
        result = neural_predictivity(model, neural, ceiling=0.8, normalization=name, n_components=5)
        assert result.normalization == name
        assert result.score == pytest.approx(value, rel=1e-12)
        assert result.raw == pytest.approx(r, rel=1e-12)
        assert f"normalization='{name}'" in repr(result)
        assert result.ceiling == 0.8
    assert set(expected) == set(NORMALIZATIONS)
    with pytest.raises(ValueError, match="normalization"):
        neural_predictivity(model, neural, normalization="r_over_sqrt_c")


def test_without_ceiling_score_is_raw_and_says_so():
    model, neural = _problem(seed=2)
    result = neural_predictivity(model, neural, n_components=5)
    assert result.ceiling is None and result.normalization == "raw" and result.score == result.raw
    assert "no ceiling" in repr(result)


def test_trial_level_neural_gets_its_internal_consistency():
    model, neural = _problem(seed=5)
    trials = _trials(neural, noise=1.0)
    result = neural_predictivity(model, trials, n_components=5)
    ceiling = internal_consistency(trials)
    assert isinstance(result, PredictivityResult)
    assert result.ceiling == pytest.approx(ceiling.raw, abs=1e-15)
    assert result.score == pytest.approx(result.raw**2 / ceiling.raw, rel=1e-12)
    averaged = neural_predictivity(model, average_repetitions(trials), ceiling=ceiling, n_components=5)
    assert result.raw == pytest.approx(averaged.raw, abs=1e-10)


def test_trial_modes_split_as_documented():
    """'stimuli' never puts one stimulus on both sides; 'presentations' (Brain-Score's default) usually does."""
    _, neural = _problem(seed=6, n_objects=4, per_object=10)
    trials = _trials(neural, n_reps=4)
    n = neural.sizes["presentation"]
    onehot = make_assembly(np.eye(n), stimulus_id=neural.stimulus_id.values)

    class Recorder:
        def __init__(self, log):
            self.log = log

        def fit(self, X, Y):
            self.train = set(np.argmax(X, axis=1).tolist())
            return self

        def predict(self, X):
            self.log.append(len(self.train & set(np.argmax(X, axis=1).tolist())))
            return np.random.default_rng(len(self.log)).standard_normal((len(X), trials.sizes["neuroid"]))

    shared = {}
    for mode in ("stimuli", "presentations"):
        log = []
        neural_predictivity(onehot, trials, ceiling=1.0, regression=Recorder(log), trials=mode)
        shared[mode] = log
    assert shared["stimuli"] == [0] * 10
    assert all(count > 0 for count in shared["presentations"])


def test_constant_neuroid_is_nan_and_skipped_like_brainscore():
    model, neural = _problem(seed=8)
    values = neural.values.copy()
    values[:, 3] = 5.0
    constant = neural.copy(data=values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_constant = neural_predictivity(model, constant, ceiling=0.7, n_components=5, min_test_stimuli=8)
    assert np.isnan(with_constant.values.isel(neuroid=3)).all()
    without = neural_predictivity(model, neural.isel(neuroid=[j for j in range(neural.sizes["neuroid"]) if j != 3]),
                                  ceiling=0.7, n_components=5)
    assert with_constant.raw == pytest.approx(without.raw, abs=1e-10)


def test_misaligned_stimuli_are_an_error():
    model, neural = _problem()
    other = model.assign_coords(stimulus_id=("presentation", np.char.add("other_", model.stimulus_id.values.astype(str))))
    with pytest.raises(AssemblyError, match="share no stimulus_id"):
        neural_predictivity(other, neural)


def test_partially_shared_stimuli_warn():
    model, neural = _problem(per_object=12)
    with pytest.warns(UserWarning, match="dropped"):
        neural_predictivity(model.isel(presentation=slice(0, 90)), neural, n_components=5)


def test_too_few_stimuli_give_clear_errors():
    model, neural = _problem(n_objects=3, per_object=1)
    with pytest.raises(ValueError, match="stratify_by='object_name'"):
        neural_predictivity(model, neural, n_components=2)
    with pytest.raises(ValueError, match="at least 2"):
        neural_predictivity(model, neural, n_components=2, stratify_by=None)
    with pytest.raises(AssemblyError, match="stratify_by='category'"):
        neural_predictivity(model, neural, stratify_by="category")


def test_rank_deficient_pls_warns():
    model, neural = _problem(n_objects=4, per_object=5, n_features=50)
    with pytest.warns(UserWarning, match="rounding noise"):
        neural_predictivity(model, neural, n_components=25, stratify_by=None)


def test_argument_checks_name_the_argument():
    model, neural = _problem()
    for kwargs, word in [({"regression": "lasso"}, "regression"), ({"direction": "sideways"}, "direction"),
                         ({"trials": "median"}, "trials"), ({"train_size": 1.5}, "train_size"),
                         ({"n_splits": 0}, "n_splits"), ({"ceiling": float("nan")}, "ceiling")]:
        with pytest.raises(ValueError, match=word):
            neural_predictivity(model, neural, **kwargs)
    with pytest.raises(ValueError, match="n_components"):
        neural_predictivity(model.isel(neuroid=slice(0, 3)), neural, n_components=5)
    with pytest.raises(AssemblyError, match="repetition"):
        internal_consistency(neural)


def test_ridge_regressions_and_reverse_direction():
    model, neural = _problem(seed=9, per_object=20)
    ridge = neural_predictivity(model, neural, regression="ridge", ceiling=1.0)
    ridgecv = neural_predictivity(model, neural, regression="ridgecv", ceiling=1.0)
    assert ridge.raw > 0.4 and ridgecv.raw > 0.4
    reverse = neural_predictivity(model, neural, direction="neural_to_model", n_components=5)
    assert reverse.values.sizes["neuroid"] == model.sizes["neuroid"]
    assert reverse.ceiling is None and reverse.raw > 0.3


def test_per_region_results_keep_neuroid_coords():
    model, neural = _problem(seed=10)
    results = neural_predictivity_by_region(model, _trials(neural), n_components=5)
    assert set(results) == {"V4", "IT"}
    for region, result in results.items():
        assert set(result.values.region.values) == {region}
        assert result.ceiling_result is not None


def test_stats_helpers():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    b[:, 1] = a[:, 1] * 2 + 1
    expected = [scipy.stats.pearsonr(a[:, j], b[:, j])[0] for j in range(4)]
    np.testing.assert_allclose(pearson_columns(a, b), expected, atol=1e-14)
    b[:, 2] = 7.0
    assert np.isnan(pearson_columns(a, b)[2])
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    mean, sem = mean_and_sem(np.array([0.2, np.nan, 0.4, 0.6]))
    assert mean == pytest.approx(0.4)
    assert sem == pytest.approx(np.std([0.2, 0.4, 0.6]) / 2)


def test_brainscore_adapter_imports_without_brainscore_and_checks_its_use():
    import importlib.util

    import pandas as pd

    from neurobridge.evaluate.brainscore import AlignedBrainModel, to_brainscore

    model, _ = _problem()
    adapter = AlignedBrainModel("toy", lambda stimuli: model, visual_degrees=8, regions=["IT"])
    assert adapter.identifier == "toy" and adapter.visual_degrees() == 8
    with pytest.raises(NotImplementedError, match="passive"):
        adapter.start_task("label", None)
    with pytest.raises(RuntimeError, match="start_recording"):
        adapter.look_at(pd.DataFrame({"stimulus_id": model.stimulus_id.values}))
    with pytest.raises(ValueError, match="records from"):
        adapter.start_recording("V1", [(70, 170)])
    with pytest.raises(ValueError, match="activations"):
        AlignedBrainModel("toy", activations=42)
    if importlib.util.find_spec("brainscore_core") is None and importlib.util.find_spec("brainio") is None:
        with pytest.raises(ImportError, match="make_brainscore_env.sh"):
            to_brainscore(model)
