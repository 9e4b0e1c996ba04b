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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, AssemblyError, check_id_types, select_time_bin, validate

__all__ = ["PredictivityBenchmark", "BenchmarkResult", "LayerScores", "LayerSelection"]


@dataclass(frozen=True, repr=False)
class BenchmarkResult:
    """One candidate (one layer) scored on one benchmark.

    ``raw`` (mean over splits of the median Pearson r over sites, signed), ``ceiling`` (internal consistency),
    ``score`` (``raw**2 / ceiling``: the sign is squared away, so read it beside ``raw``), ``error`` (SEM of ``raw``
    over splits), ``per_split`` (the per-split medians) and ``spread`` (their min, max and sd), ``values`` (Pearson
    r per split and site), ``per_site`` (each site's r averaged over splits), ``flags`` (``"negative_r"``,
    ``"small_test_split"``) and ``notes`` come from ``predictivity``, the full
    :class:`neurobridge.evaluate.PredictivityResult`. ``layer`` names the layer when the candidate was one layer of a
    multi-layer assembly.
    """

    benchmark: str
    predictivity: Any
    layer: str | None = None

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
    def per_split(self) -> np.ndarray:
        return self.predictivity.per_split

    @property
    def spread(self) -> dict[str, float]:
        return self.predictivity.spread

    @property
    def flags(self) -> tuple[str, ...]:
        return self.predictivity.flags

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self.predictivity.notes)

    @property
    def per_site(self) -> xr.DataArray:
        """Pearson r of each site averaged over the splits (NaN-skipping), with the sites' coords."""
        out = self.predictivity.values.mean("split", skipna=True)
        out.name = "pearson_r"
        return out

    def __float__(self) -> float:
        return self.score

    def to_dataframe(self) -> pd.DataFrame:
        """The tidy table behind the numbers: one row per split x site.

        Columns: ``benchmark``, ``layer``, ``split``, ``neuroid_id`` (and the sites' other coords, e.g. ``region``),
        ``pearson_r`` (that site's r on that split's test stimuli), ``split_median`` (:math:`s_k`, the median over
        sites of that split), ``test_stimuli`` (distinct test stimuli of that split). ``raw`` is the mean of
        ``split_median`` over splits.
        """
        values = self.predictivity.values
        n_splits, n_sites = values.shape
        frame = {
            "benchmark": self.benchmark,
            "layer": self.layer,
            "split": np.repeat(values.coords["split"].values, n_sites),
        }
        for key, coord in values.coords.items():
            if coord.dims == (NEUROID,):
                frame[key] = np.tile(coord.values, n_splits)
        frame["pearson_r"] = values.values.reshape(-1)
        frame["split_median"] = np.repeat(self.per_split, n_sites)
        tested = self.predictivity.test_stimuli
        frame["test_stimuli"] = np.repeat(np.asarray(tested if len(tested) else [-1] * n_splits), n_sites)
        return pd.DataFrame(frame)

    def to_dict(self) -> dict:
        """A JSON-ready summary: the numbers, their spread and flags, the settings and every site's r."""
        p = self.predictivity
        per_site = self.per_site
        finite = lambda v: None if not math.isfinite(v) else float(v)  # noqa: E731
        return {
            "benchmark": self.benchmark,
            "layer": self.layer,
            "score": self.score,
            "raw": self.raw,
            "ceiling": self.ceiling,
            "error": self.error,
            "per_split": [finite(v) for v in self.per_split.tolist()],
            "spread": {k: finite(v) for k, v in self.spread.items()},
            "test_stimuli": [int(v) for v in p.test_stimuli],
            "flags": list(self.flags),
            "normalization": p.normalization,
            "regression": p.regression,
            "n_splits": int(p.n_splits),
            "n_sites": int(per_site.sizes[NEUROID]),
            "notes": list(p.notes),
            "per_site": {
                "neuroid_id": [str(v) for v in per_site.coords["neuroid_id"].values],
                "pearson_r": [finite(v) for v in per_site.values.tolist()],
            },
        }

    def __repr__(self) -> str:
        from neurobridge.evaluate.predictivity import describe_flags, describe_spread

        layer = f" layer {self.layer!r}" if self.layer is not None else ""
        return (
            f"BenchmarkResult({self.benchmark}{layer}: score={self.score:.4f} [r^2/ceiling], raw r={self.raw:+.4f} "
            f"+/- {self.error:.4f} SEM over {self.predictivity.n_splits} splits"
            f"{describe_spread(self.per_split, self.predictivity.test_stimuli)}, ceiling={self.ceiling:.4f}, "
            f"{self.per_site.sizes[NEUROID]} sites{describe_flags(self.flags)})"
        )


