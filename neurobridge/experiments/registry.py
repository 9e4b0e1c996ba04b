"""The experiments ``neurobridge run`` knows, and the driver that runs one."""
from __future__ import annotations

import importlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.plots import plot_metrics
from neurobridge.experiments.results import ResultStore, format_summary

__all__ = ["ExperimentSpec", "EXPERIMENTS", "run_experiment"]


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    module: str
    description: str
    methods: tuple[str, ...]
    defaults: dict
    quick_defaults: dict
    headline: tuple[str, ...] = field(default_factory=tuple)

    def runner(self):
        return importlib.import_module(self.module).run


_IMAGE_LABEL_METHODS = (
    "bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow",
    "ridge", "pls", "procrustes", "e2e-logreg", "e2e-cnn", "e2e-fused-vae",
)
_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 1.0)

EXPERIMENTS = {
    spec.name: spec
    for spec in (
        ExperimentSpec(
            "digits", "neurobridge.experiments.digits",
            "scikit-learn digits: image latents <-> label latents; recognition and generation (the embedded default)",
            _IMAGE_LABEL_METHODS,
            defaults={"fractions": _FRACTIONS, "seeds": (0, 1, 2), "methods": _IMAGE_LABEL_METHODS},
            quick_defaults={"fractions": (0.05, 1.0), "seeds": (0,), "methods": ("bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg", "e2e-fused-vae")},
            headline=("recognition_accuracy", "generation_accuracy", "generation_frechet"),
        ),
        ExperimentSpec(
            "mnist", "neurobridge.experiments.mnist",
            "MNIST: conv-VAE latents <-> label-VAE latents (50k unimodal / 10k pool / 10k test)",
            _IMAGE_LABEL_METHODS,
            defaults={"fractions": _FRACTIONS, "seeds": (0, 1, 2), "methods": _IMAGE_LABEL_METHODS},
            quick_defaults={"fractions": (0.05,), "seeds": (0,), "methods": ("bridge-ot", "supervised-flow", "ridge", "e2e-logreg")},
            headline=("recognition_accuracy", "generation_accuracy", "generation_frechet"),
        ),
        ExperimentSpec(
            "text-image", "neurobridge.experiments.text_image",
            "image latents (digits or MNIST) -> all-MiniLM-L6-v2 embeddings of class prompts; recognition = nearest prompt",
            ("bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg"),
            defaults={"fractions": (0.01, 0.05, 0.1, 0.2), "seeds": (0, 1, 2), "methods": ("bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg")},
            quick_defaults={"fractions": (0.05,), "seeds": (0,), "methods": ("bridge-ot", "supervised-flow", "ridge")},
            headline=("recognition_accuracy",),
        ),
        ExperimentSpec(
            "imagenet-features", "neurobridge.experiments.text_image",
            "your own image features (--option features=PATH.npz --option classes=names.txt) -> class-prompt text embeddings",
            ("bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg"),
            defaults={"fractions": (0.01, 0.05, 0.1, 0.2), "seeds": (0, 1, 2), "methods": ("bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg")},
            quick_defaults={"fractions": (0.1,), "seeds": (0,), "methods": ("bridge-ot", "ridge")},
            headline=("recognition_accuracy",),
        ),
        ExperimentSpec(
            "majaj", "neurobridge.experiments.majaj",
            "MajajHong2015 IT/V4 responses -> a CNN layer on the same HvM images; identification and neural predictivity",
            ("bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg", "model-layer"),
            defaults={"fractions": (0.2, 0.4, 0.6), "seeds": (0, 1, 2), "methods": ("bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg", "model-layer")},
            quick_defaults={"fractions": (0.4,), "seeds": (0,), "methods": ("bridge-ot", "supervised-flow", "ridge", "e2e-logreg", "model-layer")},
            headline=("category_accuracy", "image_top1", "neural_predictivity"),
        ),
    )
}


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
    import os

    from neurobridge._device import resolve_device

    jobs = int(config.options.get("jobs") or 0)
    if jobs < 1:
        jobs = min(4, os.cpu_count() or 1) if resolve_device(config.device).type == "cpu" else 1
    return max(1, min(jobs, len(config.units())))


def _worker(name: str, config: RunConfig) -> None:
    spec = EXPERIMENTS[name]
    store = ResultStore(config.out, name, resume=True, worker=True)
    with _cpu_threads(config):
        spec.runner()(config, store)


def _run_parallel(spec: ExperimentSpec, config: RunConfig, jobs: int) -> None:
    """Run ``jobs`` worker processes (spawned, one CPU thread each) that take units one at a time as they free up
    (see :meth:`ResultStore.claim`). The reference models are trained first in this process, so the workers find
    them in the cache; each unit's result file is written atomically."""
    import dataclasses
    import multiprocessing

    module = importlib.import_module(spec.module)
    if hasattr(module, "prepare"):
        with _cpu_threads(config):
            module.prepare(config)
    context = multiprocessing.get_context("spawn")
    processes = []
    for k in range(jobs):
        options = {**config.options, "jobs": 1}
        worker_config = dataclasses.replace(config, options=options, progress=config.progress and k == 0)
        process = context.Process(target=_worker, args=(spec.name, worker_config))
        process.start()
        processes.append(process)
    failed = []
    for process in processes:
        process.join()
        if process.exitcode != 0:
            failed.append(process.exitcode)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(processes)} worker processes failed (exit codes {failed}); "
                           "finished units are kept: run the same command again to resume")


def run_experiment(config: RunConfig, *, echo: bool = False) -> pd.DataFrame:
    """Run ``config`` (resuming finished units), write results.csv/.nc and plots, and return the results table."""
    spec = EXPERIMENTS[config.experiment]
    store = ResultStore(config.out, config.experiment, resume=config.resume)
    start = time.perf_counter()
    jobs = _jobs(config)
    if jobs > 1:
        _run_parallel(spec, config, jobs)
    else:
        with _cpu_threads(config):
            spec.runner()(config, store)
    table = store.write()
    mine = table[table["experiment"] == config.experiment]
    plot_metrics(mine, config.out / "plots")
    if echo:
        print(format_summary(mine, metrics=spec.headline or None))
        print(f"\n{config.experiment}: {len(mine)} rows in {config.out / 'results.csv'} ({time.perf_counter() - start:.1f} s)")
    return table
