"""Compute Brain-Score's own numbers for neurobridge's equivalence test and benchmark.

Runs INSIDE the separate Brain-Score environment (``scripts/make_brainscore_env.sh``; brainscore-vision pins old
numpy/xarray), with ``BS_INSTALL_DEPENDENCIES=no AWS_EC2_METADATA_DISABLED=true``. Reads neurobridge assemblies
(NetCDF, written by ``neurobridge.assemblies.write_netcdf``) from ``--input``, converts them with
``neurobridge.evaluate.brainscore.to_brainscore`` and runs:

- ``load_metric('pls', crossvalidation_kwargs=dict(stratification_coord=...))`` on ``model.nc`` (source) and
  ``neural.nc`` (target), or, with ``--n-components K``, Brain-Score's ``CrossRegressedCorrelation`` with
  ``pls_regression(dict(n_components=K))``; ``--regression ridge`` uses the registered ``ridge`` metric;
- ``load_ceiling('internal_consistency')`` on ``trials.nc`` when present;
- with ``--roundtrip``: ``from_brainscore(to_brainscore(a))`` on every input, recording any difference;
- with ``--via-brain-model``: the source comes from ``AlignedBrainModel(...).as_brainscore().look_at(stimulus_set)``
  (squeezed over its single time bin, as ``NeuralBenchmark`` does) instead of ``to_brainscore(model)``.

Writes ``--output`` (npz): ``raw``, ``error``, ``values`` (split x neuroid, in ``neuroid_id`` order of neural.nc),
``ceiling``, ``ceiling_error``, ``ceiling_values``, ``score`` (Brain-Score's ``explained_variance``, raw^2 / ceiling,
when both the metric and the ceiling ran), ``metric_seconds``, ``ceiling_seconds``, ``roundtrip_max_abs``,
``roundtrip_coords_equal``, ``peak_rss_mb`` (this process), versions.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

import numpy as np  # noqa: E402


def _parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, type=Path, help="folder with model.nc, neural.nc and optionally trials.nc")
    parser.add_argument("--output", required=True, type=Path, help="npz file to write")
    parser.add_argument("--stratify", default="object_name", help="stratification coord, or 'none'")
    parser.add_argument("--regression", default="pls", choices=("pls", "ridge"))
    parser.add_argument("--n-components", type=int, default=None, help="PLS components (default: the registered metric, 25)")
    parser.add_argument("--unique-split-values", action="store_true", help="split unique stimulus ids (trial-level data)")
    parser.add_argument("--roundtrip", action="store_true", help="check from_brainscore(to_brainscore(a)) == a")
    parser.add_argument("--skip-metric", action="store_true")
    parser.add_argument("--via-brain-model", action="store_true",
                        help="obtain the source from AlignedBrainModel(...).as_brainscore().look_at(stimulus_set)")
    return parser.parse_args(argv)


def _metric(args):
    from brainscore_vision import load_metric

    stratify = None if args.stratify.lower() == "none" else args.stratify
    cv_kwargs = dict(stratification_coord=stratify)
    if args.unique_split_values:
        cv_kwargs["unique_split_values"] = True
    if args.n_components is None and not args.unique_split_values:
        return load_metric(args.regression, crossvalidation_kwargs=cv_kwargs)
    from brainscore_vision.metrics.regression_correlation.metric import (
        CrossRegressedCorrelation,
        pearsonr_correlation,
        pls_regression,
        ridge_regression,
    )

    regression = ridge_regression() if args.regression == "ridge" else pls_regression(
        dict(n_components=args.n_components or 25))
    return CrossRegressedCorrelation(regression=regression, correlation=pearsonr_correlation(),
                                     crossvalidation_kwargs=cv_kwargs)


def _split_by_neuroid(raw, neuroid_ids):
    """Brain-Score's raw per-split values as an array (split x neuroid) in the order of ``neuroid_ids``."""
    raw = raw.transpose("split", "neuroid")
    position = {nid: i for i, nid in enumerate(raw["neuroid_id"].values.tolist())}
    order = [position[nid] for nid in neuroid_ids]
    splits = np.argsort(raw["split"].values)
    return np.asarray(raw.values)[splits][:, order]


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