def _summary_row(result: BenchmarkResult) -> dict:
    spread = result.spread
    return {"layer": result.layer, "raw_r": result.raw, "sd_over_splits": spread["sd"], "min_split_r": spread["min"],
            "max_split_r": spread["max"], "sem": result.error, "ceiling": result.ceiling, "score": result.score,
            "flags": ",".join(result.flags)}


class LayerScores(Mapping):
    """Each layer of a multi-layer assembly scored separately on one benchmark: ``layer -> BenchmarkResult``.

    ``table()`` has one row per layer (raw r, its sd/min/max over splits, SEM, ceiling, score, flags);
    ``to_dataframe()`` is the tidy layer x split x site table. Every layer is scored on the same stimuli and
    splits, so picking the highest row here and quoting its score is optimistic (the choice and the score share
    their noise); :meth:`PredictivityBenchmark.select_layer` chooses on some stimuli and reports on others.
    """

    def __init__(self, benchmark: str, results: dict[str, BenchmarkResult]):
        self.benchmark = benchmark
        self._results = dict(results)

    def __getitem__(self, layer: str) -> BenchmarkResult:
        return self._results[layer]

    def __iter__(self):
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([_summary_row(r) for r in self._results.values()])

    def to_dataframe(self) -> pd.DataFrame:
        return pd.concat([r.to_dataframe() for r in self._results.values()], ignore_index=True)

    def __repr__(self) -> str:
        return (
            f"LayerScores({self.benchmark}, {len(self)} layers, each scored alone on the same stimuli; the highest row "
            f"is an optimistic pick, see select_layer):\n{format_table(self.table())}"
        )


@dataclass(frozen=True, repr=False)
class LayerSelection:
    """A layer committed as Brain-Score commits one: chosen on ``selection_stimuli``, reported on the others.

    ``selected``: the layer with the highest signed raw r on the selection stimuli (the first on a tie);
    ``selection`` / ``report``: :class:`LayerScores` on the two stimulus sets; ``result``: the selected layer's
    :class:`BenchmarkResult` on the report stimuli, the number to quote; ``split_wins``: per layer, the fraction of
    the selection splits on which it had the highest per-split median r, a tie shared equally (how often the choice
    would have been the same on one split alone: 1.0 is a clear choice, near ``1 / n_layers`` a coin toss).
    """

    benchmark: str
    selected: str
    result: BenchmarkResult
    selection: LayerScores
    report: LayerScores
    split_wins: dict
    selection_stimuli: np.ndarray
    report_stimuli: np.ndarray
    seed: int | None

    def table(self) -> pd.DataFrame:
        """One row per layer: selection-set raw r and sd over splits, split wins, report-set raw r, sd and score."""
        rows = []
        for layer in self.selection:
            chosen, reported = self.selection[layer], self.report[layer]
            rows.append({"layer": layer, "selected": layer == self.selected, "selection_raw_r": chosen.raw,
                         "selection_sd": chosen.spread["sd"], "split_wins": self.split_wins[layer],
                         "report_raw_r": reported.raw, "report_sd": reported.spread["sd"], "report_score": reported.score,
                         "flags": ",".join(sorted(set(chosen.flags) | set(reported.flags)))})
        return pd.DataFrame(rows)

    def to_dataframe(self) -> pd.DataFrame:
        """The tidy layer x split x site table of both stimulus sets (column ``stimuli``: selection or report)."""
        return pd.concat([self.selection.to_dataframe().assign(stimuli="selection"),
                          self.report.to_dataframe().assign(stimuli="report")], ignore_index=True)

    def __repr__(self) -> str:
        r = self.result
        return (
            f"LayerSelection({self.benchmark}: selected layer {self.selected!r} by signed raw r on "
            f"{len(self.selection_stimuli)} selection stimuli (best on {self.split_wins[self.selected]:.0%} of their "
            f"splits); on the other {len(self.report_stimuli)} stimuli raw r={r.raw:+.4f} +/- {r.error:.4f} SEM, "
            f"per-split sd {r.spread['sd']:.4f}, score={r.score:.4f} [r^2/ceiling]"
            f"{', flags: ' + ','.join(r.flags) if r.flags else ''})\n{format_table(self.table())}"
        )


