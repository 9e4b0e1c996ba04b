"""``neurobridge run`` and ``neurobridge sweep``."""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from neurobridge.experiments.config import RunConfig

__all__ = ["add_experiment_commands", "run_experiment_from_args"]


def _split(text: str, what: str) -> list[str]:
    values = text.replace(",", " ").split()
    if not values:
        raise argparse.ArgumentTypeError(f"is empty; give {what}")
    return values


def _floats(text: str) -> tuple[float, ...]:
    out = []
    for v in _split(text, "labelled fractions in (0, 1], e.g. 0.01,0.05"):
        try:
            f = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{v!r} is not a number; give labelled fractions in (0, 1], e.g. 0.01,0.05") from None
        if not 0 < f <= 1:
            raise argparse.ArgumentTypeError(f"{v} is outside (0, 1]; give labelled fractions in (0, 1], e.g. 0.01,0.05")
        out.append(f)
    return tuple(out)


def _ints(text: str) -> tuple[int, ...]:
    out = []
    for v in _split(text, "non-negative integer seeds, e.g. 0,1,2"):
        try:
            n = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{v!r} is not an integer; give non-negative integer seeds, e.g. 0,1,2") from None
        if n < 0:
            raise argparse.ArgumentTypeError(f"{v} is negative; give non-negative integer seeds, e.g. 0,1,2")
        out.append(n)
    return tuple(out)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_split(text, "method names, e.g. bridge-ot,ridge"))


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give 0 (one per CPU core) or a positive count") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 (one per CPU core) or a positive count")
    return n


def _options(pairs) -> dict:
    """``KEY=VALUE`` pairs; a value is read as JSON (numbers, true/false) and otherwise kept as a string."""
    options = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE (e.g. --option split_seed=1); got {pair!r}")
        if not value.strip():
            raise ValueError(f"--option {key} has no value; write --option {key}=VALUE")
        if key in options:
            raise ValueError(f"--option {key} is given twice")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


_SCHEDULER_HELP = ("run the units as tasks on Dask distributed (extra 'distributed'): 'local' starts a LocalCluster "
                   "on this machine, tcp://HOST:PORT connects to a running scheduler (e.g. one dask-jobqueue starts on "
                   "SLURM); default: this machine's process pool")


