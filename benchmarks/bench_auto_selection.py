"""How ``coupling="auto"`` chooses on the digits experiment's units, before and after the one-standard-error rule.

Couplings only (no flows): per labelled fraction and seed, the digits experiment's frozen latents and bridges
(:mod:`neurobridge.experiments.digits`, its cached reference models), in both directions:

- recognition: source = image-VAE latents of the pool, target = label-VAE codes;
- generation: source = label codes, target = image latents (the bridges reversed, as the experiment does).

For each unit it fits every default label-matched candidate on the whole pools and measures its *plan class
agreement* (:func:`neurobridge.couplings.plan_match_accuracy`, the expectation of the experiment's sampled
``coupling_match_accuracy``; the supervised-only candidate has no plan and samples the bridges themselves, which
agree by construction, so it shows as ``- (bridge pairs)``, as does ``auto`` where it chose it), then runs ``AutoCoupling`` as it was at ``--before`` (a git commit,
loaded from ``git show``) and as it is now, and records what each chose, the plan agreement of its coupling and
its wall time. The timings are ratios in the same run (``before / now``) on the same machine.

    python benchmarks/bench_auto_selection.py --fractions 0.01,0.05,0.1 --seeds 0,1,2,3,4 --out results/auto.json

``--profile-fractions`` (e.g. ``0.01,0.1,1``) also times ``auto.fit`` alone at those fractions (seed 0,
recognition) for both versions. Needs ``NEUROBRIDGE_DATA_PATH`` or the cached digits data set.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "0bc52d2"


def load_auto_at(commit: str):
    """The ``auto`` module as it was at ``commit`` (its source from ``git show``, executed inside the current
    package so that its relative imports resolve)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:neurobridge/couplings/methods/auto.py"],
                            check=True, capture_output=True, text=True).stdout
    importlib.import_module("neurobridge.couplings.methods.auto")
    module = types.ModuleType(f"neurobridge.couplings.methods._auto_{commit}")
    module.__package__ = "neurobridge.couplings.methods"
    module.__file__ = f"<git {commit}>/auto.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def digits_spaces():
    from neurobridge.experiments import digits
    from neurobridge.experiments.config import RunConfig

    with tempfile.TemporaryDirectory() as out:
        config = RunConfig("digits", (0.1,), (0,), ("auto",), Path(out), device="cpu", progress=False)
        context = digits.setup(config)
    return context


def unit_problem(context, fraction: float, seed: int, direction: str):
    from neurobridge.bridges import Bridges
    from neurobridge.experiments import digits

    spaces, data = context.spaces, context.data
    bridges = digits.EXPERIMENT.bridges(context, fraction, seed)
    if direction == "recognition":
        return spaces.source_pool, spaces.target_pool, bridges, data.pool_labels, spaces.target_pool_labels
    reverse = Bridges.from_indices(bridges.target_index, bridges.source_index, bridges.labels, n_source=bridges.n_target,
                                   n_target=bridges.n_source, match=bridges.match)
    return spaces.target_pool, spaces.source_pool, reverse, spaces.target_pool_labels, data.pool_labels


def agreement(coupling, source_labels, target_labels) -> float:
    from neurobridge.couplings import plan_match_accuracy

    if coupling.plan is None:
        return float("nan")
    return float(plan_match_accuracy(coupling.plan_numpy(), source_labels, target_labels))


def plan_digest(plan) -> str:
    """A digest of the plan in float32: equal digests mean the same plan up to float rounding."""
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(plan, dtype=np.float32).tobytes(), digest_size=8).hexdigest()


def timed_fit(method, x, y, bridges, cpu: bool = False):
    """The coupling and the wall seconds of ``method.fit`` (with ``cpu``, also the process CPU seconds, which a loaded
    machine disturbs less than the wall time)."""
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coupling = method.fit(x, y, bridges)
    wall, used = time.perf_counter() - t0, time.process_time() - c0
    return (coupling, wall, used) if cpu else (coupling, wall)


def run_unit(context, fraction, seed, direction, versions, candidates: bool = True) -> dict:
    from neurobridge.couplings.methods.auto import default_candidates

    x, y, bridges, ls, lt = unit_problem(context, fraction, seed, direction)
    row = {"fraction": fraction, "seed": seed, "direction": direction, "bridges": len(bridges), "candidates": {}}
    for name, method in (default_candidates("label").items() if candidates else ()):
        coupling, seconds = timed_fit(method, x, y, bridges)
        row["candidates"][name] = {"agreement": agreement(coupling, ls, lt), "seconds": seconds}
    for version, module in versions.items():
        coupling, seconds, cpu = timed_fit(module.AutoCoupling(), x, y, bridges, cpu=True)
        selection = coupling.log["selection"]
        row[version] = {"selected": coupling.log["selected"], "agreement": agreement(coupling, ls, lt), "seconds": seconds,
                        "cpu_seconds": cpu,
                        "repeats": coupling.log.get("repeats", 1), "validated": coupling.log.get("validated", True),
                        "graph_builds": coupling.log.get("graph_builds"), "shortest_path_trees": coupling.log.get("shortest_path_trees"),
                        "plan_sha": None if coupling.plan is None else plan_digest(coupling.plan_numpy()),
                        "selection": {n: {k: v for k, v in r.items() if k in ("mean", "se", "gap", "margin", "scores", "held_out")}
                                      for n, r in selection.items()}}
    return row


