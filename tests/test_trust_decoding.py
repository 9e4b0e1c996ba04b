"""Decoding that generalises by default (issue 21): folds hold out whole stimuli unless asked otherwise."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurobridge.assemblies import make_assembly
from neurobridge.evaluate import decoding_curve


def _trials(n_per_class=6, n_classes=3, n_reps=4, n_sites=12, seed=0, image_noise=1.0):
    """Trial-level data: each image has its own pattern (class mean + image noise), each trial adds trial noise."""
    rng = np.random.default_rng(seed)
    n = n_per_class * n_classes
    labels = np.repeat([f"c{k}" for k in range(n_classes)], n_per_class)
    images = 0.5 * rng.standard_normal((n_classes, n_sites))[np.repeat(np.arange(n_classes), n_per_class)]
    images = images + image_noise * rng.standard_normal((n, n_sites))
    values = np.concatenate([images + 0.3 * rng.standard_normal((n, n_sites)) for _ in range(n_reps)])
    return make_assembly(values, stimulus_id=np.tile([f"img{i}" for i in range(n)], n_reps),
                         presentation={"category_name": np.tile(labels, n_reps), "repetition": np.repeat(np.arange(n_reps), n)})


FOLDS: list = []


class Recorder:
    """A nearest-centroid classifier that records the rows of each training and test fold in ``FOLDS``."""

    def fit(self, x, y):
        from sklearn.neighbors import NearestCentroid

        self.model_ = NearestCentroid().fit(x, y)
        self.train_ = {tuple(row) for row in x}
        return self

    def predict(self, x):
        FOLDS.append((self.train_, {tuple(row) for row in x}))
        return self.model_.predict(x)

    def get_params(self, deep=True):
        return {}


def test_default_folds_never_share_a_stimulus():
    data = _trials()
    curve = decoding_curve(data, label="category_name", n_sites=[12], repeats=1, cv=3, seed=0)
    assert curve.groups == "stimulus_id" and "held-out stimuli" in curve.protocol and "held-out stimuli" in repr(curve)
    assert curve.cv == "StratifiedGroupKFold(3)"
    FOLDS.clear()
    decoding_curve(data, label="category_name", n_sites=[12], repeats=1, cv=3, seed=0, classifier=Recorder())
    log = list(FOLDS)
    row_to_id = {tuple(row): sid for row, sid in zip(data.values, data.stimulus_id.values)}
    assert len(log) == 3
    for train, test in log:
        assert not {row_to_id[r] for r in train} & {row_to_id[r] for r in test}


def test_trial_level_folds_only_by_explicit_option_and_named_in_the_result():
    data = _trials(image_noise=3.0)
    held_out = decoding_curve(data, label="category_name", n_sites=[12], repeats=1, cv=3, seed=0)
    trial_level = decoding_curve(data, label="category_name", n_sites=[12], repeats=1, cv=3, seed=0, groups=None)
    assert trial_level.groups is None and "trial-level folds (groups=None)" in trial_level.protocol
    assert "trial-level" in repr(trial_level)
    assert float(trial_level.accuracy.item()) > float(held_out.accuracy.item())
    fig = __import__("neurobridge.evaluate", fromlist=["plot_decoding_curves"]).plot_decoding_curves(
        {"held out": held_out, "trial level": trial_level})
    ax = fig.axes[0]
    assert "trial-level folds for trial level" in ax.get_title() and ax.get_ylim()[0] == 0
    assert any(t.get_text().startswith("chance") for t in ax.texts)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_averaged_data_keep_their_folds_and_numbers():
    data = _trials(n_reps=1)
    default = decoding_curve(data, label="category_name", n_sites=[4, 12], repeats=2, cv=3, seed=1)
    ungrouped = decoding_curve(data, label="category_name", n_sites=[4, 12], repeats=2, cv=3, seed=1, groups=None)
    assert default.cv == "StratifiedKFold(3)"
    np.testing.assert_array_equal(default.accuracy.values, ungrouped.accuracy.values)


def test_too_few_stimuli_per_class_names_the_options_that_work():
    data = _trials(n_per_class=2)
    with pytest.raises(ValueError) as info:
        decoding_curve(data, label="category_name", n_sites=[4], repeats=1, cv=3)
    message = str(info.value)
    assert "2 distinct stimulus_id values, fewer than cv=3" in message
    assert "lower cv to 2" in message and "groups=None" in message
    curve = decoding_curve(data, label="category_name", n_sites=[4], repeats=1, cv=2)
    assert curve.cv == "StratifiedGroupKFold(2)"


def test_n_jobs_does_not_change_the_numbers():
    data = _trials()
    one = decoding_curve(data, label="category_name", n_sites=[2, 6], repeats=2, cv=3, seed=2, classifier="nearest-centroid")
    two = decoding_curve(data, label="category_name", n_sites=[2, 6], repeats=2, cv=3, seed=2, classifier="nearest-centroid", n_jobs=2)
    np.testing.assert_array_equal(one.accuracy.values, two.accuracy.values)
    with pytest.raises(ValueError, match="n_jobs must be"):
        decoding_curve(data, label="category_name", n_sites=[2], cv=3, n_jobs=0)


def test_decoding_over_time_decodes_each_bin_alone():
    from neurobridge.evaluate import decoding_curve, decoding_over_time

    base = _trials(n_reps=1, image_noise=0.5)
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(base.shape)
    cube = np.stack([noise, base.values, 0.5 * base.values + noise], axis=-1)
    timed = xr.DataArray(cube, dims=("presentation", "neuroid", "time_bin"), coords={
        "stimulus_id": ("presentation", base.stimulus_id.values), "category_name": ("presentation", base.category_name.values),
        "neuroid_id": ("neuroid", base.neuroid_id.values),
        "time_bin_start": ("time_bin", [0, 50, 100]), "time_bin_end": ("time_bin", [50, 100, 150])})
    result = decoding_over_time(timed, label="category_name", cv=3, seed=0, classifier="nearest-centroid")
    assert result.accuracy.sizes["time_bin"] == 3 and list(result.accuracy.time_bin_start.values) == [0, 50, 100]
    alone = decoding_curve(base, label="category_name", n_sites=[12], repeats=1, cv=3, seed=0, classifier="nearest-centroid")
    assert result.accuracy.values[1] == pytest.approx(float(alone.accuracy.item()))
    assert result.accuracy.values[1] > result.accuracy.values[0]
    parallel = decoding_over_time(timed, label="category_name", cv=3, seed=0, classifier="nearest-centroid", n_jobs=2)
    np.testing.assert_array_equal(result.accuracy.values, parallel.accuracy.values)
    assert result.fold_accuracy.shape == (3, 3)
    assert list(result.to_dataframe().columns[:2]) == ["time_bin_start", "time_bin_end"]
    fig = result.plot()
    assert fig.axes[0].get_ylim()[0] == 0 and any("chance" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    import matplotlib.pyplot as plt

    plt.close("all")
    with pytest.raises(Exception, match="no time_bin dim"):
        decoding_over_time(base, label="category_name")


@pytest.mark.realdata
def test_real_slice_held_out_images_decode_worse_than_trial_level(shared_data):
    import neurobridge as nb

    shared_data("majajhong2015_slice25.nc")
    it = nb.load("majajhong2015.slice25", region="IT", average=False)
    with pytest.raises(ValueError, match="Options that work: drop the classes"):
        decoding_curve(it, label="category_name", n_sites=[168], repeats=1, cv=3)
    it = it.isel(presentation=it.category_name.values != "Tables")
    held_out = decoding_curve(it, label="category_name", n_sites=[168], repeats=1, cv=3, seed=0)
    trial_level = decoding_curve(it, label="category_name", n_sites=[168], repeats=1, cv=3, seed=0, groups=None)
    assert float(held_out.accuracy.item()) < float(trial_level.accuracy.item())
