r"""Setting 2: a coupling through the exemplar bank, with no ``n x m`` matrix.

The rule ("exemplar routing"). Hubs are the bridges (``route="bridge"``: bridge ``k`` joins source exemplar
:math:`\tilde x_k` and target exemplar :math:`\tilde y_k`) or the classes of label-matched bridges
(``route="class"``). With normalised distances :math:`A_{ik} = d_X(x_i, \tilde x_k)/\overline{d_X}` and
:math:`B_{kj} = d_Y(\tilde y_k, y_j)/\overline{d_Y}` as in the bridge cost,

1. each source point :math:`x_i` keeps its ``k`` nearest source exemplars :math:`N_X(i)` with weights
   :math:`w_{ik} = \mathrm{softmax}_{k \in N_X(i)}(-A_{ik}/T)`; its hub weights are
   :math:`W^X_{ih} = \sum_{k \in N_X(i),\, h(k) = h} w_{ik}`;
2. each target point :math:`y_j` keeps its ``k`` nearest target exemplars with weights
   :math:`v_{jk} = \mathrm{softmax}(-B_{kj}/T)`, giving :math:`W^Y_{jh}`; a hub that no target point keeps
   receives its nearest target point with weight 1;
3. hub ``h`` sends its mass to targets by :math:`q_h(j) = W^Y_{jh} / \sum_{j'} W^Y_{j'h}`, and the coupling is

.. math::  P_{ij} = a_i \sum_h W^X_{ih}\, q_h(j).

Sampling a pair: ``i`` (uniformly, or once per epoch), a hub ``h ~ W^X_{i\cdot}``, a target ``j ~ q_h``.

Why this rule: it is the soft, k-sparse version of the two-hop path behind the bridge cost
(:math:`x_i \to \tilde x_k \equiv \tilde y_k \to y_j`, Gholamzadeh & Sajid 2025, arXiv:2505.12322): mass only flows
through exemplars near the source point and reaches target points near the partner exemplar, so with ``k = 1`` and
``T -> 0`` a source point is sent to the targets whose nearest exemplar is the partner of its own nearest exemplar.
It is a factored coupling through ``H`` hubs (Forrow et al. 2019, "Statistical optimal transport via factored
couplings", AISTATS): the row marginal is exact (``P 1 = a``), the column marginal is not forced to ``b`` (the price of
never forming the ``n x m`` problem; compare against Setting 1 with the same bridges). The hub-to-target step uses
the targets' own view of the exemplars rather than the source point's, which is what keeps it free of any
``n x m`` computation.

Memory: the neighbour lists, ``(n + m) k`` indices and weights, plus one ``batch_size x K`` distance tile while
streaming; so ``O((n + m) k + batch_size K)``, within ``O((n + m) K)``.
"""
from __future__ import annotations

import numpy as np
import torch

from ._checks import as_points
from .cost import _check_metric, distances, exemplar_arrays
from .errors import CouplingError
from .result import Coupling
from .sampling import EpochRows, EpochStateMixin, _check_batch

__all__ = ["ExemplarSampler", "exemplar_coupling", "nearest_exemplars"]


def nearest_exemplars(points: torch.Tensor, exemplars: torch.Tensor, k: int, metric: str = "cosine", *, batch_size: int = 4096):
    """The ``k`` nearest exemplars of every point, streamed in batches.

    Returns ``(index, distance, mean)``: NumPy ``(N, k)`` int64 positions and float32 raw distances (ascending), and
    the mean of all ``N x K`` distances (used to normalise them).
    """
    N, K = points.shape[0], exemplars.shape[0]
    k = min(k, K)
    index = np.empty((N, k), dtype=np.int64)
    dist = np.empty((N, k), dtype=np.float32)
    total = 0.0
    for s in range(0, N, batch_size):
        d = distances(points[s : s + batch_size], exemplars, metric)
        total += float(d.sum(dtype=torch.float64))
        vals, idx = torch.topk(d, k, dim=1, largest=False, sorted=True)
        index[s : s + batch_size] = idx.cpu().numpy()
        dist[s : s + batch_size] = vals.float().cpu().numpy()
    mean = total / (N * K)
    return index, dist, mean


