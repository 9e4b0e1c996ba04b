"""Couplings on label codes: the code at ``--before`` against the current code, in one run.

On the digits and MNIST experiments the target pool (recognition) or the source pool (generation) holds label codes:
one point per class, repeated over the pool. The current code solves Sinkhorn between the distinct rows and columns
of the cost (:func:`neurobridge.couplings.sinkhorn`, ``collapse``) and computes the exact bridge cost between distinct
points with the exemplars grouped by partner (:class:`neurobridge.couplings.cost.GroupedBridgeCost`); ``auto``'s
label-matched candidates no longer include ``geodesic``. This script times, per labelled fraction and direction
(digits experiment, seed 0, its cached frozen models), ``fit`` of ``auto``, ``label-spreading`` and ``bridge-ot`` on
the whole pools, and checks that the plans agree with the old code's.

Each version runs in its own subprocess (the old one from a temporary ``git worktree`` of ``--before``), one torch
thread, alternating old/new for ``--rounds`` rounds so that both see the same load; the table gives medians and the
ratio old / new of each fit's CPU seconds, and the largest entry-wise difference between the two versions' plans
(relative to the plan's largest entry).

    python benchmarks/bench_label_codes.py --before d44a3d5 --rounds 3 --out results/label_codes.json

Needs ``NEUROBRIDGE_DATA_PATH`` or the cached digits data set.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("auto", "label-spreading", "bridge-ot")


def worker(fractions, directions, plans_dir: Path) -> list[dict]:
    """Fit every method on every problem in this process; plans go to ``plans_dir`` (``.npy``), rows are returned."""
    import torch
    from bench_auto_selection import unit_problem

    from neurobridge.couplings.methods import METHODS as TABLE
    from neurobridge.experiments import digits
    from neurobridge.experiments.config import RunConfig

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        context = digits.setup(RunConfig("digits", (0.1,), (0,), ("auto",), Path(out), device="cpu", progress=False))
    rows = []
    for fraction in fractions:
        for direction in directions:
            x, y, bridges, _, _ = unit_problem(context, fraction, 0, direction)
            for name in METHODS:
                method = TABLE[name]() if name != "auto" else TABLE[name](seed=0)
                c0 = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    coupling = method.fit(x, y, bridges)
                cpu = time.process_time() - c0
                key = f"{name}_{fraction:g}_{direction}"
                if coupling.plan is not None:
                    np.save(plans_dir / f"{key}.npy", coupling.plan_numpy().astype(np.float64))
                rows.append({"key": key, "method": name, "fraction": fraction, "direction": direction, "cpu_seconds": cpu,
                             "selected": coupling.log.get("selected", name), "has_plan": coupling.plan is not None})
    return rows


def _run(code_root: Path, fractions, directions, plans_dir: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(code_root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--fractions", ",".join(map(str, fractions)),
           "--directions", ",".join(directions), "--plans", str(plans_dir)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=str(code_root))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="d44a3d5", help="git commit of the earlier code (default %(default)s)")
    parser.add_argument("--fractions", default="0.01,0.1,1.0")
    parser.add_argument("--directions", default="recognition,generation")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the rows as JSON here (atomically)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plans", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    fractions = [float(f) for f in args.fractions.split(",")]
    directions = args.directions.split(",")
    if args.worker:
        print(json.dumps(worker(fractions, directions, Path(args.plans))))
        return
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; got {args.rounds}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_root = tmp / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old_root), args.before], check=True)
        try:
            seconds = {"before": {}, "now": {}}
            selected, plans = {}, {}
            for r in range(args.rounds):
                for version, root in (("before", old_root), ("now", ROOT)):
                    plans_dir = tmp / f"{version}_{r}"
                    plans_dir.mkdir()
                    for row in _run(root, fractions, directions, plans_dir):
                        seconds[version].setdefault(row["key"], []).append(row["cpu_seconds"])
                        selected[(version, row["key"])] = row["selected"]
                    plans[version] = plans_dir
            rows = []
            for key in seconds["now"]:
                old, new = float(np.median(seconds["before"][key])), float(np.median(seconds["now"][key]))
                diff = float("nan")
                a, b = plans["before"] / f"{key}.npy", plans["now"] / f"{key}.npy"
                if a.exists() and b.exists():
                    pa, pb = np.load(a), np.load(b)
                    diff = float(np.abs(pa - pb).max() / np.abs(pa).max())
                rows.append({"key": key, "before_s": old, "now_s": new, "ratio": old / new if new > 0 else float("nan"),
                             "selected_before": selected[("before", key)], "selected_now": selected[("now", key)],
                             "max_rel_plan_difference": diff})
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_root)], check=False)
    print(f"CPU seconds per fit, medians of {args.rounds} rounds (before = {args.before}, now = working tree), one thread:")
    print(f"{'fit':42s} {'before':>8s} {'now':>8s} {'before/now':>10s}  {'chosen before -> now':28s} plan diff")
    for row in rows:
        print(f"{row['key']:42s} {row['before_s']:8.2f} {row['now_s']:8.2f} {row['ratio']:10.1f}  "
              f"{row['selected_before'] + ' -> ' + row['selected_now']:28s} {row['max_rel_plan_difference']:.1e}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(out.name + ".part")
        part.write_text(json.dumps({"before": args.before, "rounds": args.rounds, "rows": rows}, indent=1))
        os.replace(part, out)


if __name__ == "__main__":
    main()
