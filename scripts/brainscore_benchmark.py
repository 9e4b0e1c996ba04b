"""Score a model with Brain-Score's own ``NeuralBenchmark`` on the real MajajHong2015 slice (run in the bs venv).

Runs INSIDE the separate Brain-Score environment (``scripts/make_brainscore_env.sh``; no torch there). Builds, from
the real 25-image slice (``majajhong2015_slice25.nc`` with ``images.csv`` and ``images/<id>.png``):

- the trial-level ``NeuroidAssembly`` of one region, in float64, with ``object_name`` and ``category_name``;
- a ``StimulusSet`` of the 25 real images (``stimulus_paths`` -> the PNG files);
- the repetition-averaged assembly with Brain-Score's own ``average_repetition``, and a
  ``brainscore_vision.benchmark_helpers.neural_common.NeuralBenchmark`` on it: metric
  ``CrossRegressedCorrelation(pls_regression(n_components=K) or ridge_regression(), pearsonr_correlation(),
  crossvalidation_kwargs=dict(stratification_coord=None))``, ceiling ``load_ceiling('internal_consistency')`` of
  the trials, ``visual_degrees=8``, Brain-Score's ``explained_variance`` (r^2 / ceiling);

then scores ``AlignedBrainModel(...).as_brainscore()`` with the benchmark's own call, ``benchmark(model)``. The model
replays activations computed elsewhere (``--activations``, a NetCDF assembly with ``stimulus_id``, written by
neurobridge in the main environment, where torch lives): its ``look_at(stimulus_set)`` returns, for each row of the
stimulus set Brain-Score hands it, the stored responses of that ``stimulus_id``.

Writes ``--output`` (npz): ``score``, ``raw``, ``ceiling``, ``error``, ``values`` (split x neuroid, in ``neuroid_id``
order of the slice's region), ``ceiling_values``, ``stimulus_ids`` (the stimulus set's order), ``look_at_calls``, ``timebins_workaround`` (True when the adapter
could not read Brain-Score's own time-bin form, a 0-d object array per bin, and was handed (start, end) tuples).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("RESULTCACHING_DISABLE", "1")

import numpy as np  # noqa: E402


def _parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", required=True, type=Path, help="majajhong2015_slice25.nc (images.csv and images/ beside it)")
    parser.add_argument("--activations", required=True, type=Path, help="model activations (NetCDF, presentation x neuroid, stimulus_id)")
    parser.add_argument("--output", required=True, type=Path, help="npz file to write")
    parser.add_argument("--region", default="IT", choices=("IT", "V4"))
    parser.add_argument("--regression", default="pls", choices=("pls", "ridge"))
    parser.add_argument("--n-components", type=int, default=20)
    return parser.parse_args(argv)


def _read(path):
    """``read_netcdf``, tolerating files whose ``coordinates`` attribute old xarray cannot decode."""
    import xarray as xr

    from neurobridge.assemblies import AssemblyError, read_netcdf, validate

    try:
        return read_netcdf(path)
    except AssemblyError:
        with xr.open_dataset(path) as ds:
            name = max(ds.data_vars, key=lambda v: ds[v].ndim)
            assembly = ds.set_coords([v for v in ds.data_vars if v != name])[name].load()
        return validate(assembly, name=str(path), allow_nan=True)


def stimulus_set(folder: Path):
    """The slice's 25 real images as a Brain-Score ``StimulusSet``."""
    import pandas as pd
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet

    table = pd.read_csv(folder / "images.csv")
    frame = pd.DataFrame({"stimulus_id": table["image_id"].values, "object_name": table["object_name"].values,
                          "category_name": table["category_name"].values})
    stimuli = StimulusSet(frame)
    stimuli.identifier = "neurobridge.majajhong2015_slice25"
    stimuli.stimulus_paths = {sid: folder / "images" / f"{sid}.png" for sid in frame["stimulus_id"]}
    missing = [str(p) for p in stimuli.stimulus_paths.values() if not p.is_file()]
    assert not missing, f"images missing: {missing[:3]}"
    return stimuli


def trials_assembly(path: Path, stimuli, region: str):
    """Trial-level recordings of ``region`` as Brain-Score's ``NeuroidAssembly`` (float64, stimulus_id first)."""
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

    from neurobridge.evaluate.brainscore import to_brainscore

    plain = _read(path)
    labels = stimuli.set_index("stimulus_id")
    ids = plain["stimulus_id"].values
    plain = plain.assign_coords(object_name=("presentation", labels.loc[ids, "object_name"].values),
                                category_name=("presentation", labels.loc[ids, "category_name"].values))
    plain = plain.drop_vars([c for c in ("image_id",) if c in plain.coords]).astype(np.float64)
    order = ["stimulus_id", "repetition", "object_name", "category_name"]
    coords = {k: (plain[k].dims, plain[k].values) for k in order}
    coords.update({k: (c.dims, c.values) for k, c in plain.coords.items() if k not in order and k not in plain.dims})
    import xarray as xr

    plain = xr.DataArray(plain.values, dims=plain.dims, coords=coords, name=plain.name, attrs=dict(plain.attrs))
    assembly = to_brainscore(plain.transpose("presentation", "neuroid", "time_bin"), cls="NeuroidAssembly")
    assert isinstance(assembly, NeuroidAssembly)
    assembly = assembly.squeeze("time_bin")
    assembly = assembly.sel(region=region)
    assembly["region"] = "neuroid", [region] * len(assembly["neuroid"])
    assembly = assembly.transpose("presentation", "neuroid")
    assembly.attrs["stimulus_set"] = stimuli
    return assembly


