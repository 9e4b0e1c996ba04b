"""The CPU-time floor of ``neurobridge run digits`` against its 120 s wall-time target, measured on this machine.

    python benchmarks/bench_digits_floor.py [--fractions 0.01,0.05,0.1,0.2,1] [--seed 0]

The default run is 15 (fraction, seed) pairs x the headline methods. Two parts of it are fixed work that no coupling
choice changes: the flows (three flow methods, each unit fits two flows of 600 steps, one per direction, and
transports the test set) and the end-to-end baselines (``e2e-cnn``, ``e2e-fused-vae``). This script runs, in one
process with one torch thread, through the experiment's own data, frozen models, method table and settings:

- the ``supervised-flow`` unit at one fraction, twice (the faster counts: the first pays one-off start-up costs; its
  flows train the same 600 steps at every fraction, so this is the flow work of any flow unit without its coupling),
  fits and evaluation separately;
- ``e2e-cnn`` and ``e2e-fused-vae`` at every fraction (their cost depends on the labelled count).

It prints the CPU seconds these parts need for the whole default run (45 flow units, 3 seeds of each baseline
fraction) and the wall time that gives on the machine's cores at perfect parallel efficiency, as a ratio to the
120 s target: a ratio above 1 means the target cannot be met by scheduling or by cheaper couplings alone. Needs the
digits frozen models (trained on first use, then cached).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

TARGET_S = 120.0
FLOW_METHODS = ("auto", "bridge-ot", "supervised-flow")
BASELINES = ("e2e-cnn", "e2e-fused-vae")


def cpu_seconds(fn):
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def unit_seconds(experiment, context, settings, method: str, fraction: float, seed: int) -> tuple[float, float]:
    """CPU seconds of fitting and of evaluating one unit's tasks, as the unit loop runs them."""
    from neurobridge.experiments.methods import build_method
    from neurobridge.experiments.units import Unit

    bridges = experiment.bridges(context, fraction, seed)
    fit_s = eval_s = 0.0
    for task, source, target, task_bridges in experiment.tasks(context, method, bridges):
        built = build_method(method, seed=seed, device="cpu", flow=settings.get("flow"), models=settings.get("models"))
        seconds, fitted = cpu_seconds(lambda built=built, source=source, target=target, task_bridges=task_bridges:
                                      built.fit(source, target, task_bridges))
        fit_s += seconds
        seconds, _ = cpu_seconds(lambda task=task, fitted=fitted:
                                 experiment.evaluate(context, task, fitted, bridges, Unit(method, fraction, seed)))
        eval_s += seconds
    return fit_s, eval_s


def main(argv=None) -> None:
    from neurobridge.experiments.config import RunConfig
    from neurobridge.experiments.digits import EXPERIMENT
    from neurobridge.experiments.registry import EXPERIMENTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default=",".join(f"{f:g}" for f in EXPERIMENTS["digits"].defaults["fractions"]))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fractions = tuple(float(f) for f in args.fractions.split(","))
    seeds = len(EXPERIMENTS["digits"].defaults["seeds"])
    torch.set_num_threads(1)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as out:
        config = RunConfig("digits", fractions, (args.seed,), ("supervised-flow",), Path(out), device="cpu", progress=False)
        settings = EXPERIMENT.settings(config)
        context = EXPERIMENT.setup(config)
        runs = [unit_seconds(EXPERIMENT, context, settings, "supervised-flow", fractions[len(fractions) // 2], args.seed) for _ in range(2)]
        flow_fit, flow_eval = min(r[0] for r in runs), min(r[1] for r in runs)
        baseline = {m: sum(unit_seconds(EXPERIMENT, context, settings, m, f, args.seed)[0] for f in fractions) for m in BASELINES}
    flow_units = len(FLOW_METHODS) * len(fractions) * seeds
    flows = flow_units * flow_fit
    baselines = seeds * sum(baseline.values())
    floor = (flows + baselines) / cores
    print(f"load average at start of the report: {os.getloadavg()}; {cores} cores; one torch thread per process")
    print(f"one flow unit (supervised-flow, two 600-step fits): {flow_fit:.2f} CPU-s fitting, {flow_eval:.2f} CPU-s evaluating")
    print(f"flows of the default run: {flow_units} units x {flow_fit:.2f} s = {flows:.1f} CPU-s (fits only)")
    for method, seconds in baseline.items():
        print(f"{method}: {seconds:.1f} CPU-s over fractions {fractions}, x {seeds} seeds = {seeds * seconds:.1f} CPU-s")
    print(f"flows + end-to-end baselines: {flows + baselines:.1f} CPU-s -> at least {floor:.1f} s wall on {cores} cores "
          f"= {floor / TARGET_S:.2f}x the {TARGET_S:.0f} s target")
    with_eval = floor + flow_units * flow_eval / cores
    print(f"with the flow units' evaluation ({flow_units} x {flow_eval:.2f} CPU-s): at least {with_eval:.1f} s wall "
          f"= {with_eval / TARGET_S:.2f}x the target, before the couplings and figures")


if __name__ == "__main__":
    main()
