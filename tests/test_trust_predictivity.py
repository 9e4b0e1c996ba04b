"""Predictivity numbers that cannot mislead (issue 21): small test splits, negative r, per-split spread, layers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurobridge import benchmarks
from neurobridge.assemblies import make_assembly
from neurobridge.benchmarks import PredictivityBenchmark
from neurobridge.evaluate import neural_predictivity


def _problem(n=80, n_features=30, n_neuroids=12, seed=0, n_objects=8):
    rng = np.random.default_rng(seed)
    ids = np.array([f"img{i:03d}" for i in range(n)])
    objects = np.array([f"obj{k % n_objects}" for k in range(n)])
    z = rng.standard_normal((n, 4))
    features = z @ rng.standard_normal((4, n_features)) + 0.3 * rng.standard_normal((n, n_features))
    responses = z @ rng.standard_normal((4, n_neuroids)) + 0.5 * rng.standard_normal((n, n_neuroids))
    model = make_assembly(features, stimulus_id=ids, presentation={"object_name": objects})
    neural = make_assembly(responses, stimulus_id=ids, presentation={"object_name": objects}, name="neural")
    return model, neural


class Negated:
    """A least-squares map whose predictions are negated: held-out r is then the negative of the honest one."""

    def fit(self, x, y):
        from sklearn.linear_model import LinearRegression

        self.model_ = LinearRegression().fit(x, y)
        return self

    def predict(self, x):
        return -self.model_.predict(x)

    def get_params(self, deep=True):
        return {}


def test_a_two_stimulus_test_split_warns_and_is_noted():
    model, neural = _problem(n=19)
    with pytest.warns(UserWarning, match=r"smallest test split holds 2 stimuli, fewer than min_test_stimuli=10"):
        result = neural_predictivity(model, neural, ceiling=0.8, stratify_by=None, n_components=5)
    assert set(result.test_stimuli) == {2}
    assert "small_test_split" in result.flags
    assert any("min_test_stimuli" in note for note in result.notes)
    assert np.allclose(np.abs(result.values.values), 1.0)


def test_min_test_stimuli_is_an_argument_and_checked():
    model, neural = _problem(n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = neural_predictivity(model, neural, ceiling=0.8, stratify_by=None, n_components=5, min_test_stimuli=4)
    assert "small_test_split" not in quiet.flags and min(quiet.test_stimuli) == 4
    with pytest.warns(UserWarning, match="fewer than min_test_stimuli=5"):
        neural_predictivity(model, neural, ceiling=0.8, stratify_by=None, n_components=5, min_test_stimuli=5)
    with pytest.raises(ValueError, match="min_test_stimuli"):
        neural_predictivity(model, neural, ceiling=0.8, stratify_by=None, n_components=5, min_test_stimuli=-1)


def test_negative_raw_r_is_flagged_not_hidden_by_the_squared_score():
    model, neural = _problem(n=120)
    with pytest.warns(UserWarning, match="raw r is negative"):
        result = neural_predictivity(model, neural, ceiling=0.8, regression=Negated(), stratify_by=None)
    assert result.raw < 0 and result.score > 0
    assert result.negative_r and "negative_r" in result.flags
    assert any("squares the sign away" in note for note in result.notes)
    assert "NEGATIVE RAW r" in repr(result) and f"raw r={result.raw:+.4f}" in repr(result)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        honest = neural_predictivity(model, neural, ceiling=0.8, regression="linear", stratify_by=None)
    assert not honest.negative_r and honest.flags == ()
    assert honest.raw == pytest.approx(-result.raw, abs=1e-10)


def test_per_split_spread_is_in_the_result_and_its_summary():
    model, neural = _problem(n=120)
    result = neural_predictivity(model, neural, ceiling=0.8, n_components=5)
    s = result.per_split
    assert result.spread == pytest.approx({"min": s.min(), "max": s.max(), "sd": s.std()})
    assert result.error == pytest.approx(result.spread["sd"] / np.sqrt(result.n_splits))
    text = repr(result)
    assert f"per-split r {s.min():+.3f} .. {s.max():+.3f} (sd {s.std():.3f})" in text
    assert f"{min(result.test_stimuli)} test stimuli per split" in text


def _benchmark(n=60, n_sites=10, n_reps=4, seed=0):
    """A PredictivityBenchmark over synthetic trials (no files): responses follow a latent ``z`` plus trial noise."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"img{i:03d}" for i in range(n)])
    objects = np.repeat([f"obj{k}" for k in range(3)], n // 3)
    z = rng.standard_normal((n, 3))
    mean = z @ rng.standard_normal((3, n_sites))
    trials = make_assembly(
        np.concatenate([mean + 0.5 * rng.standard_normal(mean.shape) for _ in range(n_reps)]),
        stimulus_id=np.tile(ids, n_reps),
        presentation={"repetition": np.repeat(np.arange(n_reps), n), "object_name": np.tile(objects, n_reps)},
        name="neural",
    )
    benchmark = PredictivityBenchmark("synthetic.IT-pls", dataset="none", region="IT", stimuli="none",
                                      n_components=3, stratify_by="object_name")
    benchmark._trials = trials.isel(presentation=np.argsort(trials.stimulus_id.values, kind="stable")).astype(np.float64)
    good = z @ rng.standard_normal((3, 20)) + 0.2 * rng.standard_normal((n, 20))
    noise = rng.standard_normal((n, 20))
    layer = np.repeat(["noise", "good"], 20)
    acts = make_assembly(np.concatenate([noise, good], axis=1), stimulus_id=ids, neuroid={"layer": layer},
                         neuroid_id=[f"{name}.{i}" for name, i in zip(layer, np.tile(np.arange(20), 2))])
    return benchmark, acts, ids, objects


def test_a_concatenated_multi_layer_assembly_is_refused_and_scored_per_layer():
    benchmark, acts, _, _ = _benchmark()
    with pytest.raises(ValueError, match=r"2 layers \('noise', 'good'\).*score_layers.*select_layer"):
        benchmark(acts)
    per_layer = benchmark.score_layers(acts)
    assert isinstance(per_layer, benchmarks.LayerScores) and list(per_layer) == ["noise", "good"]
    alone = benchmark(acts.isel(neuroid=acts.layer.values == "good"))
    assert per_layer["good"].raw == alone.raw and per_layer["good"].layer == "good"
    table = per_layer.table()
    assert list(table["layer"]) == ["noise", "good"] and table["raw_r"].iloc[1] == alone.raw
    assert "optimistic" in repr(per_layer)


def test_layer_selection_chooses_on_some_stimuli_and_reports_on_others():
    from neurobridge.evaluate import internal_consistency

    benchmark, acts, ids, objects = _benchmark()
    selection = benchmark.select_layer(acts, seed=3)
    chosen, rest = set(selection.selection_stimuli), set(selection.report_stimuli)
    assert not chosen & rest and chosen | rest == set(ids)
    assert selection.selected == "good" and selection.split_wins["good"] == 1.0
    keep = np.isin(benchmark.neural_assembly().stimulus_id.values, selection.report_stimuli)
    neural = benchmark.neural_assembly().isel(presentation=keep)
    good = acts.isel(neuroid=acts.layer.values == "good")
    expected = neural_predictivity(good.isel(presentation=np.isin(ids, selection.report_stimuli)), neural,
                                   ceiling=internal_consistency(neural), n_components=3)
    assert selection.result.raw == expected.raw and selection.result.score == expected.score
    counts = {o: np.isin(ids[objects == o], selection.selection_stimuli).sum() for o in np.unique(objects)}
    assert set(counts.values()) == {10}
    assert "selected layer 'good'" in repr(selection)
    again = benchmark.select_layer(acts, selection_stimuli=selection.selection_stimuli)
    assert again.result.raw == selection.result.raw and again.seed is None
    with pytest.raises(ValueError, match="selection_stimuli"):
        benchmark.select_layer(acts, selection_stimuli=["nope"])
    with pytest.raises(ValueError, match="selection_fraction"):
        benchmark.select_layer(acts, selection_fraction=1.5)


def test_to_dataframe_is_the_tidy_split_by_site_table():
    benchmark, acts, _, _ = _benchmark()
    result = benchmark(acts.isel(neuroid=acts.layer.values == "good"))
    assert isinstance(result, benchmarks.BenchmarkResult)
    frame = result.to_dataframe()
    assert len(frame) == result.values.size
    assert {"benchmark", "layer", "split", "neuroid_id", "pearson_r", "split_median", "test_stimuli"} <= set(frame.columns)
    assert frame.groupby("split")["split_median"].first().mean() == pytest.approx(result.raw, abs=1e-12)
    assert frame.groupby("split")["pearson_r"].median().to_numpy() == pytest.approx(result.per_split)
    both = benchmark.score_layers(acts).to_dataframe()
    assert set(both["layer"]) == {"noise", "good"} and len(both) == 2 * result.values.size


@pytest.mark.realdata
def test_score_command_prints_the_per_layer_table_and_the_selected_layer(shared_data, tmp_path, capsys):
    import json
    import textwrap

    from neurobridge.cli import main

    shared_data("majajhong2015_slice25.nc")
    module = tmp_path / "two_layers.py"
    module.write_text(textwrap.dedent(
        """
        import torch

        def build():
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=2), torch.nn.ReLU(),
                                      torch.nn.Conv2d(4, 6, 5, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(3))
            return net, ["1", "4"]
        """))
    out = tmp_path / "score.json"
    assert main(["score", f"{module}:build", "--benchmark", "majajhong2015.slice25.IT-pls", "--size", "32",
                 "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert "per layer" in printed and "raw_r" in printed and "sd_over_splits" in printed
    assert f"selected layer: {saved['selected_layer']['layer']!r}" in printed
    assert "test stimuli per split" in printed and "SMALL TEST SPLITS" in printed
    for name in ("1", "4"):
        assert saved["results"][name]["layer"] == name and len(saved["results"][name]["per_split"]) == 10
        assert f"{saved['results'][name]['raw']:+.4f}" in printed