def profile(context, fractions, versions) -> list[dict]:
    rows = []
    for fraction in fractions:
        x, y, bridges, *_ = unit_problem(context, fraction, 0, "recognition")
        row = {"fraction": fraction, "bridges": len(bridges)}
        for version, module in versions.items():
            coupling, seconds = timed_fit(module.AutoCoupling(), x, y, bridges)
            row[version] = {"seconds": seconds, "selected": coupling.log["selected"],
                            "candidate_seconds": {n: r["seconds"] for n, r in coupling.log["selection"].items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def summary(rows: list[dict], versions) -> str:
    lines = []
    for direction in ("recognition", "generation"):
        sub = [r for r in rows if r["direction"] == direction]
        if not sub:
            continue
        names = list(sub[0]["candidates"])
        lines.append(f"\n{direction}: plan class agreement, seed mean +- sd (n seeds); choices")
        lines.append("| fraction | K | " + " | ".join(names) + " | " + " | ".join(f"auto {v}" for v in versions) + " | "
                     + " | ".join(f"chosen {v}" for v in versions) + " | s " + " / s ".join(versions) + " |")
        for fraction in sorted({r["fraction"] for r in sub}):
            rs = [r for r in sub if r["fraction"] == fraction]

            def cell(values):
                values = np.asarray(values, dtype=float)
                if np.isnan(values).all():
                    return "- (bridge pairs)"
                return f"{np.nanmean(values):.3f} +- {np.nanstd(values, ddof=1) if len(values) > 1 else 0:.3f}"

            cand = [cell([r["candidates"][n]["agreement"] for r in rs]) for n in names]
            auto = [cell([r[v]["agreement"] for r in rs]) for v in versions]
            chosen = [" ".join(r[v]["selected"] for r in rs) for v in versions]
            secs = " / ".join(f"{np.mean([r[v]['seconds'] for r in rs]):.1f}" for v in versions)
            k = f"{np.mean([r['bridges'] for r in rs]):.0f}"
            lines.append(f"| {fraction:g} | {k} | " + " | ".join(cand) + " | " + " | ".join(auto) + " | " + " | ".join(chosen)
                         + f" | {secs} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default="0.01,0.05,0.1")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--directions", default="recognition,generation")
    parser.add_argument("--before", default=BEFORE, help="git commit of the earlier auto.py (default %(default)s)")
    parser.add_argument("--no-before", action="store_true", help="run the current version only")
    parser.add_argument("--profile-fractions", default="", help="also time auto.fit alone at these fractions")
    parser.add_argument("--no-candidates", action="store_true", help="skip fitting each candidate on the whole pools "
                        "(only auto's choice, agreement and seconds per version)")
    parser.add_argument("--out", default=None, help="write every row as JSON here (atomically)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from neurobridge.couplings.methods import auto as now

    versions = {} if args.no_before else {"before": load_auto_at(args.before)}
    versions["now"] = now
    context = digits_spaces()
    rows = []
    for direction in args.directions.split(","):
        for fraction in [float(f) for f in args.fractions.split(",") if f]:
            for seed in [int(s) for s in args.seeds.split(",") if s]:
                row = run_unit(context, fraction, seed, direction, versions, not args.no_candidates)
                rows.append(row)
                print(json.dumps({k: (v if k not in versions else {kk: vv for kk, vv in v.items() if kk != "selection"})
                                  for k, v in row.items()}), flush=True)
    print(summary(rows, versions))
    if len(versions) == 2 and rows:
        before, now = (sum(r[v]["seconds"] for r in rows) for v in versions)
        cpu_before, cpu_now = (sum(r[v]["cpu_seconds"] for r in rows) for v in versions)
        same = all(r["before"]["selected"] == r["now"]["selected"] and r["before"]["plan_sha"] == r["now"]["plan_sha"]
                   and all(r["before"]["selection"][n]["mean"] == r["now"]["selection"][n]["mean"] for n in r["now"]["selection"])
                   for r in rows)
        print(f"auto.fit summed over {len(rows)} units: before {before:.1f} s, now {now:.1f} s, ratio before/now "
              f"{before / now:.2f} (CPU: {cpu_before:.1f} s / {cpu_now:.1f} s = {cpu_before / cpu_now:.2f}); same choices, validation means and plans (float32): {same}")
    timing = profile(context, [float(f) for f in args.profile_fractions.split(",") if f], versions)
    for row in timing:
        if "before" in row:
            print(f"profile f={row['fraction']:g} K={row['bridges']}: before {row['before']['seconds']:.1f} s, now "
                  f"{row['now']['seconds']:.1f} s, ratio before/now {row['before']['seconds'] / row['now']['seconds']:.2f}")
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump({"units": rows, "profile": timing, "before": args.before}, handle, indent=1)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
