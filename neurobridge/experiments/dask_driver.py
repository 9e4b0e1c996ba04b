"""The Dask distributed driver: the units of a run as tasks on a Dask cluster (optional extra ``distributed``).

``neurobridge sweep CONFIG --scheduler local`` (or ``neurobridge run EXPERIMENT --scheduler local``) starts a
:class:`distributed.LocalCluster` on this machine (worker processes with one thread each); ``--scheduler
tcp://HOST:PORT`` connects to the scheduler of a running cluster. Without ``--scheduler`` the local process pool of
:mod:`neurobridge.experiments.driver` runs the units, which stays the default for one machine.

How a unit runs here
    The client checks the run once (:func:`neurobridge.experiments.driver.open_run`) and submits one task per
    pending unit (``pure=False``, with ``retries``). A task builds the experiment's context once per worker process
    (:func:`neurobridge.experiments.units.context_for`), runs the same unit function as every other driver
    (:func:`neurobridge.experiments.units.run_unit`) against an in-memory record, draws the unit's figures into a
    private temporary folder and returns the record and the figure bytes. The client alone writes the output folder:
    the figures, then the unit file, each atomically, the moment the task's result arrives. So the workers need no
    shared filesystem, and a worker that dies mid-unit leaves nothing behind: the scheduler reruns its task on
    another worker (up to ``distributed.scheduler.allowed-failures`` deaths, default 3), and a unit stored before
    the death stays stored. A unit that raises is stored as failed with its reason, as with the pool; a task that
    fails outside the unit (e.g. its worker died too often, or the package is missing there) is stored as failed
    with the Dask error. Rerunning the same command resumes: stored units whose key matches are skipped.

Clusters and SLURM
    Every worker must import the same neurobridge version (the unit keys include it) and read the same data
    (``NEUROBRIDGE_DATA_PATH``). On a SLURM cluster, `dask-jobqueue <https://jobqueue.dask.org>`_ starts the
    workers as batch jobs; start a scheduler there and give its address::

        # on the login node, in a Python session that stays up (e.g. under tmux):
        from dask_jobqueue import SLURMCluster
        cluster = SLURMCluster(cores=1, processes=1, memory="8GB", walltime="02:00:00",
                               job_extra_directives=["--cpus-per-task=1"])
        cluster.scale(jobs=32)
        print(cluster.scheduler_address)          # e.g. tcp://10.0.0.5:8786

        # then, from a shell on a node that reaches it:
        neurobridge sweep sweep.json --scheduler tcp://10.0.0.5:8786

    A standalone cluster works the same way: ``dask scheduler`` on one node, ``dask worker tcp://HOST:8786
    --nthreads 1`` on the others.
"""
from __future__ import annotations

import dataclasses
import os
import re
import socket
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from neurobridge.experiments.config import RunConfig

__all__ = ["dask_client", "run_with_dask", "check_scheduler", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'neurobridge[distributed]' (or pip install 'dask[distributed]')"
_ADDRESS = re.compile(r"^(?:(tcp|tls|ucx|inproc|ws|wss)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})$")


def _distributed():
    try:
        import distributed
    except ImportError as err:
        raise ValueError(f"--scheduler needs Dask distributed, which is not installed ({err}); {INSTALL_HINT}") from None
    return distributed


def check_scheduler(scheduler: str) -> str:
    """``"local"``, or the scheduler address in full (``tcp://HOST:PORT``; a bare ``HOST:PORT`` means tcp)."""
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"--scheduler must be 'local' or a scheduler address like tcp://HOST:8786; got {scheduler!r}")
    scheduler = scheduler.strip()
    if scheduler == "local":
        return scheduler
    match = _ADDRESS.match(scheduler)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"--scheduler {scheduler!r} is not a scheduler address: give 'local' (a Dask LocalCluster on "
                         "this machine) or the address of a running Dask scheduler, tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)")
    return scheduler if match.group(1) else f"tcp://{scheduler}"


@contextmanager
def _quiet(logger_name: str):
    import logging

    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def dask_client(scheduler: str, *, workers: int | None = None, timeout: float = 20.0):
    """A :class:`distributed.Client` for ``scheduler``: ``"local"`` starts a LocalCluster of ``workers`` processes
    (default one per CPU core, up to 4), one thread each, closed on exit; an address connects to that scheduler
    (waiting up to ``timeout`` seconds)."""
    scheduler = check_scheduler(scheduler)
    distributed = _distributed()
    if scheduler == "local":
        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise ValueError(f"workers must be a positive number of worker processes; got {workers!r}")
        n = int(workers) if workers else min(4, os.cpu_count() or 1)
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            # a worker still releasing torch's threads is killed after a few seconds, once every unit is stored;
            # the nanny's warning about it says nothing to the user
            with _quiet("distributed.nanny"):
                cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as err:
        raise ValueError(f"--scheduler {scheduler}: no Dask scheduler answered there within {timeout:g} s "
                         f"({type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else 'no detail'}); start one "
                         "(dask scheduler, or dask-jobqueue's SLURMCluster) and give its address") from None
    try:
        yield client
    finally:
        client.close()


