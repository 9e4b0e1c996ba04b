"""Experiments that measure the method against baselines: ``neurobridge run digits | mnist | text-image |
imagenet-features | majaj``, ``neurobridge sweep`` and ``neurobridge report`` (see the README's "Experiments").

From Python, :func:`run` does what ``neurobridge run`` does and returns the results table; :func:`format_summary`
prints it as the run's summary does (methods as rows, fractions as columns, ``mean ± sd`` over seeds).
"""
from __future__ import annotations

from neurobridge._lazy import lazy_names

_NAMES = {"format_summary": "results", "summarize": "results", "EXPERIMENTS": "registry"}

__getattr__, _public = lazy_names("neurobridge.experiments", _NAMES)
__all__ = sorted([*_public, "run"])


def run(experiment: str, *, fractions=None, seeds=None, methods=None, out=None, quick: bool = False,
        device: str = "auto", progress: bool = True, resume: bool = True, jobs: int = 0, options: dict | None = None):
    """Run an experiment as ``neurobridge run EXPERIMENT`` does and return its results table.

    Parameters
    ----------
    experiment : a name in :data:`EXPERIMENTS` (``"digits"``, ``"mnist"``, ``"text-image"``,
        ``"imagenet-features"``, ``"majaj"``).
    fractions, seeds, methods : labelled fractions in (0, 1], seeds and method names; ``None`` takes the
        experiment's defaults (its quick defaults with ``quick=True``); ``methods=("all",)`` runs every listed method.
    out : output folder (default ``results/<experiment>``); a rerun with the same settings reuses the units done.
    quick : the small, fast variant (as ``--quick``).
    device, progress, resume : as ``--device``, ``--no-progress`` (inverted) and ``--fresh`` (inverted).
    jobs : worker processes (0 = one per CPU core, up to 4), as ``--jobs``.
    options : experiment options (``--option KEY=VALUE``), e.g. ``{"region": "V4"}`` for majaj.

    Returns
    -------
    pandas.DataFrame
        One row per (method, fraction, seed, metric), as ``results.csv``.
    """
    from neurobridge.experiments.cli import _make_config
    from neurobridge.experiments.driver import run_experiment
    from neurobridge.experiments.registry import EXPERIMENTS

    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    config = _make_config(experiment, fractions, seeds, methods, quick, out, device, progress, resume,
                          {"jobs": jobs, **(options or {})})
    return run_experiment(config)
