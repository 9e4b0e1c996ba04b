"""neurobridge.evaluate.decoding_curve: accuracy and d' against the number of sites (Majaj et al. 2015)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from neurobridge.assemblies import AssemblyError, make_assembly
from neurobridge.evaluate import DecodingCurve, decoding_curve, dprime, plot_decoding_curves


def _synthetic(n_per_class=30, n_classes=4, n_sites=64, signal=0.6, seed=0):
    """Each class has a mean pattern over the sites; each row adds unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"class{c}" for c in range(n_classes)], n_per_class)
    means = signal * rng.standard_normal((n_classes, n_sites))
    values = means[np.repeat(np.arange(n_classes), n_per_class)] + rng.standard_normal((len(labels), n_sites))
    return make_assembly(values, stimulus_id=[f"s{i}" for i in range(len(labels))], presentation={"category_name": labels})


def test_accuracy_rises_with_sites_and_labelled_result():
    curve = decoding_curve(_synthetic(), label="category_name", n_sites=[1, 4, 16, 64], repeats=4, cv=3, seed=0)
    table = curve.to_dataframe()
    assert list(table.n_sites) == [1, 4, 16, 64]
    assert table.accuracy_mean.iloc[-1] > table.accuracy_mean.iloc[0] + 0.3
    assert np.all(np.diff(table.accuracy_mean.values) > -0.02)
    assert table.dprime_mean.iloc[-1] > table.dprime_mean.iloc[0] + 1.0
    assert curve.accuracy.dims == ("n_sites", "draw") and curve.accuracy.sizes["draw"] == 4
    assert curve.chance == pytest.approx(0.25) and curve.n_classes == 4 and curve.n_rows == 120
    assert table.accuracy_sd.iloc[0] > 0
    dataset = curve.to_dataset()
    assert set(dataset.data_vars) == {"accuracy", "dprime"} and dataset.attrs["label"] == "category_name"
    drawn = curve.sites.sel(n_sites=4).values[:, :4]
    assert all(len(set(row)) == 4 for row in drawn) and len({tuple(r) for r in drawn}) > 1


def test_dprime_matches_a_hand_computation():
    y_true = np.array(list("aaaabbbb"))
    y_pred = np.array(list("aaabbbab"))
    # each class: hit rate 3/4, false-alarm rate 1/4 -> Z(0.75) - Z(0.25) = 2 * 0.6744897501960817
    assert dprime(y_true, y_pred) == pytest.approx(2 * 0.6744897501960817, abs=1e-12)
    # perfect: H = 1 and F = 0 clip to 1 - 1/8 and 1/8 -> 2 * Z(0.875) = 2 * 1.1503493803760079
    assert dprime(y_true, y_true) == pytest.approx(2 * 1.1503493803760079, abs=1e-12)
    y3 = np.array(list("aabbcc"))
    p3 = np.array(list("abbbca"))
    # a: H 1/2, F 1/4; b: H 1, clipped 3/4, F 1/4; c: H 1/2, F 0 clipped 1/8
    hand = np.mean([norm.ppf(0.5) - norm.ppf(0.25), norm.ppf(0.75) - norm.ppf(0.25), norm.ppf(0.5) - norm.ppf(0.125)])
    assert dprime(y3, p3) == pytest.approx(hand, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 classes"):
        dprime(["a", "a"], ["a", "a"])
    with pytest.raises(ValueError, match="same non-zero length"):
        dprime(["a", "b"], ["a"])


def test_curve_dprime_is_dprime_of_pooled_predictions():
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import NearestCentroid

    data = _synthetic(n_sites=20, seed=3)
    curve = decoding_curve(data, label="category_name", n_sites=[20], repeats=1, cv=3, seed=5, classifier=NearestCentroid())
    labels = data.category_name.values
    predicted = np.empty_like(labels)
    for train, test in StratifiedKFold(3, shuffle=True, random_state=5).split(data.values, labels):
        predicted[test] = clone(NearestCentroid()).fit(data.values[train], labels[train]).predict(data.values[test])
    assert float(curve.accuracy.item()) == pytest.approx(np.mean(predicted == labels), abs=0)
    assert float(curve.dprime.item()) == pytest.approx(dprime(labels, predicted), abs=1e-12)


def test_deterministic_for_a_seed():
    data = _synthetic(seed=1)
    a = decoding_curve(data, label="category_name", n_sites=[2, 8], repeats=3, cv=3, seed=7, classifier="nearest-centroid")
    b = decoding_curve(data, label="category_name", n_sites=[2, 8], repeats=3, cv=3, seed=7, classifier="nearest-centroid")
    c = decoding_curve(data, label="category_name", n_sites=[2, 8], repeats=3, cv=3, seed=8, classifier="nearest-centroid")
    np.testing.assert_array_equal(a.accuracy.values, b.accuracy.values)
    np.testing.assert_array_equal(a.sites.values, b.sites.values)
    assert not np.array_equal(a.sites.values, c.sites.values)


def test_groups_keep_stimuli_in_one_fold():
    data = _synthetic(n_per_class=12, n_classes=3, n_sites=10)
    trials = make_assembly(np.concatenate([data.values, data.values + 0.1]),
                           stimulus_id=np.tile(data.stimulus_id.values, 2),
                           presentation={"category_name": np.tile(data.category_name.values, 2), "repetition": np.repeat([0, 1], 36)})
    curve = decoding_curve(trials, label="category_name", n_sites=[10], repeats=1, cv=3, groups="stimulus_id")
    assert curve.cv == "StratifiedGroupKFold(3)" and 0 <= float(curve.accuracy.item()) <= 1


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(label="object_name"), AssemblyError, "label='object_name' is not a presentation coord"),
        (dict(n_sites=[1, 65]), ValueError, "n_sites asks for 65 sites but the assembly has 64"),
        (dict(n_sites=[0]), ValueError, "n_sites entries must be an integer >= 1"),
        (dict(n_sites=[2, 2]), ValueError, "repeated counts"),
        (dict(n_sites=[]), ValueError, "n_sites is empty"),
        (dict(n_sites="4"), ValueError, "n_sites must be a sequence"),
        (dict(repeats=0), ValueError, "repeats must be an integer >= 1"),
        (dict(seed=True), ValueError, "seed must be an integer >= 0"),
        (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
        (dict(cv=1), ValueError, "cv must be at least 2 folds"),
        (dict(cv=31), ValueError, "smallest class has 30 rows, fewer than cv=31 folds"),
        (dict(cv=2.5), ValueError, "cv must be an integer number of folds"),
        (dict(classifier="forest"), ValueError, "classifier='forest' is not supported"),
        (dict(classifier=object()), ValueError, "estimator with fit/predict"),
        (dict(groups="nope"), AssemblyError, "groups='nope' is not a presentation coord"),
    ],
)
def test_bad_input(kwargs, error, message):
    options = dict(label="category_name", n_sites=[4], repeats=1, cv=3)
    options.update(kwargs)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        decoding_curve(_synthetic(), **options)


