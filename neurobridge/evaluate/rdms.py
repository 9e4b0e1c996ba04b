"""Representational similarity analysis with inference, built on rsatoolbox (``pip install 'neurobridge[rsa]'``).

:func:`neurobridge.evaluate.rsa` returns one number: the correlation between two correlation-distance RDMs
(Kriegeskorte, Mur & Bandettini 2008). This module adds what a neuroscientist needs to judge that number, using
rsatoolbox (Schütt et al. 2023, eLife 12:e82566; Nili et al. 2014, PLoS Comput. Biol.) rather than reimplementing it:

- converters from assemblies to rsatoolbox ``Dataset`` and ``RDMs`` (:func:`to_dataset`, :func:`to_rdms`):
  the dissimilarity of stimuli ``i`` and ``j`` is ``1 - pearson(x_i, x_j)`` over sites (``method="correlation"``),
  trials averaged per ``stimulus_id``, stimuli in sorted ``stimulus_id`` order;
- :func:`rsa_inference`: the model RDM compared with the neural RDM (``"spearman"`` or ``"corr"``: Pearson), a
  bootstrap over stimuli (resampling stimuli with replacement, rsatoolbox's ``eval_bootstrap_pattern``) for the
  standard error, a 95 % interval and a t-test against 0, and the noise ceiling: the neural trials are split by
  ``repetition`` into ``n_rdm_splits`` groups, one RDM each, and rsatoolbox's lower/upper bounds say how well
  independent trial subsets agree with each other (a model cannot be expected to exceed the upper bound);
- :func:`plot_rdm`: rsatoolbox's ``show_rdm``.

:func:`cka_bootstrap` gives linear CKA (Kornblith et al. 2019) a bootstrap over stimuli in the same way (rsatoolbox
has no CKA).

Randomness: rsatoolbox draws its bootstrap samples from NumPy's global generator; the functions here seed it with
``seed`` for the call and restore its previous state afterwards.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, select_time_bin, validate

__all__ = ["RSAResult", "to_dataset", "to_rdms", "rsa_inference", "plot_rdm", "cka_bootstrap", "COMPARISONS"]

COMPARISONS = {"spearman": "spearman", "pearson": "corr", "corr": "corr"}


def _rsatoolbox():
    try:
        import rsatoolbox
        import rsatoolbox.data
        import rsatoolbox.inference
        import rsatoolbox.model
        import rsatoolbox.rdm
    except ImportError as error:
        raise ImportError(
            "neurobridge.evaluate.rdms needs rsatoolbox: pip install 'neurobridge[rsa]' (or pip install rsatoolbox)"
        ) from error
    return rsatoolbox


@contextlib.contextmanager
def _seeded(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _prepare(assembly, name: str) -> xr.DataArray:
    if not isinstance(assembly, xr.DataArray):
        raise TypeError(f"{name} must be an assembly (xarray.DataArray, presentation x neuroid with stimulus_id); got {type(assembly).__name__}")
    return select_time_bin(validate(assembly, name=name)).transpose(PRESENTATION, NEUROID)


def to_dataset(assembly: xr.DataArray):
    """An rsatoolbox ``Dataset``: one observation per presentation, one channel per neuroid.

    Observation descriptors: every 1-D presentation coord (``stimulus_id``, labels, ``repetition``...); channel
    descriptors: every 1-D neuroid coord (``neuroid_id``, ``region``...).
    """
    rsatoolbox = _rsatoolbox()
    assembly = _prepare(assembly, "assembly")
    obs = {k: np.asarray(c.values) for k, c in assembly.coords.items() if c.dims == (PRESENTATION,) and k != PRESENTATION}
    channels = {k: np.asarray(c.values) for k, c in assembly.coords.items() if c.dims == (NEUROID,) and k != NEUROID}
    return rsatoolbox.data.Dataset(np.asarray(assembly.values, dtype=np.float64), obs_descriptors=obs, channel_descriptors=channels)


def to_rdms(assembly: xr.DataArray, *, method: str = "correlation", split_by: str | None = None, n_splits: int = 2):
    """RDMs of ``assembly`` over its stimuli (trials averaged per ``stimulus_id``, sorted by it).

    ``split_by=None`` gives one RDM. ``split_by="repetition"`` splits the sorted unique values of that coord into
    ``n_splits`` contiguous groups and gives one RDM per group (for a noise ceiling); each group must hold every
    stimulus.
    """
    rsatoolbox = _rsatoolbox()
    assembly = _prepare(assembly, "assembly")
    if split_by is None:
        return rsatoolbox.rdm.calc_rdm(to_dataset(assembly), method=method, descriptor="stimulus_id")
    if split_by not in assembly.coords or assembly.coords[split_by].dims != (PRESENTATION,):
        raise ValueError(f"split_by={split_by!r} is not a presentation coord of the assembly (e.g. 'repetition' of trial-level data)")
    values = np.unique(assembly.coords[split_by].values)
    if not isinstance(n_splits, (int, np.integer)) or isinstance(n_splits, bool) or not 2 <= n_splits <= len(values):
        raise ValueError(f"n_splits must be an integer from 2 to the {len(values)} values of {split_by!r}; got {n_splits!r}")
    stimuli = np.unique(assembly.coords["stimulus_id"].values)
    parts = []
    for group in np.array_split(values, n_splits):
        part = assembly.isel({PRESENTATION: np.isin(assembly.coords[split_by].values, group)})
        if len(np.unique(part.coords["stimulus_id"].values)) != len(stimuli):
            raise ValueError(f"split_by={split_by!r}: the group {group.tolist()} lacks some stimuli; every group needs every stimulus")
        parts.append(rsatoolbox.rdm.calc_rdm(to_dataset(part), method=method, descriptor="stimulus_id"))
    return rsatoolbox.rdm.concat(parts)


@dataclass(frozen=True, repr=False)
class RSAResult:
    """Model-vs-neural RDM comparison with bootstrap inference and the neural noise ceiling.

    ``value``: the comparison of the model RDM with the neural RDM of all trials; ``bootstrap_mean``, ``sem`` and
    ``ci95``: over ``n_bootstrap`` resamples of the stimuli; ``p_zero``: rsatoolbox's t-test of the bootstrap
    distribution against 0; ``noise_ceiling``: ``(lower, upper)`` from RDMs of independent trial groups (None without
    trial-level neural data); ``result``: rsatoolbox's ``Result``.
    """

    value: float
    bootstrap_mean: float
    sem: float
    ci95: tuple[float, float]
    p_zero: float
    noise_ceiling: tuple[float, float] | None
    method: str
    n_stimuli: int
    n_bootstrap: int
    seed: int
    result: Any = None

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        ceiling = ("no noise ceiling (neural data not trial-level)" if self.noise_ceiling is None else
                   f"noise ceiling {self.noise_ceiling[0]:.3f} .. {self.noise_ceiling[1]:.3f}")
        return (
            f"RSAResult({self.method} RDM correlation {self.value:+.4f}, bootstrap over {self.n_stimuli} stimuli "
            f"({self.n_bootstrap} resamples, seed {self.seed}): SEM {self.sem:.4f}, 95% CI {self.ci95[0]:+.4f} .. "
            f"{self.ci95[1]:+.4f}, p(= 0) {self.p_zero:.3g}; {ceiling})"
        )


def rsa_inference(
    model_assembly: xr.DataArray,
    neural_assembly: xr.DataArray,
    *,
    method: str = "spearman",
    n_bootstrap: int = 1000,
    seed: int = 0,
    n_rdm_splits: int = 2,
) -> RSAResult:
    """Compare a model's RDM with the neural RDM, with a bootstrap over stimuli and a noise ceiling (module docstring).

    Both assemblies are restricted to their shared ``stimulus_id`` values. ``method``: ``"spearman"`` or
    ``"pearson"`` (rsatoolbox ``"corr"``), as :func:`neurobridge.evaluate.rsa`, which gives the same ``value``.
    """
    from neurobridge._validation import check_int, check_seed

    rsatoolbox = _rsatoolbox()
    if method not in COMPARISONS:
        raise ValueError(f"method={method!r} is not supported; choose one of {sorted(COMPARISONS)}")
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=10)
    seed = check_seed(seed, "seed")
    model = _prepare(model_assembly, "model_assembly")
    neural = _prepare(neural_assembly, "neural_assembly")
    shared = np.intersect1d(model.coords["stimulus_id"].values, neural.coords["stimulus_id"].values)
    if len(shared) < 4:
        raise ValueError(f"rsa_inference: the assemblies share {len(shared)} stimuli; an RDM comparison needs at least 4")
    model = model.isel({PRESENTATION: np.isin(model.coords["stimulus_id"].values, shared)})
    neural = neural.isel({PRESENTATION: np.isin(neural.coords["stimulus_id"].values, shared)})
    compare = COMPARISONS[method]
    model_rdm = to_rdms(model)
    neural_rdm = to_rdms(neural)
    value = float(rsatoolbox.rdm.compare(model_rdm, neural_rdm, method=compare)[0, 0])
    trial_level = "repetition" in neural.coords and neural.sizes[PRESENTATION] > len(shared)
    data = to_rdms(neural, split_by="repetition", n_splits=n_rdm_splits) if trial_level else neural_rdm
    fixed = rsatoolbox.model.ModelFixed("model", model_rdm)
    with _seeded(seed):
        result = rsatoolbox.inference.eval_bootstrap_pattern(fixed, data, method=compare, N=n_bootstrap,
                                                             pattern_descriptor="stimulus_id", boot_noise_ceil=False)
        ceiling = rsatoolbox.inference.boot_noise_ceiling(data, method=compare) if trial_level else None
    samples = np.asarray(result.evaluations).reshape(n_bootstrap, -1)[:, 0]
    samples = samples[np.isfinite(samples)]
    low, high = np.percentile(samples, [2.5, 97.5])
    return RSAResult(
        value=value,
        bootstrap_mean=float(samples.mean()),
        sem=float(samples.std(ddof=1)),
        ci95=(float(low), float(high)),
        p_zero=float(np.asarray(result.test_zero()).reshape(-1)[0]),
        noise_ceiling=None if ceiling is None else (float(np.mean(ceiling[0])), float(np.mean(ceiling[1]))),
        method=method,
        n_stimuli=int(len(shared)),
        n_bootstrap=n_bootstrap,
        seed=seed,
        result=result,
    )


def plot_rdm(assembly_or_rdms, *, title: str | None = None, **kwargs):
    """Show an RDM (an assembly is converted with :func:`to_rdms`) with rsatoolbox's ``show_rdm``; returns the figure.

    The colour bar is on by default and the title says what the dissimilarity is.
    """
    _rsatoolbox()  # the friendly error when rsatoolbox is missing
    import rsatoolbox.vis

    rdms = to_rdms(assembly_or_rdms) if isinstance(assembly_or_rdms, xr.DataArray) else assembly_or_rdms
    kwargs.setdefault("show_colorbar", "panel")
    fig, _, _ = rsatoolbox.vis.show_rdm(rdms, **kwargs)
    fig.suptitle(title or f"RDM: {rdms.dissimilarity_measure} distance between stimuli ({rdms.n_cond} stimuli)", fontsize=9)
    return fig


def cka_bootstrap(x, y, *, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, float]:
    """Linear CKA (:func:`neurobridge.evaluate.linear_cka`) with a bootstrap over stimuli.

    Each resample draws ``n`` stimuli with replacement (``numpy.random.default_rng(seed)``) and recomputes CKA on
    those rows of both spaces. Returns ``{"cka", "bootstrap_mean", "sem", "ci95_low", "ci95_high"}``. Duplicated
    stimuli bias CKA upwards a little (a repeated row adds the same point twice), so read the interval as a
    measure of spread over stimuli rather than an exact confidence interval.
    """
    from neurobridge._validation import check_int, check_seed
    from neurobridge.evaluate.diagnostics import linear_cka, paired

    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=10)
    seed = check_seed(seed, "seed")
    a, b = paired(x, y)
    value = linear_cka(a, b)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_bootstrap):
        rows = rng.integers(0, len(a), size=len(a))
        try:
            samples.append(linear_cka(a[rows], b[rows]))
        except ValueError:
            continue
    samples = np.asarray(samples)
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"cka": value, "bootstrap_mean": float(samples.mean()), "sem": float(samples.std(ddof=1)),
            "ci95_low": float(low), "ci95_high": float(high)}
