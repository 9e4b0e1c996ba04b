"""Drivers: where the units of a run execute (this process, or a pool of worker processes), and the run's outputs.

:func:`run_experiment` checks the output folder's recorded settings (a rerun with other settings is refused with
one line naming what differs), runs the units not yet done, and writes results.csv/.nc, failures.csv,
timings.csv, the metric plots and the summary. The unit itself (:func:`neurobridge.experiments.units.run_unit`)
does not know which driver runs it: a process pool takes units by exclusive claim files, and another backend (e.g.
Dask distributed, :mod:`neurobridge.experiments.dask_driver`) calls :func:`open_run` once and then runs one task
per unit, which needs only the experiment name, the config and the unit.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import time
from contextlib import contextmanager

import pandas as pd

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.results import ResultStore, format_failures, format_summary, format_timings

__all__ = ["run_experiment", "open_run", "run_one", "run_with_store", "experiment_for", "UnitsFailed"]


class UnitsFailed(RuntimeError):
    """Some units of a run raised; they are stored as failed with their reasons (``failures.csv``)."""


def experiment_for(name: str):
    """The :class:`~neurobridge.experiments.units.Experiment` object of the experiment ``name``."""
    from neurobridge.experiments.registry import EXPERIMENTS

    spec = EXPERIMENTS[name]
    return getattr(importlib.import_module(spec.module), spec.attribute)


@contextmanager
def _cpu_threads(config: RunConfig):
    """Small networks train fastest on one intra-op thread on a CPU (more threads only add synchronisation)."""
    import torch

    from neurobridge._device import resolve_device

    threads = int(config.options.get("threads", 1))
    if resolve_device(config.device).type != "cpu" or threads < 1:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _jobs(config: RunConfig) -> int:
    from neurobridge._device import resolve_device

    jobs = int(config.options.get("jobs") or 0)
    if jobs < 1:
        jobs = min(4, os.cpu_count() or 1) if resolve_device(config.device).type == "cpu" else 1
    return max(1, min(jobs, len(config.units())))


def _store(experiment, config: RunConfig, *, resume: bool, worker: bool) -> ResultStore:
    from neurobridge.experiments.methods import method_settings
    from neurobridge.experiments.units import run_settings

    settings = run_settings(experiment, config)
    return ResultStore(config.out, config.experiment, resume=resume, worker=worker, settings=settings,
                       method_settings=lambda name: method_settings(name, flow=settings.get("flow"), models=settings.get("models")))


def _check_device(device) -> None:
    from neurobridge._device import resolve_device

    try:
        resolve_device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"--device {device!r} is not a device: give auto, cpu, cuda, cuda:1 or mps "
                         f"({str(err).splitlines()[0][:120]})") from None


def run_with_store(experiment, config: RunConfig, store: ResultStore, *, tag: str = "main") -> None:
    """Run the config's units not yet done in ``store`` in this process (the serial driver)."""
    from neurobridge.experiments.units import run_settings, run_units

    settings = store.settings if store.settings is not None else run_settings(experiment, config)
    with _cpu_threads(config):
        run_units(experiment, config, store, settings, tag=tag)


def run_one(name: str, config: RunConfig, method: str, fraction: float, seed: int) -> bool:
    """Run one unit wherever this is called (a worker of any backend) and store it in ``config.out``; True if it
    finished, False if it failed or was already done or claimed."""
    from neurobridge.experiments.units import context_for, run_unit

    experiment = experiment_for(name)
    store = _store(experiment, config, resume=True, worker=True)
    if not store.claim(method, fraction, seed):
        return False
    with _cpu_threads(config):
        context, seconds = context_for(experiment, config, store.settings)
        if seconds:
            store.add_phase("reference models", seconds, f"w{os.getpid()}")
        return run_unit(experiment, config, context, store.settings, store, method, fraction, seed)


def exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Exit this process (status 3) within ``interval`` seconds of process ``parent`` going away.

    A pool worker is not a daemon (it must finish its unit), so a driver killed by SIGTERM or SIGKILL would leave its
    workers running units nobody collects. A daemon thread polls ``os.getppid()``: once the parent is gone the worker
    has been re-parented and stops; its unfinished unit leaves only a claim file, which the next run clears when it starts.
    """
    import threading

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="neurobridge-parent-watch", daemon=True).start()


def _worker(name: str, config: RunConfig, tag: str, parent: int | None = None) -> None:
    if parent is not None:
        exit_with_parent(parent)
    experiment = experiment_for(name)
    store = _store(experiment, config, resume=True, worker=True)
    run_with_store(experiment, config, store, tag=tag)


def _run_parallel(name: str, config: RunConfig, store: ResultStore, jobs: int) -> None:
    """Run ``jobs`` worker processes (spawned, one CPU thread each) that take units one at a time as they free up
    (see :meth:`ResultStore.claim`). The reference models are built first in this process, so the workers find
    them in the cache; each unit's result file is written atomically."""
    import multiprocessing

    from neurobridge.experiments.units import context_for

    experiment = experiment_for(name)
    if not any(not store.done(m, f, s) for f, s, m in config.units()):
        return
    with _cpu_threads(config):
        _, seconds = context_for(experiment, config, store.settings)
    store.add_phase("reference models", seconds, "main")
    context = multiprocessing.get_context("spawn")
    processes = []
    for k in range(jobs):
        worker_config = dataclasses.replace(config, options={**config.options, "jobs": 1}, progress=config.progress and k == 0)
        process = context.Process(target=_worker, args=(name, worker_config, f"w{k}", os.getpid()))
        process.start()
        processes.append(process)
    failed = []
    try:
        for process in processes:
            process.join()
            if process.exitcode != 0:
                failed.append(process.exitcode)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(processes)} worker processes failed (exit codes {failed}); "
                           "finished units are kept: run the same command again to resume")


def _check_config(config: RunConfig) -> None:
    """The experiment, methods, options and device, checked before anything touches the output folder."""
    from neurobridge.experiments.methods import check_methods
    from neurobridge.experiments.registry import EXPERIMENTS, check_options

    if config.experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {config.experiment!r}; valid experiments: {', '.join(sorted(EXPERIMENTS))}")
    spec = EXPERIMENTS[config.experiment]
    check_methods(config.methods, spec.valid_methods(), config.experiment)
    check_options(config.experiment, config.options)
    _check_device(config.device)


def open_run(config: RunConfig) -> ResultStore:
    """Check the config (experiment, methods, options, device) and the output folder's recorded settings, and
    return the run's store: what every driver does once, in the parent, before units run anywhere."""
    _check_config(config)
    store = _store(experiment_for(config.experiment), config, resume=config.resume, worker=False)
    store.check_settings()
    store.clear_phases()
    return store


def run_experiment(config: RunConfig, *, echo: bool = False, runner=None) -> pd.DataFrame:
    """Run ``config`` (resuming finished units), write results.csv/.nc, failures.csv, timings.csv and plots, and
    return the results table. Raises :class:`UnitsFailed` (after writing everything) when a unit failed.

    One run at a time writes to an output folder: the run holds ``OUT/.neurobridge.lock`` (see
    :func:`~neurobridge.experiments.results.run_lock`) and a second one is refused at once.

    ``runner(name, config, store)`` runs and stores the units not yet done somewhere else than this machine's
    process pool, e.g. ``functools.partial(run_with_dask, client=client)`` on a Dask cluster
    (:mod:`neurobridge.experiments.dask_driver`)."""
    from neurobridge.experiments.results import run_lock

    _check_config(config)
    with run_lock(config.out):
        return _run_locked(config, echo=echo, runner=runner)


def _run_locked(config: RunConfig, *, echo: bool, runner) -> pd.DataFrame:
    from neurobridge.experiments.plots import plot_metrics
    from neurobridge.experiments.registry import EXPERIMENTS

    store = open_run(config)
    spec = EXPERIMENTS[config.experiment]
    experiment = experiment_for(config.experiment)
    start = time.perf_counter()
    jobs = _jobs(config)
    if runner is not None:
        runner(config.experiment, config, store)
    elif jobs > 1:
        _run_parallel(config.experiment, config, store, jobs)
    else:
        run_with_store(experiment, config, store)
    table = store.write()
    mine = table[table["experiment"] == config.experiment]
    plotting = time.perf_counter()
    plot_metrics(mine, config.out / "plots", settings={config.experiment: store.settings})
    store.add_phase("figures", time.perf_counter() - plotting, "plots")
    store.write_timings()
    failures = store.failures()
    if echo:
        print(format_summary(mine, metrics=spec.headline or None))
        print()
        print(format_timings(store.timings()))
        print(f"\n{config.experiment}: {len(mine)} rows in {config.out / 'results.csv'}, seconds per phase in "
              f"{config.out / 'timings.csv'} ({time.perf_counter() - start:.1f} s)")
    if len(failures):
        raise UnitsFailed(format_failures(failures) + f"\n(reasons in {config.out / 'failures.csv'})")
    return table