def _softmax_rows(dist: np.ndarray, temperature: float) -> np.ndarray:
    z = -(dist - dist[:, :1]) / temperature
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


class ExemplarSampler(EpochStateMixin):
    """Pair sampler of the exemplar coupling (Setting 2); see the module docstring for the exact rule.

    Parameters
    ----------
    x, y : the source (``n x d_x``) and target (``m x d_y``) pools.
    bridges : a :class:`~neurobridge.bridges.Bridges` or ``(x_exemplars, y_exemplars[, labels])``.
    k : exemplars kept per point (default 10). ``temperature``: softmax temperature on the mean-normalised distances.
    route : ``"bridge"`` (hubs are the bridges) or ``"class"`` (hubs are the bridge labels).
    metric : ``cosine`` (default), ``euclidean`` or ``sqeuclidean``.
    batch_size : points per streamed distance tile. ``row_weights``: ``"uniform"`` or ``"epoch"`` (each source
    point once per pass).
    """

    def __init__(self, x, y, bridges, *, k: int = 10, temperature: float = 0.1, route: str = "bridge", metric: str = "cosine",
                 batch_size: int = 4096, row_weights: str = "uniform", dtype: torch.dtype | None = torch.float32):
        if route not in ("bridge", "class"):
            raise CouplingError(f"route must be 'bridge' or 'class'; got {route!r}")
        if row_weights not in ("uniform", "epoch"):
            raise CouplingError(f"row_weights must be 'uniform' or 'epoch'; got {row_weights!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise CouplingError(f"k must be a positive integer (exemplars kept per point); got {k!r}")
        if not temperature > 0:
            raise CouplingError(f"temperature must be > 0; got {temperature!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise CouplingError(f"batch_size must be a positive integer; got {batch_size!r}")
        _check_metric(metric)
        x = as_points(x, "x", dtype=dtype)
        y = as_points(y, "y", dtype=x.dtype, device=x.device)
        xe, ye, labels = exemplar_arrays(x, y, bridges)
        K = xe.shape[0]
        if route == "class":
            if labels is None:
                raise CouplingError("route='class' needs bridge labels; use label-matched bridges or route='bridge'")
            self.hubs, hub_of = np.unique(np.asarray(labels), return_inverse=True)
        else:
            self.hubs, hub_of = np.arange(K), np.arange(K)
        H = len(self.hubs)
        self.n, self.m, self.K, self.k = x.shape[0], y.shape[0], K, min(k, K)
        self.route, self.temperature, self.row_weights = route, temperature, row_weights

        xi, xd, self.scale_x = nearest_exemplars(x, xe, k, metric, batch_size=batch_size)
        self.source_hub = hub_of[xi]
        self.source_weight = _softmax_rows(xd / self.scale_x, temperature)
        self._source_cdf = np.cumsum(self.source_weight, axis=1)

        yi, yd, self.scale_y = nearest_exemplars(y, ye, k, metric, batch_size=batch_size)
        tgt_hub = hub_of[yi].reshape(-1)
        tgt_point = np.repeat(np.arange(self.m), yi.shape[1])
        tgt_w = _softmax_rows(yd / self.scale_y, temperature).reshape(-1)
        orphans = np.setdiff1d(np.arange(H), tgt_hub)
        if orphans.size:
            members = np.flatnonzero(np.isin(hub_of, orphans))
            best_d = torch.full((members.size,), float("inf"), dtype=y.dtype, device=y.device)
            best_j = torch.zeros(members.size, dtype=torch.int64, device=y.device)
            anchors = ye[torch.as_tensor(members, device=ye.device)]
            for s in range(0, self.m, batch_size):
                d, j = distances(anchors, y[s : s + batch_size], metric).min(dim=1)
                better = d < best_d
                best_d = torch.where(better, d, best_d)
                best_j = torch.where(better, j + s, best_j)
            best_d, best_j = best_d.cpu().numpy(), best_j.cpu().numpy()
            nearest = np.empty(orphans.size, dtype=np.int64)
            for row, h in enumerate(orphans):
                own = np.flatnonzero(hub_of[members] == h)
                nearest[row] = best_j[own[np.argmin(best_d[own])]]
            tgt_hub = np.concatenate([tgt_hub, orphans])
            tgt_point = np.concatenate([tgt_point, nearest])
            tgt_w = np.concatenate([tgt_w, np.ones(orphans.size)])
        order = np.lexsort((tgt_point, tgt_hub))
        self.target_hub, self.target_point, self.target_weight = tgt_hub[order], tgt_point[order], tgt_w[order]
        self._cum = np.cumsum(self.target_weight)
        self._hub_start = np.searchsorted(self.target_hub, np.arange(H), side="left")
        self._hub_stop = np.searchsorted(self.target_hub, np.arange(H), side="right")
        self._base = np.where(self._hub_start > 0, self._cum[np.maximum(self._hub_start - 1, 0)], 0.0)
        self._base[self._hub_start == 0] = 0.0
        self._hub_total = self._cum[self._hub_stop - 1] - self._base
        self._epoch = EpochRows(self.n)

    @property
    def nbytes(self) -> int:
        """Memory held by the neighbour lists (bytes)."""
        arrays = (self.source_hub, self.source_weight, self._source_cdf, self.target_hub, self.target_point, self.target_weight, self._cum)
        return int(sum(a.nbytes for a in arrays))

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        batch_size = _check_batch(batch_size, rng)
        i = self._uniform_or_epoch(batch_size, rng).astype(np.int64)
        u = rng.random(batch_size)
        slot = np.minimum((self._source_cdf[i] < u[:, None] * self._source_cdf[i, -1:]).sum(axis=1), self.k - 1)
        h = self.source_hub[i, slot]
        r = self._base[h] + rng.random(batch_size) * self._hub_total[h]
        pos = np.searchsorted(self._cum, r, side="right")
        pos = np.clip(pos, self._hub_start[h], self._hub_stop[h] - 1)
        return i, self.target_point[pos].astype(np.int64)

    def dense_plan(self, a=None) -> np.ndarray:
        """The ``n x m`` plan ``P = diag(a) W^X Q`` (for small pools only: diagnostics and comparisons)."""
        if self.n * self.m > 50_000_000:
            raise CouplingError(f"dense_plan would hold {self.n} x {self.m} entries; use sample() for pools this large")
        H = len(self.hubs)
        WX = np.zeros((self.n, H))
        np.add.at(WX, (np.repeat(np.arange(self.n), self.k), self.source_hub.reshape(-1)), self.source_weight.reshape(-1))
        Q = np.zeros((H, self.m))
        np.add.at(Q, (self.target_hub, self.target_point), self.target_weight)
        Q /= Q.sum(axis=1, keepdims=True)
        a = np.full(self.n, 1.0 / self.n) if a is None else np.asarray(a, dtype=np.float64)
        return (a[:, None] * WX) @ Q


def exemplar_coupling(x, y, bridges, **kwargs) -> Coupling:
    """The exemplar coupling (Setting 2) as a :class:`Coupling` holding an :class:`ExemplarSampler` and no plan."""
    sampler = ExemplarSampler(x, y, bridges, **kwargs)
    return Coupling(
        plan=None, sampler=sampler, marginal_error=(0.0, float("nan")), method=f"exemplar:{sampler.route}",
        a=np.full(sampler.n, 1.0 / sampler.n), b=np.full(sampler.m, 1.0 / sampler.m),
        log={"shape": (sampler.n, sampler.m), "k": sampler.k, "temperature": sampler.temperature, "hubs": len(sampler.hubs), "nbytes": sampler.nbytes},
    )
