"""The one unit loop every experiment shares: claim, bridges, fit, evaluate, store.

An experiment (a subclass of :class:`Experiment`) supplies only

- ``settings(config)``: everything besides the unit's own (method, fraction, seed) that changes a result (data
  options, reference-model and flow settings), JSON-able; it goes into every unit's key;
- ``setup(config)``: the data and the frozen reference models (the ``reference models`` phase), once per process;
- ``bridges(context, fraction, seed)``: the bridges of a (fraction, seed); every method sees the same ones;
- ``tasks(context, method, bridges)``: the fits a method makes, as ``(task, source, target, bridges)``;
- ``evaluate(context, task, fitted, bridges, unit)``: the metrics of one fitted task, and the figures it can draw.

:func:`run_unit` runs one unit and stores it (a unit that raises is stored as failed, with the reason);
:func:`run_units` is the serial loop over a run's units. A driver (serial, the process pool of
:mod:`neurobridge.experiments.driver`, or another backend) only decides where :func:`run_unit` runs: each call needs
nothing but the experiment name, the run config and the unit, and finds its context through :func:`context_for`,
built once per process.
"""
from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from typing import NamedTuple

from tqdm.auto import tqdm

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.methods import build_method, cost_rank
from neurobridge.experiments.results import ResultStore

__all__ = ["Experiment", "Unit", "run_settings", "context_for", "run_unit", "run_units", "RUNTIME_OPTIONS"]

RUNTIME_OPTIONS = ("jobs",)


class Unit(NamedTuple):
    """One unit of work: a method at a labelled fraction and seed."""

    method: str
    fraction: float
    seed: int


_PHASE_OF_KIND = {"flow": "flows", "map": "baselines", "end-to-end": "baselines", "reference": "evaluation"}


class Experiment:
    """The data, bridges and metrics of one experiment (see the module docstring)."""

    name: str = ""
    methods: tuple[str, ...] = ()

    def settings(self, config: RunConfig) -> dict:
        return {}

    def setup(self, config: RunConfig):
        raise NotImplementedError

    def bridges(self, context, fraction: float, seed: int):
        raise NotImplementedError

    def tasks(self, context, method: str, bridges) -> list[tuple]:
        """``(task, source, target, bridges)`` for each fit of ``method`` (a table name) in a unit."""
        raise NotImplementedError

    def evaluate(self, context, task: str, fitted, bridges, unit: Unit) -> tuple[dict, dict[str, Callable]]:
        """Metrics of the fitted ``task`` and figures ``{file name: draw(path)}``."""
        raise NotImplementedError


def run_settings(experiment: Experiment, config: RunConfig) -> dict:
    """Everything but (method, fraction, seed) that changes a unit's result: the experiment, ``--quick``, every
    ``--option`` except the number of worker processes, the device type, the package version, and the
    experiment's own data, model and flow settings."""
    import neurobridge
    from neurobridge._device import resolve_device

    options = {k: v for k, v in sorted(config.options.items()) if k not in RUNTIME_OPTIONS}
    return {"experiment": config.experiment, "quick": bool(config.quick), "options": options,
            "device": resolve_device(config.device).type, "version": neurobridge.__version__,
            **experiment.settings(config)}


_CONTEXTS: dict = {}


def context_for(experiment: Experiment, config: RunConfig, settings: dict):
    """The experiment's context for ``settings`` (data and reference models; the flow settings play no part),
    built once per process, and the seconds it took here (0 when cached)."""
    from neurobridge.experiments.results import _canonical

    key = _canonical({k: v for k, v in settings.items() if k != "flow"})
    if key in _CONTEXTS:
        return _CONTEXTS[key], 0.0
    start = time.perf_counter()
    context = experiment.setup(config)
    _CONTEXTS.clear()
    _CONTEXTS[key] = context
    return context, time.perf_counter() - start


class _Phases:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + float(seconds)

    @contextmanager
    def __call__(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - start)


def _fit(method, source, target, bridges, phases: _Phases):
    start = time.perf_counter()
    method.fit(source, target, bridges)
    elapsed = time.perf_counter() - start
    split = method.timings() if hasattr(method, "timings") else {_PHASE_OF_KIND[method.kind]: elapsed}
    for phase, seconds in split.items():
        phases.add(phase, seconds)
    return method


def run_unit(experiment: Experiment, config: RunConfig, context, settings: dict, store: ResultStore,
             method: str, fraction: float, seed: int) -> bool:
    """Run one claimed unit and store it; True if it finished, False if it failed (stored with the reason).

    Figures (for the run's first seed) are drawn before the unit is stored, so a unit counts as done only with
    its figures. Each task of a method gets a fresh method object built from the one table
    (:func:`neurobridge.experiments.methods.build_method`).
    """
    phases = _Phases()
    start = time.perf_counter()
    try:
        with phases("bridges"):
            bridges = experiment.bridges(context, fraction, seed)
        metrics, figures, selection = {}, {}, []
        kind = None
        for task, source, target, task_bridges in experiment.tasks(context, method, bridges):
            built = build_method(method, seed=seed, device=config.device, flow=settings.get("flow"), models=settings.get("models"))
            kind = built.kind
            fitted = _fit(built, source, target, task_bridges, phases)
            if hasattr(fitted, "selection"):
                selection.extend({"direction": task, **row} for row in fitted.selection())
            with phases("evaluation"):
                task_metrics, task_figures = experiment.evaluate(context, task, fitted, bridges, Unit(method, fraction, seed))
            metrics.update(task_metrics)
            figures.update(task_figures)
        if kind != "reference":
            metrics["n_bridges"] = len(bridges)
        metrics["fit_seconds"] = time.perf_counter() - start
        files = []
        if seed == config.seeds[0]:
            with phases("figures"):
                for name, draw in figures.items():
                    draw(config.out / "figures" / name)
                    files.append(f"figures/{name}")
    except Exception as err:  # noqa: BLE001 - a failed unit is recorded with its reason; the run goes on
        reason = f"{type(err).__name__}: {err}".replace("\n", " ")
        store.fail(method, fraction, seed, reason, timings=phases.seconds)
        if os.environ.get("NEUROBRIDGE_DEBUG"):
            traceback.print_exc()
        return False
    store.add(method, fraction, seed, metrics, timings=phases.seconds, files=files, selection=selection)
    return True


def run_units(experiment: Experiment, config: RunConfig, store: ResultStore, settings: dict, *, tag: str = "main") -> None:
    """Serial loop over the run's units: each not yet done (and not claimed by another worker) runs here, the
    expensive methods first (:func:`~neurobridge.experiments.methods.cost_rank`; the sort is stable, so the order is
    otherwise the config's)."""
    pending = sorted((u for u in config.units() if not store.done(u[2], u[0], u[1])), key=lambda u: cost_rank(u[2]))
    if not pending:
        return
    context, seconds = context_for(experiment, config, settings)
    store.add_phase("reference models", seconds, tag)
    bar = tqdm(pending, desc=config.experiment, disable=not config.progress)
    for fraction, seed, method in bar:
        if not store.claim(method, fraction, seed):
            continue
        bar.set_postfix_str(f"{method} f={fraction:g} seed={seed}")
        run_unit(experiment, config, context, settings, store, method, fraction, seed)