def _source_via_brain_model(model):
    """The model assembly as a Brain-Score benchmark would receive it from :class:`AlignedBrainModel`."""
    import pandas as pd
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    from brainscore_vision.model_interface import BrainModel

    from neurobridge.evaluate.brainscore import AlignedBrainModel

    ids = model["stimulus_id"].values
    frame = {"stimulus_id": ids}
    if "object_name" in model.coords:
        frame["object_name"] = model["object_name"].values
    stimuli = StimulusSet(pd.DataFrame(frame))
    stimuli.identifier = "neurobridge-reference"
    stimuli.stimulus_paths = {sid: f"{sid}.png" for sid in ids}
    reversed_model = model.isel(presentation=slice(None, None, -1))
    brain_model = AlignedBrainModel("neurobridge-reference", lambda stimulus_set: reversed_model).as_brainscore()
    assert isinstance(brain_model, BrainModel)
    brain_model.start_task(BrainModel.Task.passive)
    brain_model.start_recording("IT", time_bins=[(70, 170)])
    source = brain_model.look_at(stimuli, number_of_trials=1)
    assert source.dims == ("presentation", "neuroid", "time_bin") and list(source["stimulus_id"].values) == list(ids)
    return source.squeeze("time_bin")


def _roundtrip(assembly, to_brainscore, from_brainscore):
    back = from_brainscore(to_brainscore(assembly))
    back = back.transpose(*assembly.dims)
    same_coords = set(back.coords) >= {k for k in assembly.coords if k not in assembly.dims}
    for key in assembly.coords:
        if key in assembly.dims:
            continue
        if key not in back.coords or not np.array_equal(np.asarray(back[key].values), np.asarray(assembly[key].values)):
            same_coords = False
    return float(np.nanmax(np.abs(np.asarray(back.values, dtype=float) - np.asarray(assembly.values, dtype=float)))), same_coords


def main(argv=None) -> int:
    args = _parse(argv)
    from neurobridge.evaluate.brainscore import from_brainscore, to_brainscore

    out = {}
    neural = _read(args.input / "neural.nc")
    model = _read(args.input / "model.nc")
    trials_path = args.input / "trials.nc"
    trials = _read(trials_path) if trials_path.exists() else None
    neuroid_ids = neural["neuroid_id"].values.tolist()

    if args.roundtrip:
        diffs, equal = [], True
        for assembly in (neural, model) + ((trials,) if trials is not None else ()):
            diff, same = _roundtrip(assembly, to_brainscore, from_brainscore)
            diffs.append(diff)
            equal &= same
        out["roundtrip_max_abs"] = max(diffs)
        out["roundtrip_coords_equal"] = bool(equal)

    if not args.skip_metric:
        metric = _metric(args)
        source = _source_via_brain_model(model) if args.via_brain_model else to_brainscore(model)
        target = to_brainscore(neural)
        start = time.perf_counter()
        score = metric(source, target)
        out["metric_seconds"] = time.perf_counter() - start
        out["raw"] = float(score.values)
        out["error"] = float(score.attrs["error"])
        out["values"] = _split_by_neuroid(score.attrs["raw"], neuroid_ids)

    if trials is not None:
        from brainscore_vision import load_ceiling

        ceiler = load_ceiling("internal_consistency")
        bs_trials = to_brainscore(trials)
        start = time.perf_counter()
        ceiling = ceiler(bs_trials)
        out["ceiling_seconds"] = time.perf_counter() - start
        out["ceiling"] = float(ceiling.values)
        out["ceiling_error"] = float(ceiling.attrs["error"])
        out["ceiling_values"] = _split_by_neuroid(ceiling.attrs["raw"], trials["neuroid_id"].values.tolist())
        if not args.skip_metric:
            from brainscore_vision.benchmark_helpers.neural_common import explained_variance

            out["score"] = float(explained_variance(score, ceiling).values)

    from importlib.metadata import version

    import sklearn
    import xarray

    out["versions"] = np.array([f"brainscore_vision={version('brainscore_vision')}",
                                f"sklearn={sklearn.__version__}", f"numpy={np.__version__}",
                                f"xarray={xarray.__version__}"])
    import resource

    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.output, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
