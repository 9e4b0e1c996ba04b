"""Bad input to ``neurobridge run / sweep / report``: each case gets one clear error that names the culprit.

Argument-parsing errors exit with status 2 and name the option; errors found after parsing raise ValueError (exit
status 2 and one ``error:`` line from the command line; ``NEUROBRIDGE_DEBUG=1`` re-raises it, which these tests use
to assert the exception type). Nothing here runs a unit: every check happens before the first one.
"""
import json

import pytest

from neurobridge.cli import main
from neurobridge.experiments.config import RunConfig


def parse_error(argv, capsys, *needles):
    """argparse rejects ``argv``: SystemExit(2), and stderr names each needle."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, err
    return err


def value_error(argv, monkeypatch, capsys, *needles):
    """``argv`` raises ValueError naming each needle, and without debug mode prints one ``error:`` line, exit 2."""
    monkeypatch.setenv("NEUROBRIDGE_DEBUG", "1")
    with pytest.raises(ValueError) as info:
        main(argv)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    monkeypatch.delenv("NEUROBRIDGE_DEBUG")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return str(info.value)


def run_args(tmp_path, *extra):
    return ["run", "digits", "--out", str(tmp_path / "out"), "--no-progress", *extra]


@pytest.mark.parametrize("option, value, needles", [
    ("--fractions", "", ("--fractions", "empty")),
    ("--fractions", " , ", ("--fractions", "empty")),
    ("--seeds", "", ("--seeds", "empty")),
    ("--methods", "", ("--methods", "empty")),
    ("--fractions", "abc", ("--fractions", "'abc' is not a number")),
    ("--fractions", "0,1.5", ("--fractions", "0 is outside (0, 1]")),
    ("--fractions", "nan", ("--fractions", "outside (0, 1]")),
    ("--seeds", "1.5", ("--seeds", "'1.5' is not an integer")),
    ("--seeds", "0,-1", ("--seeds", "-1 is negative")),
    ("--seeds", "true", ("--seeds", "'true' is not an integer")),
    ("--jobs", "-2", ("--jobs", "negative")),
    ("--jobs", "two", ("--jobs", "'two' is not an integer")),
])
def test_run_arguments_that_cannot_be_parsed(tmp_path, capsys, option, value, needles):
    parse_error(run_args(tmp_path, option, value), capsys, *needles)
    assert not (tmp_path / "out").exists()


def test_empty_fractions_never_fall_back_to_the_defaults(tmp_path, capsys):
    err = parse_error(run_args(tmp_path, "--fractions", "", "--methods", "ridge"), capsys, "--fractions")
    assert "is empty" in err


def test_out_that_is_a_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "out"
    target.write_text("not a folder")
    value_error(run_args(tmp_path, "--methods", "ridge"), monkeypatch, capsys, str(target), "is a file")
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("pair, needles", [
    ("split_seed", ("KEY=VALUE", "'split_seed'")),
    ("=3", ("KEY=VALUE", "'=3'")),
    ("split_seed=", ("split_seed", "no value")),
    ("split_seed=abc", ("split_seed", "non-negative integer", "'abc'")),
    ("split_seed=1.5", ("split_seed", "non-negative integer", "1.5")),
    ("split_seed=true", ("split_seed", "non-negative integer", "True")),
    ("split_seed=-1", ("split_seed", "non-negative integer", "-1")),
    ("model_seed=[1]", ("model_seed", "non-negative integer")),
    ("threads=\"2\"", ("threads", "non-negative integer", "'2'")),
    ("nosuch=1", ("unknown option 'nosuch'", "split_seed")),
    ("jobs=2", ("--jobs N",)),
])
def test_malformed_options(tmp_path, monkeypatch, capsys, pair, needles):
    value_error(run_args(tmp_path, "--methods", "ridge", "--option", pair), monkeypatch, capsys, *needles)


def test_device_that_is_no_device(tmp_path, monkeypatch, capsys):
    value_error(run_args(tmp_path, "--methods", "ridge", "--device", "bogus"), monkeypatch, capsys, "--device 'bogus'", "cpu")
    assert not (tmp_path / "out").exists()


def test_option_given_twice(tmp_path, monkeypatch, capsys):
    value_error(run_args(tmp_path, "--methods", "ridge", "--option", "split_seed=1", "--option", "split_seed=2"),
                monkeypatch, capsys, "split_seed", "twice")


def test_option_choices_of_another_experiment(tmp_path, monkeypatch, capsys):
    value_error(["run", "majaj", "--out", str(tmp_path), "--option", "region=V9"], monkeypatch, capsys, "region", "IT, V4", "'V9'")
    value_error(["run", "text-image", "--out", str(tmp_path), "--option", "source=cifar"], monkeypatch, capsys, "source", "digits, mnist")


def test_unknown_method_lists_the_valid_ones_in_every_experiment(tmp_path, monkeypatch, capsys):
    from neurobridge.experiments.registry import EXPERIMENTS

    for name in EXPERIMENTS:
        message = value_error(["run", name, "--out", str(tmp_path), "--methods", "bridge-ot,fused"], monkeypatch, capsys,
                              "'fused'", name, "valid methods:", "bridge-ot", "supervised-flow")
        assert "'bridge-ot'" not in message


def test_experiment_tables_hold_only_known_methods():
    from neurobridge.experiments.methods import method_kind
    from neurobridge.experiments.registry import EXPERIMENTS

    for spec in EXPERIMENTS.values():
        for method in spec.methods + tuple(spec.defaults["methods"]) + tuple(spec.quick_defaults["methods"]):
            method_kind(method)
            assert method in spec.valid_methods()


# --- report ---------------------------------------------------------------------------------------------------------

def test_report_without_results(tmp_path, monkeypatch, capsys):
    value_error(["report", str(tmp_path)], monkeypatch, capsys, "no results.csv", str(tmp_path))


@pytest.mark.parametrize("content, needles", [
    ("", ("not a readable CSV", "EmptyDataError")),
    ("a,b\n1,2\n", ("missing columns", "'experiment'", "'value'")),
    ("experiment,method,fraction,seed,metric,value\ndigits,ridge,0.1,0,acc,high\n", ("column 'value'", "row 2", "'high'")),
    ("experiment,method,fraction,seed,metric,value\ndigits,ridge,ten,0,acc,0.5\n", ("column 'fraction'", "'ten'")),
    ('experiment,method\n"unterminated,x\n', ("not a readable CSV",)),
])
def test_bad_report_csv(tmp_path, monkeypatch, capsys, content, needles):
    path = tmp_path / "results.csv"
    path.write_text(content)
    value_error(["report", str(path)], monkeypatch, capsys, str(path), *needles)


def test_binary_report_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "results.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 50)
    value_error(["report", str(path)], monkeypatch, capsys, str(path), "not a readable CSV")


def test_report_metric_not_in_the_table(tmp_path, monkeypatch, capsys):
    path = tmp_path / "results.csv"
    path.write_text("experiment,method,fraction,seed,metric,value\ndigits,ridge,0.1,0,recognition_accuracy,0.5\n")
    value_error(["report", str(path), "--metrics", "recognition_acc"], monkeypatch, capsys, "recognition_acc", "recognition_accuracy")


def test_report_shows_a_nan_cell_as_nan(tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_text("experiment,method,fraction,seed,metric,value\ndigits,ridge,0.1,0,recognition_accuracy,nan\n"
                    "digits,pls,0.1,0,recognition_accuracy,0.5\n")
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| ridge | nan |" in out and "| pls | 0.500 |" in out


# --- sweep ----------------------------------------------------------------------------------------------------------

def sweep_file(tmp_path, content):
    path = tmp_path / "sweep.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize("run, needles", [
    ({"experiment": "digits", "fractions": "0.1"}, ("runs[0].fractions", "must be a list", "'0.1'")),
    ({"experiment": "digits", "seeds": 0}, ("runs[0].seeds", "must be a list", "0")),
    ({"experiment": "digits", "methods": "ridge"}, ("runs[0].methods", "must be a list", "'ridge'")),
    ({"experiment": "digits", "fractions": []}, ("runs[0]", "fractions is empty")),
    ({"experiment": "digits", "seeds": []}, ("runs[0]", "seeds is empty")),
    ({"experiment": "digits", "fractions": ["0.1"]}, ("runs[0]", "fractions must be numbers", "'0.1'")),
    ({"experiment": "digits", "fractions": [True]}, ("runs[0]", "fractions must be numbers", "True")),
    ({"experiment": "digits", "fractions": [2]}, ("runs[0]", "fractions must lie in (0, 1]", "2")),
    ({"experiment": "digits", "seeds": [True]}, ("runs[0]", "seeds must be non-negative integers", "True")),
    ({"experiment": "digits", "seeds": [-1]}, ("runs[0]", "negative seed")),
    ({"experiment": "digits", "seeds": [0.5]}, ("runs[0]", "seeds must be non-negative integers", "0.5")),
    ({"experiment": "digits", "methods": ["nope"]}, ("runs[0]", "unknown method 'nope'", "valid methods")),
    ({"experiment": "digits", "methods": [3]}, ("runs[0]", "method names")),
    ({"experiment": "digits", "quick": "yes"}, ("runs[0].quick", "must be a bool", "'yes'")),
    ({"experiment": "digits", "quick": 1}, ("runs[0].quick", "must be a bool")),
    ({"experiment": "digits", "progress": "no"}, ("runs[0].progress", "must be a bool")),
    ({"experiment": "digits", "options": ["split_seed", 1]}, ("runs[0].options", "must be a dict")),
    ({"experiment": "digits", "options": {"split_seed": "1"}}, ("runs[0]", "split_seed", "non-negative integer", "'1'")),
    ({"experiment": "digits", "options": {"split_seed": False}}, ("runs[0]", "split_seed", "False")),
    ({"experiment": "digits", "fraction": [0.1]}, ("runs[0]", "unknown keys ['fraction']")),
    ({"experiment": "nope"}, ("runs[0].experiment", "must be one of", "'nope'")),
    ({"experiment": 3}, ("runs[0].experiment", "must be a str")),
    ({}, ("runs[0].experiment", "must be one of", "None")),
])
def test_sweep_file_with_wrong_types(tmp_path, monkeypatch, capsys, run, needles):
    path = sweep_file(tmp_path, {"out": str(tmp_path / "out"), "runs": [run]})
    value_error(["sweep", str(path)], monkeypatch, capsys, str(path), *needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, needles", [
    ("{not json", ("cannot read",)),
    ([1, 2], ("JSON object", "list")),
    ({"runs": "digits"}, ("non-empty list 'runs'", "'digits'")),
    ({"runs": []}, ("non-empty list 'runs'",)),
    ({"runs": ["digits"]}, ("runs[0] must be an object", "'digits'")),
    ({"out": 5, "runs": [{"experiment": "digits"}]}, ("'out' must be a folder name", "5")),
])
def test_malformed_sweep_files(tmp_path, monkeypatch, capsys, content, needles):
    path = sweep_file(tmp_path, content)
    value_error(["sweep", str(path)], monkeypatch, capsys, str(path), *needles)


def test_sweep_checks_every_run_before_the_first_starts(tmp_path, monkeypatch, capsys):
    path = sweep_file(tmp_path, {"out": str(tmp_path / "out"), "runs": [
        {"experiment": "digits", "fractions": [0.2], "seeds": [0], "methods": ["e2e-logreg"], "quick": True},
        {"experiment": "digits", "seeds": "0"},
    ]})
    value_error(["sweep", str(path)], monkeypatch, capsys, "runs[1].seeds")
    assert not (tmp_path / "out").exists()


def test_missing_sweep_file(tmp_path, monkeypatch, capsys):
    value_error(["sweep", str(tmp_path / "none.json")], monkeypatch, capsys, "none.json", "cannot read")


# --- RunConfig (the notebook / Python entry) --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, needles", [
    ({"fractions": ("0.1",)}, ValueError, ("fractions must be numbers", "'0.1'")),
    ({"fractions": 0.1}, ValueError, ("fractions must be a list", "0.1")),
    ({"fractions": ()}, ValueError, ("fractions is empty",)),
    ({"seeds": (True,)}, ValueError, ("seeds must be non-negative integers", "True")),
    ({"seeds": (-3,)}, ValueError, ("negative seed", "-3")),
    ({"seeds": "012"}, ValueError, ("seeds must be a list", "'012'")),
    ({"methods": ()}, ValueError, ("methods is empty",)),
    ({"methods": "ridge"}, ValueError, ("methods must be a list", "'ridge'")),
    ({"options": ["jobs", 1]}, ValueError, ("options must be a mapping",)),
])
def test_run_config_rejects_bad_values(tmp_path, kwargs, exc, needles):
    values = {"experiment": "digits", "fractions": (0.1,), "seeds": (0,), "methods": ("ridge",), "out": tmp_path, **kwargs}
    with pytest.raises(exc) as info:
        RunConfig(**values)
    for needle in needles:
        assert needle in str(info.value)
