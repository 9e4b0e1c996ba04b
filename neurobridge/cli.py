"""The ``neurobridge`` command line.

    neurobridge data list                 the manifests' files and where each is found
    neurobridge data fetch NAME           resolve (and download if missing) a data set or one file: NAME or NAME/KEY
    neurobridge data verify [NAME ...]    checksum every file present locally
    neurobridge run EXPERIMENT [...]      run an experiment (digits, mnist, text-image, imagenet-features, majaj)
    neurobridge sweep CONFIG              run several experiments from a JSON config file
    neurobridge score MODEL_SPEC --benchmark NAME
                                          score a features file or a module:function model on a benchmark
"""
from __future__ import annotations

import argparse
import sys

from neurobridge.datasets.download import find_local, resolve, verify_file
from neurobridge.datasets.manifests import DataError, get_manifest, list_manifests

__all__ = ["main", "build_parser"]


def _data_list(args) -> int:
    for name, manifest in sorted(list_manifests().items()):
        print(f"{name}: {manifest.description}")
        for entry in manifest.files:
            local = find_local(entry)
            print(f"  {entry.key:<22} {entry.filename:<42} {'found: ' + str(local) if local else 'missing'}")
    return 0


def _entries(names):
    manifests = list_manifests()
    if not names:
        return [e for m in manifests.values() for e in m.files]
    out = []
    for name in names:
        dataset, _, key = name.partition("/")
        manifest = get_manifest(dataset)
        out.extend([manifest.file(key)] if key else manifest.files)
    return out


def _data_fetch(args) -> int:
    failed = 0
    for entry in _entries([args.name]):
        try:
            path = resolve(entry.dataset, entry.key, download=not args.offline, progress=not args.quiet)
            print(f"ok        {entry.name}: {path}")
        except DataError as err:
            failed += 1
            print(f"FAILED    {entry.name}: {err}", file=sys.stderr)
    return 1 if failed else 0


def _data_verify(args) -> int:
    counts = {"verified": 0, "missing": 0, "MISMATCH": 0}
    for entry in _entries(args.names):
        local = find_local(entry)
        if local is None:
            status, detail = "missing", ""
        else:
            try:
                verify_file(entry, local)
                status, detail = "verified", str(local)
            except DataError as err:
                status, detail = "MISMATCH", str(err)
        counts[status] += 1
        if status != "missing" or args.all:
            print(f"{status:<9} {entry.name:<48} {detail}")
    print(f"{counts['verified']} verified, {counts['missing']} missing, {counts['MISMATCH']} failed the checksum")
    if counts["MISMATCH"] or (args.strict and counts["missing"]):
        return 1
    return 0


def _load_model_spec(spec: str):
    """``module:function`` or ``path/to/file.py:function`` -> (model, layers or None, preprocess or None)."""
    import importlib
    import importlib.util
    from pathlib import Path

    module_name, sep, function_name = spec.rpartition(":")
    if not sep or not module_name or not function_name:
        raise ValueError(
            f"MODEL_SPEC {spec!r} is neither an existing features file (.nc, .npy, .npz) nor 'module:function' "
            "(or 'path/to/file.py:function')"
        )
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"MODEL_SPEC {spec!r}: no Python file at {path}")
        loader_spec = importlib.util.spec_from_file_location(f"_neurobridge_model_{path.stem}", path)
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"MODEL_SPEC {spec!r}: cannot import module {module_name!r} ({error})") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"MODEL_SPEC {spec!r}: module {module_name!r} has no callable {function_name!r}")
    built = function()
    if isinstance(built, dict):
        return built.get("model"), built.get("layers"), built.get("preprocess")
    if isinstance(built, tuple) and 2 <= len(built) <= 3:
        return built[0], built[1], built[2] if len(built) == 3 else None
    return built, None, None


def _score_candidates(args, benchmark) -> dict:
    """Activations per layer (or one features assembly) for ``neurobridge score``."""
    from pathlib import Path

    spec = args.model_spec
    if Path(spec).is_file():
        from neurobridge.datasets.features import load_features

        return {"features": load_features(spec)}
    import torch

    from neurobridge.activations import record_activations

    model, layers, preprocess = _load_model_spec(spec)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(
            f"MODEL_SPEC {spec!r} must build a torch.nn.Module, or return (model, layers[, preprocess]) or a dict with "
            f"'model' and 'layers'; it returned {type(model).__name__}"
        )
    if args.layers:
        layers = [name for name in args.layers.replace(",", " ").split() if name]
    if not layers:
        raise ValueError(f"MODEL_SPEC {spec!r} names no layers; return (model, layers) from it or pass --layers a,b")
    if isinstance(layers, str):
        layers = [layers]
    stimuli = benchmark.load_stimuli(size=args.size, mode=args.mode)
    activations = record_activations(model, stimuli, list(layers), preprocess=preprocess, device=args.device, progress=False)
    return {"model": activations}


