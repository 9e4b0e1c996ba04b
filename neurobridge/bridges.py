"""Bridges: the few labelled exemplar pairs ``(x~_k, y~_k)``, ``k = 1..K``, that connect a source and a target space.

A bridge pairs a source exemplar with a target exemplar, either

- *paired* (``match="stimulus_id"``): the same stimulus seen by both spaces, or
- *label-matched* (``match="<label coord>"``, e.g. ``"category_name"``): a source exemplar and a target exemplar
  (or class prototype) of the same class.

The labelled fraction ``K / n`` is the method's knob (Gholamzadeh & Sajid 2025, arXiv:2505.12322). Exemplars are
drawn stratified by class and seeded: class ``c`` with ``n_c`` candidates gets ``round(fraction * n_c)`` exemplars
(at least ``min_per_class``), or, with ``count=K``, a share of ``K`` proportional to ``n_c`` (largest remainders).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ._validation import check_float, check_int, check_positions, check_seed
from .assemblies import LABEL_COORDS, PRESENTATION, check_id_types, is_trial_level, validate

__all__ = ["Bridges", "BridgeError"]

_ALL = "(all)"


class BridgeError(ValueError):
    """Bridges cannot be drawn as asked; the message says why and what to change."""


def _as_1d(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise BridgeError(f"{name} must be 1-D (one entry per point); got shape {arr.shape}")
    if arr.size == 0:
        raise BridgeError(f"{name} is empty; it needs one entry per point")
    return arr


def _allocate(groups: pd.Series, fraction: float | None, count: int | None, min_per_class: int, way_out: str = "") -> pd.Series:
    """Exemplars per class: ``groups`` holds the number of candidates per class; ``way_out`` ends error messages."""
    sizes = groups.astype(int)
    if count is not None:
        _check_min_per_class(sizes, min_per_class)
        floor_total = min_per_class * len(sizes)
        if count < floor_total:
            raise BridgeError(
                f"count={count} is too small to give each of the {len(sizes)} classes {min_per_class} exemplar(s); "
                f"raise count to at least {floor_total}, pass min_per_class=0{way_out.format(count=count)}"
            )
        if count > int(sizes.sum()):
            raise BridgeError(f"count={count} exceeds the {int(sizes.sum())} candidate source points; lower it")
        raw = sizes / sizes.sum() * count
        alloc = np.floor(raw).astype(int)
        alloc = np.maximum(alloc, np.minimum(min_per_class, sizes))
        excess = int(alloc.sum()) - count
        remainders = (raw - np.floor(raw)).sort_values(ascending=False, kind="stable")
        order = list(remainders.index)
        while excess < 0:
            for key in order:
                if excess == 0:
                    break
                if alloc[key] < sizes[key]:
                    alloc[key] += 1
                    excess += 1
        while excess > 0:
            for key in reversed(order):
                if excess == 0:
                    break
                if alloc[key] > min_per_class:
                    alloc[key] -= 1
                    excess -= 1
        return alloc.astype(int)
    _check_min_per_class(sizes, min_per_class)
    alloc = np.round(sizes * fraction + 1e-9).astype(int)
    return np.minimum(np.maximum(alloc, min_per_class), sizes).astype(int)


def _warn_inflated(taken: int, candidates: int, fraction: float | None, n_classes: int, min_per_class: int, by: str,
                   way_out: str) -> None:
    """Warn when a fraction gave more bridges than ``round(fraction * candidates)``, with the number and the reason.

    Per-class rounding alone moves the total by at most half a bridge per class; such an excess (at most
    ``n_classes / 2`` bridges and at most 10 % of those asked) is the stratification's own rounding, not an inflated
    fraction, and passes silently."""
    if fraction is None:
        return
    asked = int(np.round(fraction * candidates + 1e-9))
    if taken <= asked or (taken - asked <= n_classes / 2 and taken - asked <= 0.1 * asked):
        return
    import warnings

    warnings.warn(
        f"Bridges.sample: fraction={fraction:g} of {candidates} candidate points asks for {asked} bridges, but {taken} "
        f"were drawn ({taken / candidates:.0%} labelled, not {fraction:.0%}): the draw is stratified by {by} "
        f"({n_classes} classes), and each class gets round(fraction * its size), at least min_per_class="
        f"{min_per_class}. For about {max(asked, 1)} bridges{way_out}",
        UserWarning,
        stacklevel=4,
    )


def _check_min_per_class(sizes: pd.Series, min_per_class: int) -> None:
    short = sizes[sizes < min_per_class]
    if len(short):
        detail = ", ".join(f"{k!r}: {int(v)}" for k, v in list(short.items())[:5])
        raise BridgeError(
            f"min_per_class={min_per_class} cannot be met: {len(short)} class(es) have fewer candidate points "
            f"({detail}{', ...' if len(short) > 5 else ''}); lower min_per_class or add points of those classes"
        )


@dataclass(frozen=True, repr=False)
class Bridges:
    """``K`` bridges between a source pool of ``n_source`` points and a target pool of ``n_target`` points.

    Attributes
    ----------
    source_index, target_index : int64 arrays of length ``K``; bridge ``k`` pairs source position
        ``source_index[k]`` with target position ``target_index[k]``.
    labels : the class label of each bridge, or ``None`` when no labels are known.
    match : ``"stimulus_id"`` (paired), the label coord used for label matching, or ``"index"`` (given directly).
    counts_per_class : number of bridges per class (a pandas Series; index ``"(all)"`` when unlabelled).
    n_source, n_target : sizes of the pools the positions refer to (``None`` if unknown).
    seed : the seed the bridges were drawn with.
    """

    source_index: np.ndarray
    target_index: np.ndarray
    labels: np.ndarray | None
    match: str
    counts_per_class: pd.Series
    n_source: int | None = None
    n_target: int | None = None
    seed: int | None = None
    fraction: float | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        try:
            si = check_positions(self.source_index, self.n_source, "source_index")
            ti = check_positions(self.target_index, self.n_target, "target_index")
        except ValueError as error:
            raise BridgeError(str(error)) from None
        if ti.shape != si.shape:
            raise BridgeError(f"source_index and target_index must be 1-D of equal length; got shapes {si.shape} and {ti.shape}")
        si.setflags(write=False)
        ti.setflags(write=False)
        object.__setattr__(self, "source_index", si)
        object.__setattr__(self, "target_index", ti)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.shape != si.shape:
                raise BridgeError(f"labels must have one entry per bridge ({si.size}); got shape {labels.shape}")
            labels.setflags(write=False)
            object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return int(self.source_index.size)

    @property
    def K(self) -> int:
        """The number of bridges."""
        return len(self)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in list(self.counts_per_class.items())[:8])
        if len(self.counts_per_class) > 8:
            counts += f", ... ({len(self.counts_per_class)} classes)"
        frac = f", fraction={self.fraction:g}" if self.fraction is not None else ""
        pools = f", pools={self.n_source} x {self.n_target}" if self.n_source is not None else ""
        return f"Bridges(K={self.K}, match={self.match!r}{frac}{pools}, seed={self.seed}, per class {{{counts}}})"

    def source_exemplars(self, x):
        """Rows of ``x`` (the source pool, array or tensor) that are source exemplars, in bridge order."""
        return x[self.source_index] if not isinstance(x, xr.DataArray) else x.isel({PRESENTATION: self.source_index})

    def target_exemplars(self, y):
        """Rows of ``y`` (the target pool) that are target exemplars, in bridge order."""
        return y[self.target_index] if not isinstance(y, xr.DataArray) else y.isel({PRESENTATION: self.target_index})

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_indices(cls, source_index, target_index, labels=None, *, n_source=None, n_target=None, match: str = "index") -> Bridges:
        """Bridges given directly as positions (``source_index[k]`` pairs with ``target_index[k]``)."""
        si = _as_1d(source_index, "source_index")
        ti = _as_1d(target_index, "target_index")
        if si.shape != ti.shape:
            raise BridgeError(f"source_index has {si.size} entries but target_index has {ti.size}; bridges pair them one to one")
        lab = None if labels is None else _as_1d(labels, "labels")
        counts = pd.Series({_ALL: si.size}) if lab is None else pd.Series(lab).value_counts(sort=False).sort_index()
        return cls(si, ti, lab, match, counts, n_source=n_source, n_target=n_target)

    @classmethod
    def from_labels(cls, source_labels, target_labels, fraction: float | None = None, *, count: int | None = None, seed: int = 0, min_per_class: int = 1) -> Bridges:
        """Label-matched bridges from plain label arrays (one label per source / target point)."""
        return cls.sample(
            _as_1d(source_labels, "source_labels"), _as_1d(target_labels, "target_labels"), fraction, "label", seed,
            count=count, min_per_class=min_per_class,
        )

    @classmethod
    def sample(
        cls,
        source,
        target,
        fraction: float | None = None,
        match: str = "stimulus_id",
        seed: int = 0,
        *,
        count: int | None = None,
        stratify_by: str | None = "auto",
        min_per_class: int = 1,
    ) -> Bridges:
        """Draw bridges between two assemblies (or 1-D id / label arrays).

        Parameters
        ----------
        source, target : ``presentation x neuroid`` assemblies (see :mod:`neurobridge.assemblies`), or 1-D arrays
            of stimulus ids (``match="stimulus_id"``) or labels (label matching).
        fraction : the labelled fraction in ``(0, 1]`` of the candidate source points; or pass ``count``.
        match : ``"stimulus_id"`` pairs presentations of the same stimulus; any other value names a label coord
            present in both assemblies (e.g. ``"category_name"``): each source exemplar is then paired with a
            target exemplar of the same class, drawn without replacement while the class has unused targets.
        seed : seed of the draw (NumPy ``default_rng``).
        count : the number of bridges ``K`` instead of a fraction.
        stratify_by : for ``match="stimulus_id"``, the label coord of the source to stratify by; ``"auto"`` takes the
            first of ``object_name``, ``category_name``, ``label`` present, ``None`` draws unstratified.
        min_per_class : exemplars every class must receive; a class that cannot get them is an error.

        The candidate source points are those whose stimulus also occurs in the target (paired) or all source
        points (label-matched); ``fraction`` applies to them, class by class.
        """
        if (fraction is None) == (count is None):
            raise BridgeError("pass exactly one of fraction= (labelled fraction in (0, 1]) or count= (number of bridges)")
        try:
            fraction = check_float(fraction, "fraction (the labelled fraction)", low=0, high=1, low_open=True, allow_none=True)
            count = check_int(count, "count (the number of bridges)", low=1, allow_none=True)
            min_per_class = check_int(min_per_class, "min_per_class", low=0)
            seed = check_seed(seed)
        except ValueError as error:
            raise BridgeError(f"{error}{'. Use count= for an absolute number of bridges' if 'fraction' in str(error) else ''}") from None
        if not isinstance(match, str):
            raise BridgeError(f"match must be 'stimulus_id' or the name of a label coord; got {match!r}")

        if match == "stimulus_id":
            src_ids, src_strat, strat_name = cls._ids_and_strata(source, "source", stratify_by)
            tgt_ids = cls._ids(target, "target")
            check_id_types(src_ids, tgt_ids, ("source", "target"), where="Bridges.sample")
            return cls._paired(src_ids, tgt_ids, src_strat, strat_name, fraction, count, seed, min_per_class)
        src_labels = cls._labels(source, match, "source")
        tgt_labels = cls._labels(target, match, "target")
        return cls._label_matched(src_labels, tgt_labels, fraction, count, seed, min_per_class, match)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _ids(obj, name: str) -> np.ndarray:
        if isinstance(obj, xr.DataArray):
            obj = validate(obj, name=name, allow_nan=True)
            if is_trial_level(obj):
                raise BridgeError(f"{name} is trial-level (repeated stimulus_id); average it first with neurobridge.assemblies.average_repetitions")
            return np.asarray(obj.coords["stimulus_id"].values)
        ids = _as_1d(obj, f"{name} stimulus ids")
        if pd.Index(ids).has_duplicates:
            raise BridgeError(f"{name} stimulus ids contain duplicates; each point needs a unique stimulus_id")
        return ids

    @classmethod
    def _ids_and_strata(cls, obj, name: str, stratify_by):
        ids = cls._ids(obj, name)
        if stratify_by is None or not isinstance(obj, xr.DataArray):
            if stratify_by not in (None, "auto") and not isinstance(obj, xr.DataArray):
                raise BridgeError(f"stratify_by={stratify_by!r} needs {name} to be an assembly with that coord")
            return ids, None, None
        if stratify_by == "auto":
            present = [c for c in LABEL_COORDS if c in obj.coords and obj.coords[c].dims == (PRESENTATION,)]
            if not present:
                return ids, None, None
            stratify_by = present[0]
        if stratify_by not in obj.coords:
            raise BridgeError(f"stratify_by={stratify_by!r} is not a coord of {name}; present coords: {sorted(map(str, obj.coords))}")
        return ids, np.asarray(obj.coords[stratify_by].values), stratify_by

    @staticmethod
    def _labels(obj, coord: str, name: str) -> np.ndarray:
        if isinstance(obj, xr.DataArray):
            obj = validate(obj, name=name, allow_nan=True)
            if coord not in obj.coords or obj.coords[coord].dims != (PRESENTATION,):
                raise BridgeError(
                    f"match={coord!r}: {name} has no label coord {coord!r} along presentation; present coords: "
                    f"{sorted(map(str, obj.coords))}. Use match='stimulus_id' for paired data"
                )
            return np.asarray(obj.coords[coord].values)
        return _as_1d(obj, f"{name} labels")

    @staticmethod
    def _draw(candidates: dict, alloc: pd.Series, rng: np.random.Generator) -> dict:
        return {key: np.sort(rng.choice(candidates[key], size=int(alloc[key]), replace=False)) for key in alloc.index if alloc[key] > 0}

    @classmethod
    def _paired(cls, src_ids, tgt_ids, strata, strat_name, fraction, count, seed, min_per_class):
        position = pd.Index(tgt_ids).get_indexer(src_ids)
        shared = np.flatnonzero(position >= 0)
        if shared.size == 0:
            raise BridgeError(
                f"source and target share no stimulus_id (e.g. source {list(src_ids[:3])}, target {list(tgt_ids[:3])}); "
                "paired bridges need common stimuli, or match on a label coord instead"
            )
        keys = strata[shared] if strata is not None else np.full(shared.size, _ALL, dtype=object)
        groups = pd.Series(keys).groupby(keys, sort=True).size()
        way_out = (f" or pass stratify_by=None (an unstratified draw of exactly {{count}} bridges from the {shared.size} "
                   "shared stimuli)" if strata is not None else "")
        alloc = _allocate(groups, fraction, count, min_per_class if strata is not None else 0, way_out)
        if int(alloc.sum()) == 0:
            raise BridgeError(f"fraction={fraction} of {shared.size} shared stimuli rounds to zero bridges; raise fraction or pass count=")
        if strata is not None:
            _warn_inflated(int(alloc.sum()), int(shared.size), fraction, len(groups), min_per_class, repr(strat_name),
                           " pass stratify_by=None (an unstratified draw)")
        candidates = {key: shared[keys == key] for key in groups.index}
        rng = np.random.default_rng(seed)
        chosen = cls._draw(candidates, alloc, rng)
        si = np.sort(np.concatenate(list(chosen.values())))
        labels = strata[si] if strata is not None else None
        counts = alloc[alloc > 0] if strata is not None else pd.Series({_ALL: si.size})
        return cls(si, position[si], labels, "stimulus_id", counts, n_source=len(src_ids), n_target=len(tgt_ids), seed=seed,
                   fraction=fraction, info={"stratify_by": strat_name, "candidates": int(shared.size)})

    @classmethod
    def _label_matched(cls, src_labels, tgt_labels, fraction, count, seed, min_per_class, match):
        groups = pd.Series(src_labels).groupby(src_labels, sort=True).size()
        tgt_groups = pd.Series(tgt_labels).groupby(tgt_labels, sort=True).size()
        missing = [c for c in groups.index if c not in tgt_groups.index]
        if missing and min_per_class > 0:
            raise BridgeError(
                f"match={match!r}: source classes {missing[:5]} have no target point, so they cannot get the required "
                f"{min_per_class} exemplar(s); add target points of those classes or pass min_per_class=0"
            )
        groups = groups.drop(missing)
        if groups.empty:
            raise BridgeError(f"match={match!r}: source and target share no class label")
        alloc = _allocate(groups, fraction, count, min_per_class)
        if int(alloc.sum()) == 0:
            raise BridgeError(f"fraction={fraction} rounds to zero bridges; raise fraction or pass count=")
        _warn_inflated(int(alloc.sum()), int(groups.sum()), fraction, len(groups), min_per_class, repr(match),
                       " pass min_per_class=0 (classes whose share rounds to 0 then get none)")
        rng = np.random.default_rng(seed)
        src_cand = {key: np.flatnonzero(src_labels == key) for key in groups.index}
        chosen = cls._draw(src_cand, alloc, rng)
        si_parts, ti_parts = [], []
        for key, src in chosen.items():
            tgt_pool = np.flatnonzero(tgt_labels == key)
            reps = -(-src.size // tgt_pool.size)
            tgt = np.concatenate([rng.permutation(tgt_pool) for _ in range(reps)])[: src.size]
            si_parts.append(src)
            ti_parts.append(tgt)
        si = np.concatenate(si_parts)
        ti = np.concatenate(ti_parts)
        order = np.argsort(si, kind="stable")
        si, ti = si[order], ti[order]
        return cls(si, ti, src_labels[si], match, alloc[alloc > 0], n_source=len(src_labels), n_target=len(tgt_labels), seed=seed,
                   fraction=fraction, info={"candidates": int(groups.sum())})
