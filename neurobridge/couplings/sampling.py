"""Training pairs from a coupling: pair samplers shared with the flow trainer, and hard assignments.

Every sampler has ``sample(batch_size, rng) -> (source_index, target_index)``: ``batch_size`` int64 positions into
the source pool ``X`` and the target pool ``Y``, drawn only through the NumPy generator ``rng`` (so a seeded
generator gives the same pairs). Modes (Gholamzadeh & Sajid 2025, arXiv:2505.12322):

- global, :class:`PlanSampler`: one plan ``P`` over the pools; source rows are drawn by the plan's row marginal
  (or uniformly), then ``j ~ P[i, :] / sum_j P[i, :]``;
- local, :class:`~neurobridge.couplings.minibatch.MinibatchBridgeSampler`: per batch, a ``B x B`` OT problem on the
  bridge cost through the fixed exemplar bank (its own module);
- Setting 2, :class:`~neurobridge.couplings.exemplar.ExemplarSampler`;
- supervised-only, :class:`BridgeSampler`: the ``K`` bridges alone.
"""
from __future__ import annotations

import numpy as np
import torch

from .._epochs import EpochRows
from ..flows.pairs import PairSampler
from .errors import CouplingError
from .groups import repeated_lines

__all__ = [
    "PairSampler",
    "EpochRows",
    "EpochStateMixin",
    "PlanSampler",
    "BridgeSampler",
    "sample_pairs",
    "hard_assignment",
    "pairs_for_epoch",
    "PinnedBridges",
]


def _check_batch(batch_size, rng) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise CouplingError(f"batch_size must be a positive integer; got {batch_size!r}")
    if not isinstance(rng, np.random.Generator):
        raise CouplingError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); got {type(rng).__name__}")
    return int(batch_size)


