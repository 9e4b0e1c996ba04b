"""``neurobridge report`` keeps bookkeeping out of the metrics, states chance levels, heads each table with what ran
(data, region, direction, protocol from run.json) and flags a negative raw r; ``neurobridge run --help`` lists every
experiment's options."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from neurobridge.cli import main


def _majaj(tmp_path, raw_r=(-0.148, 0.079), n_test=(5, 5), protocol="inductive", run_json=True):
    rows = []
    for seed, (r, n) in enumerate(zip(raw_r, n_test)):
        unit = {"experiment": "majaj", "fraction": 0.4, "seed": seed}
        rows += [dict(unit, method="model-layer", metric="neural_predictivity_raw", value=r),
                 dict(unit, method="model-layer", metric="neural_predictivity", value=r * r / 0.75),
                 dict(unit, method="model-layer", metric="fit_seconds", value=1.5 + seed),
                 dict(unit, method="ridge", metric="category_accuracy", value=0.3 + 0.1 * seed),
                 dict(unit, method="ridge", metric="image_top1", value=0.4),
                 dict(unit, method="ridge", metric="n_test_stimuli", value=n),
                 dict(unit, method="ridge", metric="n_labelled_stimuli", value=8),
                 dict(unit, method="ridge", metric="n_bridges", value=224),
                 dict(unit, method="ridge", metric="fit_seconds", value=2.0)]
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    if run_json:
        settings = {"data": {"variant": "slice25", "region": "V4", "model": "random-cnn", "layer": None, "model_seed": 0,
                             "source": "trials"}, "flow": {}, "models": {}, "transform_samples": 8}
        if protocol is not None:
            settings.update(protocol=protocol, test_fraction=0.2)
        (tmp_path / "run.json").write_text(json.dumps({"majaj": settings}))
    return tmp_path


def _report(path, capsys, *extra):
    assert main(["report", str(path), *extra]) == 0
    return capsys.readouterr().out


def _section(out, title):
    """The text of the section whose heading contains ``title`` (up to the next heading)."""
    start = out.index(title)
    rest = out[start:]
    end = rest.find("\n###", 1)
    return rest if end < 0 else rest[:end]


def test_bookkeeping_is_a_separate_labelled_table_not_a_metric(tmp_path, capsys):
    out = _report(_majaj(tmp_path), capsys)
    for quantity in ("fit_seconds", "n_bridges", "n_labelled_stimuli", "n_test_stimuli"):
        assert f"majaj: {quantity} (" not in out, f"{quantity} is tabulated as a metric"
    book = _section(out, "majaj: bookkeeping (not metrics")
    for quantity in ("fit_seconds", "n_bridges", "n_labelled_stimuli", "n_test_stimuli"):
        assert f"| {quantity} |" in book
    assert "| fit_seconds | model-layer | 2 ± 0.7071 |" in book and "| n_bridges | ridge | 224 ± 0 |" in book
    for metric in ("category_accuracy", "image_top1", "neural_predictivity"):
        assert f"### majaj: {metric} (" in out


def test_chance_levels_come_from_the_classes_and_the_test_stimuli(tmp_path, capsys):
    from neurobridge.experiments.results import CLASSES

    out = _report(_majaj(tmp_path, n_test=(5, 5)), capsys)
    category = _section(out, "### majaj: category_accuracy")
    c = CLASSES["majajhong2015"]
    assert f"| *chance* | {1 / c:.3f} |" in category and f"1/C = 1/{c}" in category
    top1 = _section(out, "### majaj: image_top1")
    assert "| *chance* | 0.200 |" in top1 and "N = test stimuli (5)" in top1
    assert "| *chance* | 0.000 |" in _section(out, "### majaj: neural_predictivity_raw")
    # a different number of test stimuli gives a different chance: the level is read from the results
    out = _report(_majaj(tmp_path, n_test=(8, 8)), capsys)
    assert "| *chance* | 0.125 |" in _section(out, "### majaj: image_top1")
    # seeds that disagree on N: no single chance level is claimed
    out = _report(_majaj(tmp_path, n_test=(8, 5)), capsys)
    assert "*chance*" not in _section(out, "### majaj: image_top1")


def test_digits_chance_and_unknown_chance(tmp_path, capsys):
    rows = [{"experiment": "digits", "method": "ridge", "fraction": 0.1, "seed": 0, "metric": "recognition_accuracy", "value": 0.8},
            {"experiment": "imagenet-features", "method": "ridge", "fraction": 0.1, "seed": 0, "metric": "recognition_accuracy", "value": 0.4}]
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "run.json").write_text(json.dumps({
        "digits": {"data": {"name": "digits", "split_seed": 0, "test_fraction": 0.3}},
        "imagenet-features": {"source": {"features": {"path": "f.npz"}, "classes": {"path": str(tmp_path / "gone.txt")}}}}))
    out = _report(tmp_path, capsys)
    assert "| *chance* | 0.100 |" in _section(out, "### digits: recognition_accuracy")
    unknown = _section(out, "### imagenet-features: recognition_accuracy")
    assert "chance unknown" in unknown and "*chance*" not in unknown
    # with the class-names file present, its lines are the classes
    (tmp_path / "gone.txt").write_text("cat\ndog\n\nbird\nfish\n")
    out = _report(tmp_path, capsys)
    assert "| *chance* | 0.250 |" in _section(out, "### imagenet-features: recognition_accuracy")


def test_each_table_is_headed_with_data_region_direction_and_protocol(tmp_path, capsys):
    out = _report(_majaj(tmp_path), capsys)
    for title in ("### majaj: category_accuracy", "### majaj: image_top1", "### majaj: bookkeeping"):
        section = _section(out, title)
        assert "data: MajajHong2015 slice25" in section and "region: V4" in section
        assert "direction: V4 trials -> random-cnn" in section
        assert "protocol: inductive (test fraction 0.2" in section
    out = _report(_majaj(tmp_path, protocol="transductive"), capsys)
    assert "protocol: transductive" in _section(out, "### majaj: image_top1")
    out = _report(_majaj(tmp_path, protocol=None), capsys)
    assert "protocol: not recorded" in _section(out, "### majaj: image_top1")


def test_without_run_json_the_report_says_what_it_does_not_know(tmp_path, capsys):
    out = _report(_majaj(tmp_path, run_json=False), capsys)
    assert "run.json does not record this experiment" in _section(out, "### majaj: category_accuracy")
    # the experiment alone names its data set (MajajHong2015: 8 categories in every variant), so that chance stays known
    assert "1/C = 1/8" in _section(out, "### majaj: category_accuracy")


def test_a_broken_run_json_is_a_clear_error(tmp_path, capsys):
    _majaj(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "run.json is not valid JSON" in err and "--fresh" in err


def test_a_negative_raw_r_is_flagged(tmp_path, capsys):
    out = _report(_majaj(tmp_path, raw_r=(-0.148, -0.02)), capsys)
    assert "WARNING: negative raw r" in out and "model-layer f=0.4 seed=0: r=-0.1480" in out
    assert "(raw r < 0 in 2 of 2 seeds!)" in _section(out, "### majaj: neural_predictivity (")
    out = _report(_majaj(tmp_path, raw_r=(-0.148, 0.3)), capsys)
    assert "(raw r < 0 in 1 of 2 seeds!)" in _section(out, "### majaj: neural_predictivity_raw (")
    out = _report(_majaj(tmp_path, raw_r=(0.148, 0.02)), capsys)
    assert "negative raw r" not in out and "raw r < 0" not in out


@pytest.mark.parametrize("experiment", ["majaj", "text-image", "imagenet-features"])
def test_run_help_lists_the_experiment_options(experiment, capsys):
    from neurobridge.experiments.registry import EXPERIMENTS

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    block = text.split(f"  {experiment}:\n")[1].split("\n  ")[0:len(EXPERIMENTS[experiment].options) + 1]
    for key in EXPERIMENTS[experiment].options:
        assert any(line.strip().startswith(f"{key}=") for line in block), f"{experiment} option {key} not in run --help"
    for key in ("protocol", "test_fraction", "data", "region", "source", "model", "layer", "model_seed"):
        assert f"    {key}=" in text


def test_majaj_protocol_and_test_fraction_are_accepted_options():
    from neurobridge.experiments.registry import check_options

    assert check_options("majaj", {"protocol": "transductive", "test_fraction": 0.3})
    with pytest.raises(ValueError, match="test_fraction must be a number in"):
        check_options("majaj", {"test_fraction": 1.5})
    with pytest.raises(ValueError, match="protocol must be one of"):
        check_options("majaj", {"protocol": "both"})