def _score(args) -> int:
    import json

    from neurobridge import benchmarks
    from neurobridge._io import atomic_write
    from neurobridge.benchmarks.neural import LayerScores, format_table

    benchmark = benchmarks.load(args.benchmark)
    if args.size < 1:
        raise ValueError(f"--size must be a positive number of pixels; got {args.size}")
    from neurobridge.benchmarks.neural import _layers

    results, selection = {}, None
    for name, assembly in _score_candidates(args, benchmark).items():
        layers = _layers(assembly)
        if len(layers) > 1:
            results.update(benchmark.score_layers(assembly))
            selection = benchmark.select_layer(assembly, seed=args.seed)
        else:
            results[layers[0] if layers else name] = benchmark(assembly)
    print(repr(benchmark))
    for name, result in results.items():
        print(f"{name}: {result!r}")
    if len(results) > 1:
        print("\nper layer (each scored alone on all stimuli; raw r is signed, score = r^2/ceiling hides the sign):")
        print(format_table(LayerScores(benchmark.identifier, results).table()))
    if selection is not None:
        print(f"\nselected layer: {selection.selected!r} (chosen by signed raw r on {len(selection.selection_stimuli)} "
              f"stimuli, best on {selection.split_wins[selection.selected]:.0%} of their splits; reported on the other "
              f"{len(selection.report_stimuli)}: raw r={selection.result.raw:+.4f}, per-split sd "
              f"{selection.result.spread['sd']:.4f}, score={selection.result.score:.4f} [r^2/ceiling])")
    negative = [name for name, r in results.items() if "negative_r" in r.flags]
    if negative:
        print(f"\nWARNING: negative raw r for {', '.join(negative)}: the predictions anticorrelate with the responses; the "
              "r^2/ceiling score drops the sign, so do not rank by score alone")
    small = [name for name, r in results.items() if "small_test_split" in r.flags]
    if small:
        print(f"\nWARNING: test splits of fewer than {benchmark.min_test_stimuli} stimuli: the per-split r is very noisy; see "
              "the per-split spread above")
    if args.out is not None:
        payload = {"benchmark": benchmark.identifier, "model_spec": args.model_spec,
                   "results": {name: result.to_dict() for name, result in results.items()}}
        if selection is not None:
            payload["selected_layer"] = {"layer": selection.selected, "split_wins": selection.split_wins,
                                         "seed": selection.seed, "report": selection.result.to_dict()}

        def write(tmp: str) -> None:
            with open(tmp, "w") as handle:
                json.dump(payload, handle, indent=1)

        atomic_write(args.out, write)
        print(f"wrote {args.out}")
    return 0


def _add_score_command(sub) -> None:
    from pathlib import Path

    score = sub.add_parser("score", help="score a model on a benchmark (e.g. majajhong2015.IT-pls), as Brain-Score does")
    score.add_argument("model_spec", metavar="MODEL_SPEC",
                       help="a features file (.nc/.npy/.npz with stimulus_id) or module:function (or file.py:function) "
                            "returning a torch model and its layer names: model, (model, layers) or (model, layers, preprocess)")
    score.add_argument("--benchmark", required=True, help="benchmark name; see neurobridge.benchmarks.available()")
    score.add_argument("--layers", default=None, help="layers to record, comma-separated (overrides the function's)")
    score.add_argument("--size", type=int, default=64, help="image side in pixels fed to the model (default 64)")
    score.add_argument("--mode", choices=("RGB", "L"), default="RGB", help="image channels (default RGB)")
    score.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    score.add_argument("--seed", type=int, default=0,
                       help="seed of the stimulus split for layer selection (with several layers; default 0)")
    score.add_argument("--out", type=Path, default=None, help="write the result as JSON (atomically)")
    score.set_defaults(func=_score)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurobridge", description="Align representation spaces of models and brains through a few labelled bridges.")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="list, fetch and verify data files").add_subparsers(dest="data_command", required=True)
    data.add_parser("list", help="every manifest file and where it is found").set_defaults(func=_data_list)
    fetch = data.add_parser("fetch", help="resolve or download a data set (NAME) or one file (NAME/KEY)")
    fetch.add_argument("name")
    fetch.add_argument("--offline", action="store_true", help="never download; only look in the search path and caches")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_data_fetch)
    verify = data.add_parser("verify", help="checksum every file present locally")
    verify.add_argument("names", nargs="*", help="data sets (NAME) or files (NAME/KEY); default: all")
    verify.add_argument("--all", action="store_true", help="also list missing files")
    verify.add_argument("--strict", action="store_true", help="exit 1 when a file is missing")
    verify.set_defaults(func=_data_verify)
    from neurobridge.experiments.cli import add_experiment_commands

    add_experiment_commands(sub)
    _add_score_command(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line; a user error prints one ``error:`` line and exits 2 (``NEUROBRIDGE_DEBUG=1`` re-raises)."""
    import os

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ValueError, KeyError, FileNotFoundError) as err:
        if os.environ.get("NEUROBRIDGE_DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
