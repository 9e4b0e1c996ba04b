"""``neurobridge run`` and ``neurobridge sweep``."""
from __future__ import annotations

import json
from pathlib import Path

from neurobridge.experiments.config import RunConfig

__all__ = ["add_experiment_commands", "run_experiment_from_args"]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.replace(",", " ").split())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace(",", " ").split())


def _words(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.replace(",", " ").split())


def _options(pairs) -> dict:
    options = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--option expects KEY=VALUE; got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def add_experiment_commands(sub) -> None:
    from neurobridge.experiments.registry import EXPERIMENTS

    run = sub.add_parser("run", help="run an experiment and write results.csv, results.nc and plots to --out")
    run.add_argument("experiment", choices=sorted(EXPERIMENTS))
    run.add_argument("--fractions", type=_floats, help="labelled fractions, e.g. '0.01,0.05,0.1'")
    run.add_argument("--seeds", type=_ints, help="seeds, e.g. '0,1,2'")
    run.add_argument("--methods", type=_words, help="methods to run (default: all of the experiment's)")
    run.add_argument("--quick", action="store_true", help="small settings for CI and smoke tests")
    run.add_argument("--out", type=Path, default=None, help="output folder (default: results/<experiment>)")
    run.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    run.add_argument("--jobs", type=int, default=0, help="worker processes (default 0 = one per CPU core, up to 4, on a CPU; 1 on a GPU)")
    run.add_argument("--fresh", action="store_true", help="ignore finished units from an earlier run in --out")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--option", action="append", metavar="KEY=VALUE", help="experiment-specific option (repeatable)")
    run.set_defaults(func=run_experiment_from_args)
    report = sub.add_parser("report", help="Markdown tables and the method's targets (met / missed) from a results.csv")
    report.add_argument("results", type=Path, help="a results.csv, or the --out folder that holds one")
    report.add_argument("--metrics", type=_words, default=None, help="metrics to tabulate (default: all)")
    report.set_defaults(func=_report)
    sweep = sub.add_parser("sweep", help="run several experiments from a JSON config file")
    sweep.add_argument("config", type=Path)
    sweep.add_argument("--out", type=Path, default=None, help="output folder (default: the config's 'out' or results/sweep)")
    sweep.set_defaults(func=_sweep)


def run_experiment_from_args(args) -> int:
    from neurobridge.experiments.registry import run_experiment

    config = _make_config(args.experiment, args.fractions, args.seeds, args.methods, args.quick, args.out, args.device,
                          not args.no_progress, not args.fresh, {"jobs": args.jobs, **_options(args.option)})
    run_experiment(config, echo=True)
    return 0


def _make_config(name, fractions, seeds, methods, quick, out, device, progress, resume, options) -> RunConfig:
    from neurobridge.experiments.registry import EXPERIMENTS

    spec = EXPERIMENTS[name]
    defaults = spec.quick_defaults if quick else spec.defaults
    methods = tuple(methods or defaults["methods"])
    unknown = sorted(set(methods) - set(spec.methods))
    if unknown:
        raise SystemExit(f"unknown methods {unknown} for {name}; choose from {sorted(spec.methods)}")
    return RunConfig(
        experiment=name,
        fractions=tuple(fractions or defaults["fractions"]),
        seeds=tuple(seeds or defaults["seeds"]),
        methods=methods,
        out=out or Path("results") / name,
        quick=quick,
        device=device,
        progress=progress,
        resume=resume,
        options=options,
    )


def _sweep(args) -> int:
    """Config: ``{"out": "results/sweep", "runs": [{"experiment": "digits", "fractions": [...], "seeds": [...],
    "methods": [...], "quick": false, "options": {...}}, ...]}``."""
    from neurobridge.experiments.registry import EXPERIMENTS, run_experiment

    try:
        spec = json.loads(Path(args.config).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"sweep: cannot read {args.config}: {err}")
    runs = spec.get("runs")
    if not isinstance(runs, list) or not runs:
        raise SystemExit(f"sweep: {args.config} needs a non-empty list 'runs'")
    out = Path(args.out or spec.get("out", "results/sweep"))
    for i, run in enumerate(runs):
        name = run.get("experiment")
        if name not in EXPERIMENTS:
            raise SystemExit(f"sweep: runs[{i}].experiment must be one of {sorted(EXPERIMENTS)}; got {name!r}")
        config = _make_config(name, run.get("fractions"), run.get("seeds"), run.get("methods"), bool(run.get("quick", False)),
                              out, run.get("device", "auto"), bool(run.get("progress", True)), True, dict(run.get("options", {})))
        run_experiment(config, echo=True)
    return 0


def _report(args) -> int:
    import pandas as pd

    from neurobridge.experiments.targets import format_targets, markdown_table

    path = args.results / "results.csv" if args.results.is_dir() else args.results
    if not path.is_file():
        raise SystemExit(f"report: no results.csv at {path}")
    table = pd.read_csv(path)
    for experiment, part in table.groupby("experiment"):
        for metric in args.metrics or sorted(part["metric"].unique()):
            print(f"### {experiment}: {metric} (mean ± sd over seeds)\n\n{markdown_table(part, metric)}\n")
        print(f"### {experiment}: targets\n\n{format_targets(part)}\n")
    return 0
