"""``neurobridge score MODEL_SPEC --benchmark NAME``: a features file or a module:function model, on the real slice."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from neurobridge import benchmarks
from neurobridge.assemblies import make_assembly, write_netcdf
from neurobridge.cli import build_parser, main

pytestmark = pytest.mark.realdata
BENCHMARK = "majajhong2015.slice25.IT-pls"

MODEL_FILE = textwrap.dedent(
    """
    import torch

    def build():
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 5, stride=2), torch.nn.ReLU(),
                                  torch.nn.Conv2d(6, 8, 5, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4))
        return net, ["1", "4"]

    def unnamed():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())

    def not_a_model():
        return "hello"
    """
)


@pytest.fixture(scope="module")
def benchmark(shared_data):
    shared_data("majajhong2015_slice25.nc")
    return benchmarks.load(BENCHMARK)


def test_help_lists_every_command():
    text = build_parser().format_help()
    for command in ("data", "run", "sweep", "report", "score"):
        assert command in text


def test_features_file(benchmark, tmp_path, capsys):
    pixels = benchmark.load_stimuli(size=24, mode="L")
    features = make_assembly(np.maximum(pixels.values @ np.random.default_rng(1).standard_normal((576, 64)), 0),
                             stimulus_id=pixels.stimulus_id.values)
    path = write_netcdf(features, tmp_path / "features.nc")
    out = tmp_path / "sub" / "score.json"
    assert main(["score", str(path), "--benchmark", BENCHMARK, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    expected = benchmark(features)
    saved = json.loads(out.read_text())
    assert saved["benchmark"] == BENCHMARK and set(saved["results"]) == {"features"}
    assert saved["results"]["features"]["raw"] == expected.raw and saved["results"]["features"]["score"] == expected.score
    assert f"{expected.score:.4f}" in printed and not list(out.parent.glob(".*part"))


def test_module_function_model_per_layer(benchmark, tmp_path, capsys):
    module = tmp_path / "tiny_model.py"
    module.write_text(MODEL_FILE)
    out = tmp_path / "score.json"
    assert main(["score", f"{module}:build", "--benchmark", BENCHMARK, "--size", "48", "--device", "cpu", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())["results"]
    assert set(saved) == {"1", "4"} and saved["1"]["raw"] != saved["4"]["raw"]
    import importlib.util

    import torch

    from neurobridge.activations import record_activations

    spec = importlib.util.spec_from_file_location("tiny_model_check", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    net, _ = loaded.build()
    torch.set_num_threads(1)
    acts = record_activations(net, benchmark.load_stimuli(size=48), ["4"], progress=False, device="cpu")
    assert saved["4"]["raw"] == pytest.approx(benchmark(acts).raw, abs=1e-12)
    assert main(["score", f"{module}:unnamed", "--benchmark", BENCHMARK, "--layers", "1", "--size", "32"]) == 0
    assert "1: BenchmarkResult" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, culprit",
    [
        (["score", "no-such-thing", "--benchmark", BENCHMARK], "MODEL_SPEC 'no-such-thing'"),
        (["score", "no_such_module_xyz:build", "--benchmark", BENCHMARK], "cannot import module 'no_such_module_xyz'"),
        (["score", "json:no_function_here", "--benchmark", BENCHMARK], "has no callable 'no_function_here'"),
        (["score", "missing_file.py:build", "--benchmark", BENCHMARK], "no Python file at missing_file.py"),
        (["score", "json:dumps", "--benchmark", "majajhong2015.nope"], "unknown benchmark 'majajhong2015.nope'"),
    ],
)
def test_bad_input_one_error_line(argv, culprit, capsys, benchmark):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and culprit in err


def test_model_without_layers_or_not_a_model(benchmark, tmp_path, capsys):
    module = tmp_path / "tiny_model2.py"
    module.write_text(MODEL_FILE)
    assert main(["score", f"{module}:unnamed", "--benchmark", BENCHMARK]) == 2
    assert "names no layers" in capsys.readouterr().err
    assert main(["score", f"{module}:not_a_model", "--benchmark", BENCHMARK]) == 2
    assert "must build a torch.nn.Module" in capsys.readouterr().err
    assert main(["score", f"{module}:build", "--benchmark", BENCHMARK, "--size", "0"]) == 2
    assert "--size" in capsys.readouterr().err