def _plan_array(plan, name: str = "plan") -> np.ndarray:
    if isinstance(plan, torch.Tensor):
        plan = plan.detach().to("cpu", torch.float64).numpy()
    P = np.asarray(plan, dtype=np.float64)
    if P.ndim != 2 or P.size == 0:
        raise CouplingError(f"{name} must be a non-empty 2-D (n x m) array; got shape {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise CouplingError(f"{name} must be finite and non-negative; fix the solver output first")
    return P


_CDF_CACHE_ENTRIES = 1 << 24
"""Plans with at most this many entries keep their row-wise cumulative sums (8 bytes each) for sampling."""


def _row_cdf(P: np.ndarray) -> np.ndarray:
    return np.cumsum(P, axis=1)


def _count_below(cdf: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``#{j : cdf[rows[k], j] < values[k]}`` for each ``k`` by a vectorised binary search over the non-decreasing
    rows of ``cdf`` (the same count as ``(cdf[rows] < values[:, None]).sum(1)``, in ``O(B log m)``)."""
    m = cdf.shape[1]
    lo = np.zeros(len(rows), dtype=np.int64)
    hi = np.full(len(rows), m, dtype=np.int64)
    for _ in range(int(m).bit_length()):
        mid = (lo + hi) >> 1
        below = cdf[rows, np.minimum(mid, m - 1)] < values
        active = lo < hi
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)
    return lo


def _row_mass(cdf: np.ndarray, lines: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Total mass of the plan rows ``rows`` (their running sums are ``cdf[lines]``); an error names rows without any."""
    total = cdf[lines, -1]
    if (total <= 0).any():
        bad = rows[total <= 0][:5].tolist()
        raise CouplingError(f"plan rows {bad} carry no mass, so no target can be drawn for them; use row_weights='marginal'")
    return total


def _draw_in_rows(P: np.ndarray, rows: np.ndarray, rng: np.random.Generator, cdf: np.ndarray | None = None) -> np.ndarray:
    """``j ~ P[i, :] / sum_j P[i, :]`` for each ``i`` in ``rows`` by inverse CDF (one uniform ``u`` per row):
    ``j = #{j' : F_i(j') < u F_i(m)}`` with ``F_i`` the running sum of row ``i``. ``cdf`` is ``np.cumsum(P, axis=1)``
    when the caller keeps it (then the draw is a binary search per row; the same numbers either way)."""
    if cdf is None:
        cdf = np.cumsum(P[rows], axis=1)
        rows_in_cdf = np.arange(len(rows))
    else:
        rows_in_cdf = rows
    total = _row_mass(cdf, rows_in_cdf, rows)
    u = rng.random(len(rows)) * total
    j = _count_below(cdf, rows_in_cdf, u)
    return np.minimum(j, P.shape[1] - 1).astype(np.int64)


class _RepeatedPlan:
    """``j ~ P[i, :]`` for a plan whose rows and/or columns repeat exactly (label codes on one side), drawn from the
    distinct lines only: a row ``i`` reads the running sums of its distinct row; with repeated columns a draw picks
    the column group ``g`` by the group's mass ``|g| P[i, rep_g]``, then one of its ``|g|`` equal columns uniformly.
    The same distribution as :func:`_draw_in_rows` on the full plan, in ``O(n_u m_u)`` memory."""

    def __init__(self, plan: np.ndarray, rows, cols):
        n = plan.shape[0]
        self.row_of = np.arange(n) if rows is None else rows[1].cpu().numpy()
        distinct = np.arange(n) if rows is None else rows[0].cpu().numpy()
        if cols is None:
            self.counts = None
            compact = plan[distinct]
        else:
            reps, col_of = cols[0].cpu().numpy(), cols[1].cpu().numpy()
            self.counts = np.bincount(col_of, minlength=reps.size)
            self.members = np.argsort(col_of, kind="stable")
            self.start = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
            compact = plan[np.ix_(distinct, reps)] * self.counts
        self.cdf = np.cumsum(compact, axis=1)

    @classmethod
    def of(cls, plan: np.ndarray) -> _RepeatedPlan | None:
        rows, cols = repeated_lines(plan, 0), repeated_lines(plan, 1)
        return None if rows is None and cols is None else cls(plan, rows, cols)

    def draw(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        r = self.row_of[rows]
        total = _row_mass(self.cdf, r, rows)
        g = np.minimum(_count_below(self.cdf, r, rng.random(len(rows)) * total), self.cdf.shape[1] - 1)
        if self.counts is None:
            return g.astype(np.int64)
        k = np.minimum((rng.random(len(rows)) * self.counts[g]).astype(np.int64), self.counts[g] - 1)
        return self.members[self.start[g] + k].astype(np.int64)


class EpochStateMixin:
    """Checkpointing for samplers that draw rows through an :class:`EpochRows` held as ``self._epoch``."""

    def _uniform_or_epoch(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        if self.row_weights == "uniform":
            return rng.integers(0, self._epoch.n, size=batch_size)
        return self._epoch.take(batch_size, rng)

    def state_dict(self) -> dict:
        return self._epoch.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._epoch.load_state_dict(state)


class PlanSampler(EpochStateMixin):
    """Global mode: pairs from a dense plan ``P`` (``n x m``).

    ``sample`` draws ``i`` by the plan's row marginal (``row_weights="marginal"``), uniformly (``"uniform"``), or
    as successive blocks of a random permutation of the rows (``"epoch"``: each source point once per pass), then
    ``j ~ P[i, :] / sum_j P[i, :]`` by inverse CDF. Plans of at most :data:`_CDF_CACHE_ENTRIES` entries keep their
    row-wise running sums; larger ones whose rows or columns repeat exactly (label codes) keep those of the distinct
    lines (:class:`_RepeatedPlan`); other large plans sum the drawn rows at every call.
    """

    def __init__(self, plan, *, row_weights: str = "marginal"):
        if row_weights not in ("marginal", "uniform", "epoch"):
            raise CouplingError(f"row_weights must be 'marginal', 'uniform' or 'epoch'; got {row_weights!r}")
        self.plan = _plan_array(plan)
        self.row_weights = row_weights
        mass = self.plan.sum(1)
        if mass.sum() <= 0:
            raise CouplingError("plan carries no mass; nothing to sample")
        self._row_p = mass / mass.sum()
        row_cdf = self._row_p.cumsum()
        self._row_cdf = row_cdf / row_cdf[-1]
        self._cdf = _row_cdf(self.plan) if self.plan.size <= _CDF_CACHE_ENTRIES else None
        self._repeated = _RepeatedPlan.of(self.plan) if self._cdf is None else None
        self._epoch = EpochRows(self.plan.shape[0])

    def _rows(self, batch_size: int, rng) -> np.ndarray:
        if self.row_weights == "marginal":
            # the draw of ``rng.choice(n, size, p=row_p)`` (normalised running sum, one uniform each, right
            # search), without re-validating and re-summing ``row_p`` on every call: the same numbers
            return self._row_cdf.searchsorted(rng.random(batch_size), side="right")
        return self._uniform_or_epoch(batch_size, rng)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        batch_size = _check_batch(batch_size, rng)
        rows = self._rows(batch_size, rng).astype(np.int64)
        if self._repeated is not None:
            return rows, self._repeated.draw(rows, rng)
        return rows, _draw_in_rows(self.plan, rows, rng, self._cdf)


class BridgeSampler:
    """Supervised-only mode: pairs drawn from the ``K`` bridges alone (uniformly, with replacement, or in epochs)."""

    def __init__(self, bridges=None, *, source_index=None, target_index=None, replace: bool = True):
        if bridges is not None:
            source_index, target_index = bridges.source_index, bridges.target_index
        if source_index is None or target_index is None:
            raise CouplingError("BridgeSampler needs a Bridges object or source_index and target_index")
        self.source_index = np.asarray(source_index, dtype=np.int64)
        self.target_index = np.asarray(target_index, dtype=np.int64)
        if self.source_index.shape != self.target_index.shape or self.source_index.ndim != 1 or self.source_index.size == 0:
            raise CouplingError(f"source_index and target_index must be non-empty 1-D of equal length; got {self.source_index.shape} and {self.target_index.shape}")
        self.replace = replace
        self._epoch = EpochRows(self.source_index.size)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        batch_size = _check_batch(batch_size, rng)
        K = self.source_index.size
        if self.replace:
            k = rng.integers(0, K, size=batch_size)
        else:
            k = self._epoch.take(batch_size, rng)
        return self.source_index[k], self.target_index[k]


def sample_pairs(plan, rng: np.random.Generator, *, per_row: int = 1, replace: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For every source row ``i``, ``per_row`` targets ``j ~ P[i, :] / sum_j P[i, :]``, with or without replacement
    (without: the Gumbel top-k trick, Kool, van Hoof & Welling 2019). Rows without mass are skipped."""
    if not isinstance(rng, np.random.Generator):
        raise CouplingError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    P = _plan_array(plan)
    if isinstance(per_row, bool) or not isinstance(per_row, (int, np.integer)) or per_row < 1:
        raise CouplingError(f"per_row must be a positive integer; got {per_row!r}")
    rows = np.flatnonzero(P.sum(1) > 0)
    if replace:
        src = np.repeat(rows, per_row)
        return src.astype(np.int64), _draw_in_rows(P, src, rng)
    support = (P[rows] > 0).sum(1)
    if (support < per_row).any():
        raise CouplingError(f"per_row={per_row} without replacement needs {per_row} targets with mass in every row; some rows have {int(support.min())}")
    with np.errstate(divide="ignore"):
        keys = np.log(P[rows]) + rng.gumbel(size=P[rows].shape)
    top = np.argpartition(-keys, per_row - 1, axis=1)[:, :per_row]
    return np.repeat(rows, per_row).astype(np.int64), top.reshape(-1).astype(np.int64)


def hard_assignment(plan, method: str = "hungarian") -> tuple[np.ndarray, np.ndarray]:
    """A deterministic assignment from a plan: ``"argmax"`` (each source row to its heaviest target) or
    ``"hungarian"`` (the one-to-one matching of maximal plan mass, ``scipy.optimize.linear_sum_assignment``;
    ``min(n, m)`` pairs)."""
    P = _plan_array(plan)
    if method == "argmax":
        return np.arange(P.shape[0], dtype=np.int64), P.argmax(axis=1).astype(np.int64)
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment

        r, c = linear_sum_assignment(P, maximize=True)
        return r.astype(np.int64), c.astype(np.int64)
    raise CouplingError(f"method must be 'hungarian' or 'argmax'; got {method!r}")


def pairs_for_epoch(sampler, n_pairs: int, rng: np.random.Generator, *, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` pairs from any pair sampler, drawn in batches of ``batch_size`` (e.g. the pairs of one epoch)."""
    if not hasattr(sampler, "sample"):
        raise CouplingError(f"sampler must have a sample(batch_size, rng) method; got {type(sampler).__name__}")
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
        raise CouplingError(f"n_pairs must be a positive integer; got {n_pairs!r}")
    src, tgt = [], []
    done = 0
    while done < n_pairs:
        s, t = sampler.sample(min(batch_size, n_pairs - done), rng)
        src.append(s)
        tgt.append(t)
        done += len(s)
    return np.concatenate(src)[:n_pairs], np.concatenate(tgt)[:n_pairs]


class PinnedBridges:
    """Wrap a pair sampler so that a sampled source point that is itself a bridge gets its known partner.

    The coupling proposes partners for every point, labelled or not; for the ``K`` bridges the partner is known, so
    the plan's guess is replaced by the truth (a bridge with several partners gets one of them, uniformly).
    """

    def __init__(self, sampler, bridges):
        self.sampler = sampler
        order = np.argsort(bridges.source_index, kind="stable")
        self._sources = np.asarray(bridges.source_index)[order]
        self._targets = np.asarray(bridges.target_index)[order]

    def state_dict(self) -> dict:
        inner = getattr(self.sampler, "state_dict", None)
        return inner() if callable(inner) else {}

    def load_state_dict(self, state: dict) -> None:
        if callable(getattr(self.sampler, "load_state_dict", None)):
            self.sampler.load_state_dict(state)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        src, tgt = self.sampler.sample(batch_size, rng)
        lo = np.searchsorted(self._sources, src, side="left")
        hi = np.searchsorted(self._sources, src, side="right")
        pinned = hi > lo
        if pinned.any():
            pick = lo[pinned] + (rng.random(int(pinned.sum())) * (hi[pinned] - lo[pinned])).astype(np.int64)
            tgt = tgt.copy()
            tgt[pinned] = self._targets[pick]
        return src, tgt
