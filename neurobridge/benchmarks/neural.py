"""A neural-predictivity benchmark as an object: its recordings, its stimuli, its metric and its ceiling.

:class:`PredictivityBenchmark` scores a candidate (model activations, or a callable that produces them from the
benchmark's stimulus set) the way Brain-Score's ``NeuralBenchmark`` does (Schrimpf et al. 2018, 2020):

1. the recordings of one region are loaded at trial level; the ceiling is the split-half internal consistency of
   the trials (:func:`neurobridge.evaluate.internal_consistency`, Spearman-Brown corrected);
2. repetitions are averaged, and the candidate's responses to the same stimuli predict them with the benchmark's
   cross-validated regression (:func:`neurobridge.evaluate.neural_predictivity`): per split ``k`` the Pearson r of
   each site over the held-out stimuli, :math:`s_k = \\operatorname{median}_j r_{kj}`, raw
   :math:`r = \\operatorname{mean}_k s_k`;
3. score :math:`= r^2 / c` (Brain-Score's ``explained_variance``), error = SEM of the raw r over splits.

Nothing here recomputes the metric: the numbers are those of :func:`neural_predictivity` with the benchmark's
settings, which ``tests/test_brainscore_equivalence.py`` and ``tests/test_brainscore_benchmark.py`` check against
brainscore_vision itself. Recordings are cast to float64 before trials are averaged (Brain-Score averages float32
recordings in float32, which moves the ceiling by ~5e-7; on float64 data both agree to ~1e-15).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, AssemblyError, check_id_types, select_time_bin, validate

__all__ = ["PredictivityBenchmark", "BenchmarkResult"]


@dataclass(frozen=True, repr=False)
class BenchmarkResult:
    """One candidate scored on one benchmark.

    ``raw`` (mean over splits of the median Pearson r over sites), ``ceiling`` (internal consistency), ``score``
    (``raw**2 / ceiling``), ``error`` (SEM of ``raw`` over splits), ``values`` (Pearson r per split and site) and
    ``per_site`` (each site's r averaged over splits) come from ``predictivity``, the full
    :class:`neurobridge.evaluate.PredictivityResult`.
    """

    benchmark: str
    predictivity: Any

    @property
    def raw(self) -> float:
        return float(self.predictivity.raw)

    @property
    def ceiling(self) -> float:
        return float(self.predictivity.ceiling)

    @property
    def score(self) -> float:
        return float(self.predictivity.score)

    @property
    def error(self) -> float:
        return float(self.predictivity.error)

    @property
    def values(self) -> xr.DataArray:
        return self.predictivity.values

    @property
    def per_site(self) -> xr.DataArray:
        """Pearson r of each site averaged over the splits (NaN-skipping), with the sites' coords."""
        out = self.predictivity.values.mean("split", skipna=True)
        out.name = "pearson_r"
        return out

    def __float__(self) -> float:
        return self.score

    def to_dict(self) -> dict:
        """A JSON-ready summary: the numbers, the settings and every site's r."""
        p = self.predictivity
        per_site = self.per_site
        return {
            "benchmark": self.benchmark,
            "score": self.score,
            "raw": self.raw,
            "ceiling": self.ceiling,
            "error": self.error,
            "normalization": p.normalization,
            "regression": p.regression,
            "n_splits": int(p.n_splits),
            "n_sites": int(per_site.sizes[NEUROID]),
            "notes": list(p.notes),
            "per_site": {
                "neuroid_id": [str(v) for v in per_site.coords["neuroid_id"].values],
                "pearson_r": [None if not math.isfinite(v) else float(v) for v in per_site.values.tolist()],
            },
        }

    def __repr__(self) -> str:
        return (
            f"BenchmarkResult({self.benchmark}: score={self.score:.4f} [r^2/ceiling], raw r={self.raw:.4f} "
            f"+/- {self.error:.4f} SEM over {self.predictivity.n_splits} splits, ceiling={self.ceiling:.4f}, "
            f"{self.per_site.sizes[NEUROID]} sites)"
        )


class PredictivityBenchmark:
    """A MajajHong2015-style neural-predictivity benchmark (see the module docstring for the maths).

    - ``identifier``: the name :func:`neurobridge.benchmarks.load` knows it by;
    - ``dataset``: a :func:`neurobridge.load` name with trial-level data (``majajhong2015.public``, ...);
    - ``region``: the recorded region ("IT", "V4");
    - ``regression``, ``n_components``, ``stratify_by``, ``train_size``, ``n_splits``: passed to
      :func:`neurobridge.evaluate.neural_predictivity` (Brain-Score's defaults: PLS, 25 components, stratified by
      ``object_name``, 10 splits of 90 % / 10 %);
    - ``stimuli``: the HvM stimulus variant the recordings were made with (``public``, ``slice25``, ...).

    Call it with an assembly (``presentation x neuroid`` with ``stimulus_id``; stimuli beyond the benchmark's are
    ignored, missing ones are an error) or with a callable that takes :attr:`stimulus_set` (a DataFrame with
    ``stimulus_id``, ``image_path`` and the labels) and returns such an assembly.
    """

    def __init__(
        self,
        identifier: str,
        *,
        dataset: str,
        region: str,
        stimuli: str,
        regression: str = "pls",
        n_components: int = 25,
        stratify_by: str | None = "object_name",
        train_size: float = 0.9,
        n_splits: int = 10,
        description: str = "",
    ):
        self._identifier = identifier
        self.dataset = dataset
        self.region = region
        self.stimuli_variant = stimuli
        self.regression = regression
        self.n_components = n_components
        self.stratify_by = stratify_by
        self.train_size = train_size
        self.n_splits = n_splits
        self.description = description
        self._trials: xr.DataArray | None = None
        self._ceiling = None
        self._stimulus_set: pd.DataFrame | None = None

    @property
    def identifier(self) -> str:
        return self._identifier

    def __repr__(self) -> str:
        regression = f"pls, {self.n_components} components" if self.regression == "pls" else self.regression
        split = f"stratified by {self.stratify_by}" if self.stratify_by else "unstratified"
        return (
            f"PredictivityBenchmark({self._identifier!r}: {self.dataset} {self.region}, {regression}, "
            f"{self.n_splits} splits {self.train_size:.0%}/{1 - self.train_size:.0%} {split}, ceiling = "
            f"internal consistency, score = r^2/ceiling)"
        )

    def neural_assembly(self, *, average: bool = False) -> xr.DataArray:
        """The region's recordings in float64, trials sorted by ``stimulus_id``: trial level (default) or averaged.

        Sorting fixes the order of the averaged stimuli, which the seeded splits index into: Brain-Score's
        ``average_repetition`` (an xarray groupby over the presentation index, ``stimulus_id`` first) returns the
        stimuli sorted by ``stimulus_id``, and so does averaging these trials.
        """
        if self._trials is None:
            from neurobridge.datasets import load

            trials = load(self.dataset, region=self.region, average=False)
            order = np.argsort(trials.coords["stimulus_id"].values, kind="stable")
            self._trials = trials.isel({PRESENTATION: order}).astype(np.float64, keep_attrs=True)
        if average:
            from neurobridge.assemblies import average_repetitions

            return average_repetitions(self._trials)
        return self._trials

    @property
    def stimulus_ids(self) -> np.ndarray:
        """The benchmark's stimulus ids, once each, sorted."""
        return pd.unique(self.neural_assembly().coords["stimulus_id"].values)

    @property
    def stimulus_set(self) -> pd.DataFrame:
        """One row per stimulus: ``stimulus_id``, ``image_path`` and the label columns (object_name, ...)."""
        if self._stimulus_set is None:
            from neurobridge.datasets.hvm import image_paths

            ids = self.stimulus_ids
            paths = image_paths(self.stimuli_variant)
            missing = [s for s in ids if s not in paths]
            if missing:
                raise AssemblyError(
                    f"{self._identifier}: {len(missing)} of its {len(ids)} stimuli have no image in the HvM variant "
                    f"{self.stimuli_variant!r} (e.g. {missing[:3]}); check that its stimulus files are complete"
                )
            averaged = self.neural_assembly(average=True)
            frame = {"stimulus_id": ids, "image_path": [str(paths[s]) for s in ids]}
            for coord in ("object_name", "category_name", "variation"):
                if coord in averaged.coords:
                    frame[coord] = averaged.coords[coord].values
            self._stimulus_set = pd.DataFrame(frame)
        return self._stimulus_set.copy()

    def load_stimuli(self, *, size: int | tuple[int, int] = 64, mode: str = "RGB") -> xr.DataArray:
        """The benchmark's images as a pixel assembly (for :func:`neurobridge.activations.record_activations`)."""
        from neurobridge.assemblies import flatten_pixels
        from neurobridge.datasets.images import read_images

        frame = self.stimulus_set
        images = read_images(frame["image_path"].tolist(), size=size, mode=mode)
        labels = {c: frame[c].to_numpy() for c in frame.columns if c not in ("stimulus_id", "image_path")}
        return flatten_pixels(images, stimulus_id=frame["stimulus_id"].to_numpy(), presentation=labels, name="stimuli")

    @property
    def ceiling(self):
        """The internal-consistency ceiling of the trials (a :class:`neurobridge.evaluate.CeilingResult`)."""
        if self._ceiling is None:
            from neurobridge.evaluate.predictivity import internal_consistency

            self._ceiling = internal_consistency(self.neural_assembly())
        return self._ceiling

    def _candidate_assembly(self, candidate) -> xr.DataArray:
        if isinstance(candidate, xr.DataArray):
            activations = candidate
        elif callable(candidate):
            activations = candidate(self.stimulus_set)
            if not isinstance(activations, xr.DataArray):
                raise TypeError(
                    f"{self._identifier}: the candidate callable must return an assembly (xarray.DataArray, "
                    f"presentation x neuroid with stimulus_id); it returned {type(activations).__name__}"
                )
        else:
            raise TypeError(
                f"{self._identifier}: candidate must be an activations assembly or a callable stimulus_set -> assembly; "
                f"got {type(candidate).__name__}"
            )
        activations = select_time_bin(validate(activations, name="candidate activations"))
        ids = activations.coords["stimulus_id"].values
        if len(pd.unique(ids)) < len(ids):
            raise AssemblyError(f"{self._identifier}: the candidate activations repeat stimulus ids; give one presentation per stimulus")
        wanted = self.stimulus_ids
        check_id_types(ids, wanted, ("the candidate activations", "the benchmark"), where=self._identifier)
        position = pd.Index(ids).get_indexer(wanted)
        if (position < 0).any():
            missing = wanted[position < 0]
            raise AssemblyError(
                f"{self._identifier}: the candidate activations lack {len(missing)} of the benchmark's {len(wanted)} "
                f"stimuli (e.g. {missing[:3].tolist()}); compute them on benchmark.stimulus_set"
            )
        return activations.isel({PRESENTATION: position})

    def __call__(self, candidate: xr.DataArray | Callable[[pd.DataFrame], xr.DataArray]) -> BenchmarkResult:
        """Score ``candidate`` (activations, or a callable ``stimulus_set -> activations``)."""
        from neurobridge.evaluate.predictivity import neural_predictivity

        activations = self._candidate_assembly(candidate)
        result = neural_predictivity(
            activations,
            self.neural_assembly(),
            ceiling=self.ceiling,
            regression=self.regression,
            stratify_by=self.stratify_by,
            normalization="r2_over_c",
            trials="average",
            n_splits=self.n_splits,
            train_size=self.train_size,
            n_components=self.n_components,
        )
        return BenchmarkResult(benchmark=self._identifier, predictivity=result)
