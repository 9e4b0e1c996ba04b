"""Brain-Score's own ``NeuralBenchmark`` scores ``AlignedBrainModel(...).as_brainscore()`` as neurobridge's benchmark.

Design. Brain-Score (brainscore_vision 2.4.2) pins numpy<2 and xarray<2022.6 and lives in its own environment
(``scripts/make_brainscore_env.sh``, ``NEUROBRIDGE_BS_VENV``), which has no torch. So the model runs here:

1. a small seeded CNN (two conv layers, defined below) sees the 25 real slice images through
   ``record_activations``; its pooled layer is written as a float64 NetCDF assembly keyed by ``stimulus_id``
   (float64 because Brain-Score's PLS computes in the input's precision, and float32 inputs alone move r by ~1e-7);
2. ``scripts/brainscore_benchmark.py`` runs in the Brain-Score environment: it builds, from the real slice file, a
   trial-level ``NeuroidAssembly`` and a ``StimulusSet`` of the 25 real images (their PNG paths), averages
   repetitions with Brain-Score's ``average_repetition``, and builds a ``NeuralBenchmark`` (metric
   ``CrossRegressedCorrelation`` with the slice benchmark's regression, unstratified 90/10 splits; ceiling
   ``load_ceiling('internal_consistency')`` of the trials; ``explained_variance``). The candidate is
   ``AlignedBrainModel(...).as_brainscore()`` whose activations callable replays the stored responses: Brain-Score
   calls ``start_recording`` and ``look_at(stimulus_set)`` itself, and the adapter reorders the stored responses
   to the stimulus set it was handed, by ``stimulus_id``. So Brain-Score's benchmark machinery (stimulus set,
   recording, averaging, splits, regression, correlation, ceiling, normalisation) is exercised for real; only the
   forward pass of the CNN happens in the other environment;
3. ``neurobridge.benchmarks.load("majajhong2015.slice25.<region>-<regression>")`` scores the same activations here.

Score, raw r, ceiling, error and every per-split per-site r must agree to 1e-10.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neurobridge import benchmarks
from neurobridge.assemblies import write_netcdf

pytestmark = [pytest.mark.brainscore, pytest.mark.realdata]

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
BS_ENV = {"BS_INSTALL_DEPENDENCIES": "no", "AWS_EC2_METADATA_DISABLED": "true", "RESULTCACHING_DISABLE": "1"}
TOL = 1e-10


@pytest.fixture(scope="module")
def bs_python() -> Path:
    """The Brain-Score environment's interpreter, built by scripts/make_brainscore_env.sh when missing."""
    venv = Path(os.environ.get("NEUROBRIDGE_BS_VENV", ROOT / ".venv-bs"))
    env = {**os.environ, **BS_ENV, "NEUROBRIDGE_BS_VENV": str(venv)}
    try:
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "make_brainscore_env.sh")], env=env,
                              capture_output=True, text=True, timeout=3600)
        failure = None if proc.returncode == 0 else f"exit {proc.returncode}: {(proc.stdout + proc.stderr)[-2000:]}"
    except (OSError, subprocess.TimeoutExpired) as error:
        failure = repr(error)
    if failure is not None:
        message = f"could not build the Brain-Score environment at {venv} with scripts/make_brainscore_env.sh ({failure})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return venv / "bin" / "python"


def _small_cnn():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 5, stride=2),
                               torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4))


@pytest.mark.parametrize("region, regression", [("IT", "pls"), ("V4", "ridge")])
def test_brainscore_neural_benchmark_agrees(bs_python, shared_data, tmp_path, region, regression):
    import torch

    from neurobridge.activations import record_activations

    slice_file = shared_data("majajhong2015_slice25.nc")
    benchmark = benchmarks.load(f"majajhong2015.slice25.{region}-{regression}")
    torch.set_num_threads(1)
    activations = record_activations(_small_cnn(), benchmark.load_stimuli(size=64, mode="RGB"), ["4"], device="cpu", progress=False)
    activations = activations.astype(np.float64)
    write_netcdf(activations, tmp_path / "activations.nc")

    out = tmp_path / "brainscore.npz"
    cmd = [str(bs_python), str(ROOT / "scripts" / "brainscore_benchmark.py"), "--slice", str(slice_file),
           "--activations", str(tmp_path / "activations.nc"), "--output", str(out), "--region", region,
           "--regression", regression, "--n-components", str(benchmark.n_components)]
    proc = subprocess.run(cmd, env={**os.environ, **BS_ENV}, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"brainscore_benchmark.py failed:\n{proc.stderr[-4000:]}"
    with np.load(out) as data:
        ref = {key: data[key] for key in data.files}

    ours = benchmark(activations)
    print(f"{benchmark.identifier}: score {ours.score:.6f} vs Brain-Score {float(ref['score']):.6f}; raw {ours.raw:.6f} vs "
          f"{float(ref['raw']):.6f}; ceiling {ours.ceiling:.6f} vs {float(ref['ceiling']):.6f}; per-split per-site max |diff| "
          f"{np.nanmax(np.abs(ours.values.values - ref['values'])):.1e}; time-bin workaround: {bool(ref['timebins_workaround'])}")
    assert not bool(ref["timebins_workaround"]), "AlignedBrainModel refused Brain-Score's own time-bin format"
    assert int(ref["look_at_calls"]) == 1 and sorted(ref["stimulus_ids"].tolist()) == sorted(benchmark.stimulus_ids.tolist())
    assert list(ours.values.neuroid_id.values) == ref["neuroid_ids"].tolist()
    for key in ("score", "raw", "ceiling", "error"):
        assert abs(getattr(ours, key) - float(ref[key])) < TOL, (key, getattr(ours, key), float(ref[key]))
    assert np.array_equal(np.isnan(ours.values.values), np.isnan(ref["values"]))
    assert np.nanmax(np.abs(ours.values.values - ref["values"])) < TOL
    assert np.nanmax(np.abs(benchmark.ceiling.values.values - ref["ceiling_values"])) < TOL
    assert abs(benchmark.ceiling.error - float(ref["ceiling_error"])) < TOL
    assert ours.score == pytest.approx(ours.raw**2 / ours.ceiling, rel=1e-12)