def build_benchmark(trials, stimuli, region: str, regression: str, n_components: int):
    """Brain-Score's ``NeuralBenchmark`` on the averaged slice, ceiling from the trials."""
    from brainscore_vision import load_ceiling
    from brainscore_vision.benchmark_helpers.neural_common import NeuralBenchmark, average_repetition
    from brainscore_vision.metrics.regression_correlation.metric import (
        CrossRegressedCorrelation,
        pearsonr_correlation,
        pls_regression,
        ridge_regression,
    )

    averaged = average_repetition(trials)
    averaged.attrs["stimulus_set"] = stimuli
    model_regression = pls_regression(dict(n_components=n_components)) if regression == "pls" else ridge_regression()
    metric = CrossRegressedCorrelation(regression=model_regression, correlation=pearsonr_correlation(),
                                       crossvalidation_kwargs=dict(stratification_coord=None))
    ceiler = load_ceiling("internal_consistency")
    benchmark = NeuralBenchmark(identifier=f"neurobridge.MajajHong2015slice25.{region}-{regression}", version=1,
                                assembly=averaged, similarity_metric=metric, visual_degrees=8, number_of_trials=1,
                                ceiling_func=lambda: ceiler(trials), parent=region, bibtex=None)
    return benchmark, averaged


def replaying_model(activations, calls: list):
    """``AlignedBrainModel(...).as_brainscore()`` that answers ``look_at`` from stored activations by stimulus_id."""
    from brainscore_vision.model_interface import BrainModel

    from neurobridge.evaluate.brainscore import AlignedBrainModel

    def replay(stimuli):
        calls.append(list(stimuli["stimulus_id"].values))
        return activations

    model = AlignedBrainModel("neurobridge-small-cnn", replay).as_brainscore()
    assert isinstance(model, BrainModel)
    model.start_task(BrainModel.Task.passive)
    return model


def _by_neuroid(raw, neuroid_ids):
    raw = raw.transpose("split", "neuroid")
    position = {nid: i for i, nid in enumerate(raw["neuroid_id"].values.tolist())}
    splits = np.argsort(raw["split"].values)
    return np.asarray(raw.values)[splits][:, [position[n] for n in neuroid_ids]]


def main(argv=None) -> int:
    args = _parse(argv)
    stimuli = stimulus_set(args.slice.parent)
    trials = trials_assembly(args.slice, stimuli, args.region)
    benchmark, averaged = build_benchmark(trials, stimuli, args.region, args.regression, args.n_components)
    calls: list = []
    model = replaying_model(_read(args.activations), calls)
    workaround = False
    try:
        model.start_recording(benchmark.region, time_bins=benchmark.timebins)
    except ValueError:
        # Brain-Score passes a squeezed assembly's time bins as [0-d object array holding (70, 170)];
        # an AlignedBrainModel that cannot read that form gets plain (start, end) tuples instead.
        benchmark.timebins = [tuple(int(v) for v in np.asarray(b, dtype=object).item()) for b in benchmark.timebins]
        workaround = True
    score = benchmark(model)
    raw = score.attrs["raw"]
    ceiling = score.attrs["ceiling"]
    neuroid_ids = list(trials["neuroid_id"].values)
    out = {
        "score": float(score.values),
        "raw": float(raw.values),
        "error": float(raw.attrs["error"]),
        "ceiling": float(ceiling.values),
        "ceiling_error": float(ceiling.attrs["error"]),
        "values": _by_neuroid(raw.attrs["raw"], neuroid_ids),
        "ceiling_values": _by_neuroid(ceiling.attrs["raw"], neuroid_ids),
        "neuroid_ids": np.array(neuroid_ids, dtype=str),
        "stimulus_ids": np.array(calls[0], dtype=str) if calls else np.array([], dtype=str),
        "averaged_order": np.array(averaged["stimulus_id"].values, dtype=str),
        "look_at_calls": len(calls),
        "benchmark": benchmark.identifier,
        "timebins_workaround": workaround,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.output, **out)
    print(f"{benchmark.identifier}: score {out['score']:.6f}, raw {out['raw']:.6f}, ceiling {out['ceiling']:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
