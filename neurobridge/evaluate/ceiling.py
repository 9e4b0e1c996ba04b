"""The noise ceiling of neural data: Brain-Score-exact split-half internal consistency with Spearman-Brown
correction (:func:`internal_consistency`), which :func:`neurobridge.evaluate.neural_predictivity` divides by.

Ceiling (:func:`internal_consistency`)
    ``K = 10`` draws of ``ShuffleSplit(train_size=0.5, random_state=1)`` over the sorted unique ``repetition``
    values; each half of the trials is averaged per stimulus, the Pearson r of each neuroid between the halves is
    Spearman-Brown corrected, :math:`\\tilde r = 2r / (1 + r)`, and :math:`c = \\operatorname{mean}_k
    \\operatorname{median}_j \\tilde r_{kj}`.

Numerics: computed in float64 (see :mod:`neurobridge.evaluate.predictivity`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit

from neurobridge._validation import check_float, check_int
from neurobridge.assemblies import (
    NEUROID,
    PRESENTATION,
    AssemblyError,
    average_repetitions,
    neuroid_coords,
    select_time_bin,
    validate,
)
from neurobridge.evaluate._stats import mean_and_sem, nan_median, pearson_columns, spearman_brown

__all__ = ["CeilingResult", "internal_consistency"]


@dataclass(frozen=True, repr=False)
class CeilingResult:
    """Split-half internal consistency with Spearman-Brown correction (the noise ceiling).

    ``raw`` (= ``score`` = ``ceiling``) is the mean over splits of the median corrected r; ``error`` its SEM over
    splits; ``values`` the corrected r per split and neuroid (dims ``split x neuroid``, neuroid coords kept);
    ``uncorrected`` the same before the correction.
    """

    raw: float
    error: float
    values: xr.DataArray
    uncorrected: xr.DataArray
    n_splits: int
    normalization: str = "spearman_brown"

    @property
    def score(self) -> float:
        return self.raw

    @property
    def ceiling(self) -> float:
        return self.raw

    @property
    def per_split(self) -> np.ndarray:
        return nan_median(self.values.values, axis=1)

    def __float__(self) -> float:
        return float(self.raw)

    def __repr__(self) -> str:
        return (
            f"CeilingResult(ceiling={self.raw:.4f} +/- {self.error:.4f} SEM over {self.n_splits} split-halves, "
            f"normalization='spearman_brown' [2r/(1+r) of the half-split Pearson r], "
            f"median over {self.values.sizes[NEUROID]} neuroids)"
        )


def internal_consistency(
    assembly: xr.DataArray,
    *,
    n_splits: int = 10,
    train_size: float = 0.5,
    random_state: int = 1,
    split_coord: str = "repetition",
) -> CeilingResult:
    """Split-half internal consistency of trial-level data, as Brain-Score's ``internal_consistency`` ceiling.

    ``assembly`` has one presentation per trial and a ``split_coord`` (``repetition``) coord along presentation.
    The sorted unique ``split_coord`` values are split ``n_splits`` times by ``ShuffleSplit(train_size=train_size,
    random_state=random_state)``; trials of each half are averaged per ``stimulus_id``; per neuroid the Pearson r
    between the halves is corrected with Spearman-Brown (n = 2); the result is the mean over splits of the
    median over neuroids (Schrimpf et al. 2018).
    """
    assembly = _prepare(assembly, "assembly")
    if split_coord not in assembly.coords or assembly.coords[split_coord].dims != (PRESENTATION,):
        raise AssemblyError(
            f"internal_consistency: assembly has no {split_coord!r} coord along presentation; it needs trial-level "
            "data (one presentation per trial) with a repetition number per trial"
        )
    check_int(n_splits, "n_splits", low=1)
    check_float(train_size, "train_size", low=0, high=1, low_open=True, high_open=True)
    reps = np.unique(assembly.coords[split_coord].values)
    if len(reps) < 2:
        raise AssemblyError(f"internal_consistency: {split_coord!r} takes a single value ({reps[0]!r}); at least 2 repetitions are needed")
    splitter = ShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=None, random_state=random_state)
    rep_values = assembly.coords[split_coord].values
    corrected, uncorrected = [], []
    for half_a, half_b in splitter.split(np.zeros(len(reps))):
        a = average_repetitions(assembly.isel({PRESENTATION: np.flatnonzero(np.isin(rep_values, reps[half_a]))}))
        b = average_repetitions(assembly.isel({PRESENTATION: np.flatnonzero(np.isin(rep_values, reps[half_b]))}))
        a, b = _common_stimuli(a, b)
        r = pearson_columns(a.values, b.values)
        uncorrected.append(r)
        corrected.append(spearman_brown(r, 2.0))
    corrected = np.stack(corrected)
    if np.isnan(corrected).all():
        warnings.warn(
            "internal_consistency: every neuroid is constant over the stimuli in some half of every split, so no "
            "split-half correlation is defined and the ceiling is NaN; check that the responses vary across stimuli",
            UserWarning,
            stacklevel=2,
        )
    per_split = nan_median(corrected, axis=1)
    mean, sem = mean_and_sem(per_split)
    return CeilingResult(
        raw=mean,
        error=sem,
        values=_split_neuroid(corrected, assembly, "spearman_brown_r"),
        uncorrected=_split_neuroid(np.stack(uncorrected), assembly, "half_split_r"),
        n_splits=int(n_splits),
    )


def _prepare(assembly, name: str) -> xr.DataArray:
    assembly = validate(assembly, name=name)
    try:
        return select_time_bin(assembly)
    except AssemblyError as error:
        raise AssemblyError(f"{name}: {error}; select one time bin first (neurobridge.assemblies.select_time_bin)") from error


def _common_stimuli(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    ida, idb = a.coords["stimulus_id"].values, b.coords["stimulus_id"].values
    shared = np.intersect1d(ida, idb)
    if len(shared) < len(ida) or len(shared) < len(idb):
        warnings.warn(
            f"internal_consistency: {len(ida) + len(idb) - 2 * len(shared)} stimuli have trials in only one half of a "
            "split and are left out of that split",
            UserWarning,
            stacklevel=3,
        )
    pos_a = np.searchsorted(np.sort(ida), shared)
    pos_b = np.searchsorted(np.sort(idb), shared)
    return a.isel({PRESENTATION: np.argsort(ida, kind="stable")[pos_a]}), b.isel({PRESENTATION: np.argsort(idb, kind="stable")[pos_b]})


def _split_neuroid(values: np.ndarray, assembly: xr.DataArray, name: str) -> xr.DataArray:
    coords = {key: (NEUROID, assembly.coords[key].values) for key in neuroid_coords(assembly)}
    coords["split"] = ("split", np.arange(values.shape[0]))
    return xr.DataArray(values, dims=("split", NEUROID), coords=coords, name=name)
