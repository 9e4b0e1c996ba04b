"""Wall time of ``neurobridge run digits`` and its units, old commit against new, in the same session.

    python benchmarks/bench_digits_run.py units   [--old REF] [--methods ...] [--fractions 0.1] [--seeds 0]
    python benchmarks/bench_digits_run.py default [--jobs 0]

``units``: clones this repository twice into a temporary folder (``--old``, default the commit this work started
from, and ``HEAD``), runs the same units with each (``--jobs 1``, old first, then new, ``--repeat`` times) and
prints seconds per unit and phase for both with the ratio new/old, and the largest difference of any metric
between the two results tables (0 where the maths did not change; ``fit_seconds`` left out). The ratio, not the
seconds, is the result: this machine is shared, so ``uptime``'s load is printed before and after.

``default``: clones ``HEAD`` and runs the README's main command (``neurobridge run digits``, every default) from
the clone, printing its wall time and the per-phase table the run writes (``timings.csv``).

Both use this interpreter, with ``PYTHONPATH`` set to the clone, so the clone's code is what runs.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OLD = "0bc52d2"
DEFAULT_UNITS = ("auto,bridge-ot,supervised-flow,ridge,e2e-logreg,e2e-cnn,e2e-fused-vae")


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _clone(ref: str, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True)
    subprocess.run(["git", "-C", str(where), "checkout", "-q", ref], check=True)
    return where


def _run(clone: Path, out: Path, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(clone), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "neurobridge.cli", "run", "digits", "--no-progress", "--fresh", "--out", str(out), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def _per_unit(out: Path) -> pd.DataFrame:
    timings = pd.read_csv(out / "timings.csv")
    units = timings[timings.method != "(setup)"]
    n = units.groupby("method")[["fraction", "seed"]].apply(lambda g: len(g.drop_duplicates()))
    return units.groupby(["method", "phase"]).seconds.sum().unstack().fillna(0).div(n, axis=0)


def units(args) -> None:
    extra = ["--jobs", "1", "--methods", args.methods, "--fractions", args.fractions, "--seeds", args.seeds]
    print(f"load before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-digits-") as tmp:
        tmp = Path(tmp)
        clones = {"old": _clone(args.old, tmp / "old"), "new": _clone("HEAD", tmp / "new")}
        walls: dict[str, list[float]] = {"old": [], "new": []}
        tables: dict[str, list[pd.DataFrame]] = {"old": [], "new": []}
        for rep in range(args.repeat):
            for label, clone in clones.items():
                out = tmp / f"out_{label}"
                walls[label].append(_run(clone, out, extra))
                tables[label].append(_per_unit(out))
                print(f"  repeat {rep}: {label} {walls[label][-1]:.1f} s wall", flush=True)
        print(f"load after: {_load()}")
        old = sum(tables["old"]) / args.repeat
        new = sum(tables["new"]) / args.repeat
        old["total"], new["total"] = old.sum(axis=1), new.sum(axis=1)
        print(f"\nseconds per unit (mean over {args.repeat} repeat(s)), {args.old} -> HEAD:")
        for method in old.index:
            cells = [f"{phase} {old.loc[method, phase]:.2f}->{new.loc[method, phase]:.2f}"
                     for phase in old.columns if phase in new.columns and old.loc[method, phase] > 0.05]
            ratio = new.loc[method, "total"] / old.loc[method, "total"]
            print(f"  {method:<16} x{ratio:.2f}  " + ", ".join(cells))
        print(f"wall: old {min(walls['old']):.1f} s, new {min(walls['new']):.1f} s (best of {args.repeat}), "
              f"ratio {min(walls['new']) / min(walls['old']):.2f}")
        a = pd.read_csv(tmp / "out_old" / "results.csv")
        b = pd.read_csv(tmp / "out_new" / "results.csv")
        keys = ["experiment", "method", "fraction", "seed", "metric"]
        both = a.merge(b, on=keys, suffixes=("_old", "_new"))
        both = both[both.metric != "fit_seconds"]
        both["diff"] = (both.value_old - both.value_new).abs()
        print("\nlargest |old - new| per method over its metrics (0 = the same numbers):")
        print(both.groupby("method")["diff"].max().to_string())


def default(args) -> None:
    print(f"load before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-digits-") as tmp:
        clone = _clone("HEAD", Path(tmp) / "clone")
        out = Path(args.out) if args.out else Path(tmp) / "out"
        wall = _run(clone, out, ["--jobs", str(args.jobs)])
        print(f"load after: {_load()}")
        timings = pd.read_csv(out / "timings.csv")
        print(f"`neurobridge run digits` (defaults) from a fresh clone: {wall:.1f} s wall")
        print(timings.groupby("phase").seconds.sum().round(1).to_string())
        print(timings[timings.method != "(setup)"].groupby("method").seconds.sum().round(1).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    u = sub.add_parser("units")
    u.add_argument("--old", default=OLD)
    u.add_argument("--methods", default=DEFAULT_UNITS)
    u.add_argument("--fractions", default="0.1")
    u.add_argument("--seeds", default="0")
    u.add_argument("--repeat", type=int, default=1)
    u.set_defaults(func=units)
    d = sub.add_parser("default")
    d.add_argument("--jobs", type=int, default=0)
    d.add_argument("--out", default=None, help="keep the run's outputs here (default: a temporary folder)")
    d.set_defaults(func=default)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