def test_single_class_and_nan_rejected():
    data = _synthetic()
    one = data.assign_coords(category_name=("presentation", np.full(data.sizes["presentation"], "x")))
    with pytest.raises(ValueError, match="single value"):
        decoding_curve(one, label="category_name", n_sites=[4], cv=3)
    bad = data.copy(data=data.values.copy())
    bad.values[0, 0] = np.nan
    with pytest.raises(AssemblyError):
        decoding_curve(bad, label="category_name", n_sites=[4], cv=3)


def test_plot_returns_a_figure():
    data = _synthetic(n_sites=16)
    a = decoding_curve(data, label="category_name", n_sites=[1, 4, 16], repeats=2, cv=3)
    b = decoding_curve(data, label="category_name", n_sites=[1, 4, 16], repeats=2, cv=3, classifier="nearest-centroid")
    fig = plot_decoding_curves({"logistic": a, "nearest centroid": b})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 2
    assert a.plot(metric="dprime").axes[0].get_ylabel() == "d'"
    assert isinstance(a, DecodingCurve) and "category_name" in repr(a)
    with pytest.raises(ValueError, match="metric must be"):
        a.plot(metric="auc")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_transported_points_decode_like_any_assembly():
    """The curve of an Aligner.transform output: labels come from the source, sites from the target."""
    import neurobridge as nb

    source = _synthetic(n_per_class=20, n_classes=3, n_sites=6, signal=1.5, seed=4)
    target = _synthetic(n_per_class=20, n_classes=3, n_sites=12, signal=1.5, seed=5)
    target = target.assign_coords(stimulus_id=("presentation", [f"t{i}" for i in range(target.sizes["presentation"])]))
    bridges = nb.Bridges.sample(source, target, fraction=0.2, match="category_name", seed=0)
    aligner = nb.Aligner(coupling="bridge-ot", steps=150, batch_size=60, device="cpu", seed=0, progress=False)
    moved = aligner.fit(source, target, bridges).transform(source, seed=0)
    assert moved.sizes["neuroid"] == 12 and "category_name" in moved.coords
    curve = decoding_curve(moved, label="category_name", n_sites=[1, 12], repeats=2, cv=3)
    assert curve.n_rows == 60 and np.isfinite(curve.accuracy.values).all()


@pytest.mark.realdata
def test_real_slice_it_trials(shared_data):
    import neurobridge as nb

    shared_data("majajhong2015_slice25.nc")
    it = nb.load("majajhong2015.slice25", region="IT", average=False)
    curve = decoding_curve(it, label="category_name", n_sites=[2, 32, 168], repeats=2, cv=4, seed=0, groups=None)
    table = curve.to_dataframe()
    assert curve.n_classes == 8 and curve.n_rows == 700
    assert table.accuracy_mean.iloc[-1] > table.accuracy_mean.iloc[0] + 0.2
    assert table.accuracy_mean.iloc[-1] > curve.chance + 0.3