class _Record:
    """What :func:`~neurobridge.experiments.units.run_unit` stores, kept in memory for the client to write."""

    def __init__(self):
        self.record = None

    def add(self, method, fraction, seed, metrics, *, timings=None, files=(), selection=()):
        self.record = {"status": "done", "metrics": dict(metrics), "timings": dict(timings or {}), "files": list(files),
                       "selection": list(selection)}

    def fail(self, method, fraction, seed, reason, *, timings=None):
        self.record = {"status": "failed", "reason": str(reason), "timings": dict(timings or {})}


def _crash_first_time(crash_once, method: str) -> None:
    """Test hook: ``crash_once = (marker path, method)`` ends this worker process abruptly, before the unit of
    ``method`` runs, the first time only (the marker is created exclusively and holds the process id)."""
    if not crash_once or crash_once[1] != method:
        return
    try:
        fd = os.open(crash_once[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os._exit(17)


def _unit_task(name: str, config: RunConfig, settings: dict, method: str, fraction: float, seed: int,
               crash_once=None) -> dict:
    """One unit on a worker: the unit's record (done with metrics, or failed with the reason), its figures as
    bytes, the seconds spent building the context in this process, and where it ran."""
    from neurobridge.experiments.driver import _cpu_threads, experiment_for
    from neurobridge.experiments.units import context_for, run_unit

    _crash_first_time(crash_once, method)
    experiment = experiment_for(name)
    recorder = _Record()
    with tempfile.TemporaryDirectory(prefix="neurobridge-unit-") as tmp:
        private = dataclasses.replace(config, out=Path(tmp), progress=False)
        with _cpu_threads(private):
            context, seconds = context_for(experiment, private, settings)
            run_unit(experiment, private, context, settings, recorder, method, fraction, seed)
        record = recorder.record
        figures = {f: (Path(tmp) / f).read_bytes() for f in record.get("files", ())}
    return {**record, "figures": figures, "setup_seconds": seconds, "worker": f"{socket.gethostname()}-{os.getpid()}"}


def _save(store, method: str, fraction: float, seed: int, result: dict) -> bool:
    from neurobridge._io import atomic_write

    if result["status"] != "done":
        store.fail(method, fraction, seed, result["reason"], timings=result["timings"])
        return False
    for name, data in result["figures"].items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise RuntimeError(f"a worker returned a figure path outside the output folder: {name!r}")
        atomic_write(store.out / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
    store.add(method, fraction, seed, result["metrics"], timings=result["timings"], files=result["files"],
              selection=result.get("selection", ()))
    return True


def run_with_dask(name: str, config: RunConfig, store, client, *, retries: int = 2, _crash_once=None) -> None:
    """Run the config's units not yet done in ``store`` as tasks on ``client``'s cluster, storing each one here
    the moment it arrives (see the module docstring). ``retries`` reruns a task that raised outside the unit."""
    from tqdm.auto import tqdm

    from neurobridge.experiments.methods import cost_rank

    distributed = _distributed()
    pending = sorted(((f, s, m) for f, s, m in config.units() if not store.done(m, f, s)), key=lambda u: cost_rank(u[2]))
    if not pending:
        return
    if isinstance(getattr(client, "cluster", None), distributed.LocalCluster):
        from neurobridge.experiments.driver import _cpu_threads, experiment_for
        from neurobridge.experiments.units import context_for

        with _cpu_threads(config):
            _, seconds = context_for(experiment_for(name), config, store.settings)
        store.add_phase("reference models", seconds, "main")
    task_config = dataclasses.replace(config, progress=False)
    run_id = uuid.uuid4().hex[:8]
    futures = {}
    for fraction, seed, method in pending:
        future = client.submit(_unit_task, name, task_config, store.settings, method, fraction, seed, _crash_once,
                               key=f"neurobridge-{name}-{method}-f{fraction:g}-s{seed}-{run_id}", pure=False, retries=retries)
        futures[future] = (method, fraction, seed)
    setup: dict[str, float] = {}
    bar = tqdm(total=len(futures), desc=f"{name} (dask)", disable=not config.progress)
    try:
        for future in distributed.as_completed(futures):
            method, fraction, seed = futures[future]
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - stored as a failed unit with the Dask error; a rerun retries it
                reason = f"dask task failed: {type(err).__name__}: {err}".replace("\n", " ")
                store.fail(method, fraction, seed, reason)
            else:
                _save(store, method, fraction, seed, result)
                if result["setup_seconds"]:
                    setup[result["worker"]] = setup.get(result["worker"], 0.0) + result["setup_seconds"]
            bar.update(1)
            bar.set_postfix_str(f"{method} f={fraction:g} seed={seed}")
    finally:
        bar.close()
        client.cancel([f for f in futures if not f.done()])
        for worker, seconds in setup.items():
            store.add_phase("reference models", seconds, f"dask-{worker}")