def format_table(frame: pd.DataFrame) -> str:
    """A fixed-width text table with 4-decimal floats (signed for r columns)."""
    def cell(column, value):
        if isinstance(value, (float, np.floating)):
            return f"{value:+.4f}" if "r" in column.split("_") else f"{value:.4f}"
        return str(value)

    rows = [[cell(c, v) for c, v in zip(frame.columns, row)] for row in frame.itertuples(index=False)]
    widths = [max([len(str(c))] + [len(r[i]) for r in rows]) for i, c in enumerate(frame.columns)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(frame.columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


class PredictivityBenchmark:
    """A MajajHong2015-style neural-predictivity benchmark (see the module docstring for the maths).

    - ``identifier``: the name :func:`neurobridge.benchmarks.load` knows it by;
    - ``dataset``: a :func:`neurobridge.load` name with trial-level data (``majajhong2015.public``, ...);
    - ``region``: the recorded region ("IT", "V4");
    - ``regression``, ``n_components``, ``stratify_by``, ``train_size``, ``n_splits``: passed to
      :func:`neurobridge.evaluate.neural_predictivity` (Brain-Score's defaults: PLS, 25 components, stratified by
      ``object_name``, 10 splits of 90 % / 10 %);
    - ``stimuli``: the HvM stimulus variant the recordings were made with (``public``, ``slice25``, ...);
    - ``min_test_stimuli``: fewer distinct stimuli than this in a test split warns and flags the result.

    One layer at a time: an assembly whose ``layer`` neuroid coord holds several layers is refused by ``__call__``
    (one regression on all layers concatenated is not a model Brain-Score would commit to); :meth:`score_layers`
    scores each layer alone and :meth:`select_layer` chooses one on some stimuli and reports it on others.

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
        min_test_stimuli: int = 10,
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
        self.min_test_stimuli = min_test_stimuli
        self._trials: xr.DataArray | None = None
        self._averaged: xr.DataArray | None = None
        self._subsets: dict[str, tuple] = {}
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
            if self._averaged is None:
                from neurobridge.assemblies import average_repetitions

                self._averaged = average_repetitions(self._trials)
            return self._averaged.copy()
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
            from neurobridge.evaluate.ceiling import internal_consistency

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
        """Score ``candidate`` (activations of one layer, or a callable ``stimulus_set -> activations``)."""
        activations = self._candidate_assembly(candidate)
        layers = _layers(activations)
        if len(layers) > 1:
            shown = ", ".join(repr(v) for v in layers[:5]) + (", ..." if len(layers) > 5 else "")
            raise ValueError(
                f"{self._identifier}: the candidate activations hold {len(layers)} layers ({shown}) in their 'layer' "
                "coord; scoring them together would fit one regression to all layers concatenated. Score each layer "
                "alone with benchmark.score_layers(activations), choose one with benchmark.select_layer(activations), "
                f"or pass one layer (activations.isel(neuroid=activations.layer == {layers[0]!r})); to score the "
                "concatenation on purpose, drop the coord first (activations.drop_vars('layer'))"
            )
        return self._score(activations, None, layers[0] if layers else None)

    def score_layers(self, candidate, *, layers: list[str] | None = None) -> LayerScores:
        """Score each layer of a multi-layer assembly (``layer`` neuroid coord) alone, on all the stimuli.

        ``layers``: the layers to score, in order (default: all, in the assembly's order). Same splits and
        ceiling for every layer, so the table compares layers fairly; quoting the best row's score is optimistic
        (use :meth:`select_layer`).
        """
        activations = self._candidate_assembly(candidate)
        layers = self._check_layers(activations, layers)
        return LayerScores(self._identifier, {layer: self._score(_one_layer(activations, layer), None, layer) for layer in layers})

    def select_layer(
        self,
        candidate,
        *,
        layers: list[str] | None = None,
        selection_fraction: float = 0.5,
        seed: int = 0,
        selection_stimuli=None,
    ) -> LayerSelection:
        """Commit a layer as Brain-Score does: choose it on one set of stimuli, report its score on the others.

        Brain-Score's layer commitment picks each region's layer on the public MajajHong2015 images and scores it
        on the private ones (Schrimpf et al. 2020). Here the benchmark's stimuli are split in two (a seeded draw of
        ``selection_fraction`` of them, stratified by ``stratify_by`` when every class has two stimuli or more) or
        ``selection_stimuli`` gives the selection ids. Each layer is scored on the selection stimuli with the
        benchmark's metric and a ceiling from their trials; the layer with the highest signed raw r wins (the
        squared score would let an anticorrelated layer win). Every layer is then scored the same way on the report
        stimuli, and the selected layer's result there is the number to quote.
        """
        from neurobridge._validation import check_float, check_seed

        activations = self._candidate_assembly(candidate)
        layers = self._check_layers(activations, layers)
        ids = self.stimulus_ids
        if selection_stimuli is None:
            selection_fraction = check_float(selection_fraction, "selection_fraction", low=0, high=1, low_open=True, high_open=True)
            seed = check_seed(seed, "seed")
            chosen = self._draw_selection(ids, selection_fraction, seed)
        else:
            chosen = np.asarray(selection_stimuli)
            unknown = np.setdiff1d(chosen, ids)
            if unknown.size:
                raise ValueError(f"selection_stimuli: {unknown.size} ids are not stimuli of {self._identifier} (e.g. {unknown[:3].tolist()})")
            seed = None
        chosen = np.intersect1d(ids, chosen)
        rest = np.setdiff1d(ids, chosen)
        if len(chosen) < 4 or len(rest) < 4:
            raise ValueError(
                f"select_layer: {len(chosen)} selection and {len(rest)} report stimuli; each side needs at least 4. "
                "Change selection_fraction or selection_stimuli, or use a benchmark with more stimuli"
            )
        selection = LayerScores(self._identifier, {name: self._score(_one_layer(activations, name), chosen, name) for name in layers})
        report = LayerScores(self._identifier, {name: self._score(_one_layer(activations, name), rest, name) for name in layers})
        raws = np.array([selection[name].raw for name in layers])
        selected = layers[int(np.nanargmax(raws))]
        per_split = np.stack([selection[name].per_split for name in layers])
        per_split = np.where(np.isnan(per_split), -np.inf, per_split)
        best = per_split == per_split.max(axis=0, keepdims=True)
        shares = best / best.sum(axis=0, keepdims=True)
        wins = {name: float(shares[i].mean()) for i, name in enumerate(layers)}
        return LayerSelection(self._identifier, selected, report[selected], selection, report, wins, chosen, rest, seed)

    def _draw_selection(self, ids: np.ndarray, fraction: float, seed: int) -> np.ndarray:
        from sklearn.model_selection import train_test_split

        labels = None
        averaged = self.neural_assembly(average=True)
        if self.stratify_by is not None and self.stratify_by in averaged.coords:
            position = pd.Index(averaged.coords["stimulus_id"].values).get_indexer(ids)
            candidate = np.asarray(averaged.coords[self.stratify_by].values)[position]
            _, counts = np.unique(candidate, return_counts=True)
            labels = candidate if counts.min() >= 2 else None
        chosen, _ = train_test_split(ids, train_size=fraction, random_state=seed, stratify=labels)
        return np.asarray(chosen)

    def _check_layers(self, activations: xr.DataArray, layers) -> list[str]:
        present = _layers(activations)
        if not present:
            raise ValueError(
                f"{self._identifier}: the candidate activations have no 'layer' neuroid coord; score a single assembly "
                "with benchmark(activations), or record with neurobridge.activations.record_activations (which adds it)"
            )
        if layers is None:
            return present
        if isinstance(layers, str):
            layers = [layers]
        missing = [name for name in layers if name not in present]
        if missing or not layers:
            raise ValueError(f"layers={list(layers)!r}: {missing or 'none given'} not among the assembly's layers {present}")
        return list(layers)

    def _subset(self, stimuli) -> tuple[xr.DataArray, Any]:
        """The repetition-averaged recordings of ``stimuli`` and the ceiling of their trials, computed once per set
        (every layer of a selection is scored on the same two sets)."""
        from neurobridge.assemblies import average_repetitions
        from neurobridge.evaluate.ceiling import internal_consistency

        key = "\0".join(np.sort(np.asarray(stimuli).astype(str)))
        if key not in self._subsets:
            trials = self.neural_assembly()
            trials = trials.isel({PRESENTATION: np.isin(trials.coords["stimulus_id"].values, stimuli)})
            if len(self._subsets) >= 4:
                self._subsets.clear()
            self._subsets[key] = (average_repetitions(trials), internal_consistency(trials))
        neural, ceiling = self._subsets[key]
        return neural.copy(), ceiling

    def _score(self, activations: xr.DataArray, stimuli, layer) -> BenchmarkResult:
        from neurobridge.evaluate.predictivity import neural_predictivity

        neural, ceiling = self.neural_assembly(average=True), self.ceiling
        if stimuli is not None:
            neural, ceiling = self._subset(stimuli)
            activations = activations.isel({PRESENTATION: np.isin(activations.coords["stimulus_id"].values, stimuli)})
        result = neural_predictivity(
            activations,
            neural,
            ceiling=ceiling,
            regression=self.regression,
            stratify_by=self.stratify_by,
            normalization="r2_over_c",
            trials="average",
            n_splits=self.n_splits,
            train_size=self.train_size,
            n_components=self.n_components,
            min_test_stimuli=self.min_test_stimuli,
        )
        return BenchmarkResult(benchmark=self._identifier, predictivity=result, layer=layer)


def _layers(activations: xr.DataArray) -> list[str]:
    """The distinct values of the ``layer`` neuroid coord, in order of first appearance (empty without it)."""
    if "layer" not in activations.coords or activations.coords["layer"].dims != (NEUROID,):
        return []
    return [str(v) for v in pd.unique(activations.coords["layer"].values)]


def _one_layer(activations: xr.DataArray, layer: str) -> xr.DataArray:
    return activations.isel({NEUROID: np.flatnonzero(activations.coords["layer"].values.astype(str) == layer)})