def add_experiment_commands(sub) -> None:
    from neurobridge.experiments.registry import EXPERIMENTS, options_help

    run = sub.add_parser("run", help="run an experiment and write results.csv, results.nc and plots to --out",
                         epilog=options_help() + "\n\nexample: neurobridge run majaj --option data=slice25 --option "
                         "region=V4 --option protocol=inductive --option test_fraction=0.2",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("experiment", choices=sorted(EXPERIMENTS))
    run.add_argument("--fractions", type=_floats, help="labelled fractions, e.g. '0.01,0.05,0.1'")
    run.add_argument("--seeds", type=_ints, help="seeds, e.g. '0,1,2'")
    run.add_argument("--methods", type=_words, help="methods to run, or 'all' for every listed method (default: the "
                     "experiment's headline set)")
    run.add_argument("--quick", action="store_true", help="small settings for CI and smoke tests")
    run.add_argument("--out", type=Path, default=None, help="output folder (default: results/<experiment>)")
    run.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    run.add_argument("--jobs", type=_count, default=0, help="worker processes (default 0 = one per CPU core, up to 4, on a CPU; 1 on a GPU)")
    run.add_argument("--fresh", action="store_true", help="ignore finished units from an earlier run in --out")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--option", action="append", metavar="KEY=VALUE", help="experiment-specific option (repeatable); the options of each experiment are listed below")
    run.add_argument("--scheduler", default=None, metavar="local|ADDRESS", help=_SCHEDULER_HELP + "; with 'local', --jobs "
                     "sets the number of Dask workers")
    run.set_defaults(func=run_experiment_from_args)
    report = sub.add_parser("report", help="Markdown tables and the method's targets (met / missed) from a results.csv")
    report.add_argument("results", type=Path, help="a results.csv, or the --out folder that holds one")
    report.add_argument("--metrics", type=_words, default=None, help="metrics to tabulate (default: all)")
    report.set_defaults(func=_report)
    sweep = sub.add_parser("sweep", help="run several experiments from a JSON config file")
    sweep.add_argument("config", type=Path)
    sweep.add_argument("--out", type=Path, default=None, help="output folder (default: the config's 'out' or results/sweep)")
    sweep.add_argument("--scheduler", default=None, metavar="local|ADDRESS", help=_SCHEDULER_HELP)
    sweep.set_defaults(func=_sweep)


@contextmanager
def _runner(scheduler, workers=None):
    """No runner (this machine's process pool) without ``--scheduler``; otherwise the Dask driver on its client."""
    if scheduler is None:
        yield None
        return
    from functools import partial

    from neurobridge.experiments.dask_driver import dask_client, run_with_dask

    with dask_client(scheduler, workers=workers) as client:
        yield partial(run_with_dask, client=client)


def run_experiment_from_args(args) -> int:
    from neurobridge.experiments.driver import UnitsFailed, run_experiment

    options = _options(args.option)
    if "jobs" in options:
        raise ValueError("give the number of worker processes as --jobs N, not --option jobs=N")
    config = _make_config(args.experiment, args.fractions, args.seeds, args.methods, args.quick, args.out, args.device,
                          not args.no_progress, not args.fresh, {"jobs": args.jobs, **options})
    scheduler = getattr(args, "scheduler", None)
    try:
        with _runner(scheduler, workers=args.jobs or None) as runner:
            run_experiment(config, echo=True, runner=runner)
    except UnitsFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _make_config(name, fractions, seeds, methods, quick, out, device, progress, resume, options) -> RunConfig:
    from neurobridge.experiments.methods import check_methods
    from neurobridge.experiments.registry import EXPERIMENTS, check_options

    spec = EXPERIMENTS[name]
    defaults = spec.quick_defaults if quick else spec.defaults
    if methods is not None and tuple(methods) == ("all",):
        methods = spec.methods
    methods = check_methods(defaults["methods"] if methods is None else methods, spec.valid_methods(), name)
    return RunConfig(
        experiment=name,
        fractions=tuple(defaults["fractions"]) if fractions is None else fractions,
        seeds=tuple(defaults["seeds"]) if seeds is None else seeds,
        methods=methods,
        out=Path("results") / name if out is None else Path(out),
        quick=quick,
        device=device,
        progress=progress,
        resume=resume,
        options=check_options(name, options),
    )


_SWEEP_KEYS = {"experiment": str, "fractions": list, "seeds": list, "methods": list, "quick": bool, "device": str,
               "progress": bool, "options": dict}


def _sweep(args) -> int:
    """Config: ``{"out": "results/sweep", "runs": [{"experiment": "digits", "fractions": [...], "seeds": [...],
    "methods": [...], "quick": false, "options": {...}}, ...]}``. Every run is checked before the first starts."""
    from neurobridge.experiments.driver import UnitsFailed, run_experiment
    from neurobridge.experiments.registry import EXPERIMENTS

    path = Path(args.config)
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"sweep: cannot read {path}: {err}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"sweep: {path} must hold a JSON object with a list 'runs'; got {type(spec).__name__}")
    runs = spec.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ValueError(f"sweep: {path} needs a non-empty list 'runs'; got {runs!r}")
    out = args.out or spec.get("out", "results/sweep")
    if not isinstance(out, (str, Path)) or not str(out):
        raise ValueError(f"sweep: {path}: 'out' must be a folder name; got {out!r}")
    configs = []
    for i, run in enumerate(runs):
        where = f"sweep: {path} runs[{i}]"
        if not isinstance(run, dict):
            raise ValueError(f"{where} must be an object; got {run!r}")
        unknown = sorted(set(run) - set(_SWEEP_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; valid keys: {', '.join(_SWEEP_KEYS)}")
        for key, kind in _SWEEP_KEYS.items():
            if key in run and not isinstance(run[key], kind):
                raise ValueError(f"{where}.{key} must be a {kind.__name__}; got {run[key]!r}")
        name = run.get("experiment")
        if name not in EXPERIMENTS:
            raise ValueError(f"{where}.experiment must be one of {sorted(EXPERIMENTS)}; got {name!r}")
        try:
            configs.append(_make_config(name, run.get("fractions"), run.get("seeds"), run.get("methods"), run.get("quick", False),
                                        out, run.get("device", "auto"), run.get("progress", True), True, dict(run.get("options", {}))))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    failed = []
    with _runner(getattr(args, "scheduler", None)) as runner:
        for config in configs:
            try:
                run_experiment(config, echo=True, runner=runner)
            except UnitsFailed as err:
                failed.append(str(err))
    if failed:
        print("error: " + "\n".join(failed), file=sys.stderr)
        return 1
    return 0


def _report(args) -> int:
    import pandas as pd

    from neurobridge.experiments.results import COLUMNS, format_report, format_selection
    from neurobridge.experiments.targets import METHODS_CHECKED, format_targets

    path = args.results / "results.csv" if args.results.is_dir() else args.results
    if not path.is_file():
        raise ValueError(f"report: no results.csv at {path}")
    table = _read_table(path, COLUMNS, "results", f"(expected {', '.join(COLUMNS)})")
    _check_complete(path, table)
    for column in ("fraction", "seed", "value"):
        numeric = pd.to_numeric(table[column], errors="coerce")
        bad = table[column][numeric.isna() & table[column].notna() & (table[column].astype(str).str.lower() != "nan")]
        if len(bad):
            raise ValueError(f"report: {path} column {column!r} must hold numbers; row {bad.index[0] + 2} has {bad.iloc[0]!r}")
        table[column] = numeric
    metrics = args.metrics
    for experiment, part in table.groupby("experiment"):
        if metrics:
            unknown = sorted(set(metrics) - set(part["metric"]))
            if unknown:
                raise ValueError(f"report: --metrics {', '.join(unknown)} not in {path} for {experiment}; "
                                 f"it has {', '.join(sorted(part['metric'].unique()))}")
    print(format_report(table, _read_run_json(path.parent / "run.json"), metrics) + "\n")
    for experiment, part in table.groupby("experiment"):
        checked = [m for m in METHODS_CHECKED if m in set(part["method"])] or ["bridge-ot"]
        for method in checked:
            print(f"### {experiment}: targets of {method}\n\n{format_targets(part, method)}\n")
    chosen = _read_selection(path.parent / "selection.csv")
    if chosen is not None and len(chosen):
        print(format_selection(chosen))
    return 0


def _read_run_json(path: Path):
    """The settings ``run.json`` records (None when there is none); an unreadable one is a ValueError naming it."""
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"report: {path} is not valid JSON ({err}); rerun the experiment with --fresh, or move it away "
                         "to report without the run's settings") from None
    if not isinstance(recorded, dict):
        raise ValueError(f"report: {path} does not hold a settings table (a JSON object per experiment)")
    return recorded


def _check_complete(path: Path, table) -> None:
    """Refuse a results table that was cut short or edited into another shape: every line must have as many fields
    as the header and every field a value (a NaN is written ``nan``), the file must end with a line break, as
    neurobridge writes it, and, when ``results.nc`` lies beside it, both must hold the same number of rows."""
    import csv

    text = path.read_text(encoding="utf-8", errors="replace")
    hint = "it is truncated or was edited; rerun the experiment (same command) to rebuild it from its units"
    if text and not text.endswith("\n"):
        raise ValueError(f"report: {path} does not end with a line break: {hint}")
    lines = list(csv.reader(text.splitlines()))
    width = len(lines[0]) if lines else 0
    for number, fields in enumerate(lines[1:], start=2):
        if len(fields) != width:
            raise ValueError(f"report: {path} line {number} has {len(fields)} fields, not {width}: {hint}")
        if any(not field.strip() for field in fields):
            raise ValueError(f"report: {path} line {number} has an empty field: {hint}")
    netcdf = path.parent / "results.nc"
    if path.name == "results.csv" and netcdf.is_file():
        import xarray as xr

        try:
            with xr.open_dataset(netcdf) as ds:
                rows = int(ds.sizes.get("row", -1))
        except (OSError, ValueError) as err:
            raise ValueError(f"report: {netcdf} cannot be read ({type(err).__name__}); rerun the experiment (same "
                             "command) to rebuild it from its units") from None
        if rows != len(table):
            raise ValueError(f"report: {path} holds {len(table)} rows but {netcdf} holds {rows}: one of them is "
                             "truncated or stale; rerun the experiment (same command) to rebuild both from its units")


def _read_selection(path: Path):
    """``selection.csv`` beside the results (None when absent); a malformed one is a ValueError naming it."""
    from neurobridge.experiments.results import SELECTION_COLUMNS

    if not path.is_file():
        return None
    return _read_table(path, SELECTION_COLUMNS, "selection", "; delete it or rerun the experiment")


def _read_table(path: Path, columns, kind: str, hint: str):
    """A CSV table that must hold ``columns``; an unreadable or foreign one is a ValueError naming ``path``."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"report: {path} is not a readable CSV table ({type(err).__name__}: {str(err).strip()})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        sep = "" if hint.startswith(";") else " "
        raise ValueError(f"report: {path} is not a neurobridge {kind} table: missing columns {missing}{sep}{hint}")
    return table
