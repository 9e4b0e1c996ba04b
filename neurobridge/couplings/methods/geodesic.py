r"""Manifold-aware bridge cost: geodesic distances on each pool's k-NN graph, joined through the bridges.

Each side of the bridge cost (Gholamzadeh & Sajid 2025) measures how far a point is from an exemplar. Here that
distance is the shortest-path length on a symmetric k-NN graph of the pool (Isomap's geodesic estimate; Tenenbaum
et al. 2000) instead of the straight-line distance, so the unlabelled points shape the cost:

.. math::
    A_{ik} = g_X(x_i, \tilde x_k) / \overline{g_X}, \qquad B_{kj} = g_Y(\tilde y_k, y_j) / \overline{g_Y}, \qquad
    C_{ij} = \min_k (A_{ik} + B_{kj})

(min-plus, :func:`neurobridge.couplings.min_plus`; or the soft-min with ``cost="softmin"``). Only ``K`` shortest-path
trees per pool are grown (Dijkstra from the exemplars): ``O(K (n log n + n k))``, then the usual ``n m K`` min-plus.
Unreachable exemplars (a disconnected graph) get a finite penalty and a warning (see :mod:`neurobridge.couplings.graph`).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..cost import BridgeCost, min_plus, soft_min_plus
from ..graph import geodesic_distances, knn_graph
from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from ._support import PAIRED, bridge_kind, check_bridges, check_positive, entropic_plan, pool_arrays

__all__ = ["GeodesicCoupling", "geodesic_bridge_cost", "SIDES"]

SIDES = ("both", "source", "target")


def _side(points: np.ndarray, exemplar_index, k: int, metric: str, geodesic: bool, penalty: float, name: str) -> tuple[torch.Tensor, float]:
    """``points x K`` distances to the exemplars (geodesic or straight), divided by their mean."""
    if geodesic:
        D = geodesic_distances(knn_graph(points, k, metric=metric), exemplar_index, penalty=penalty, name=name).T
    else:
        from ..cost import distances

        t = torch.as_tensor(points)
        D = distances(t, t[torch.as_tensor(np.array(exemplar_index))], metric).numpy()
    scale = float(D.mean())
    if not scale > 0:
        raise CouplingError(f"every distance between the {name} and its exemplars is zero; the mean-normalisation is undefined")
    return torch.as_tensor(np.ascontiguousarray(D / scale)), scale


def geodesic_bridge_cost(x, y, bridges, *, k: int = 10, metric: str = "cosine", mode: str = "exact", temperature: float = 0.05,
                         sides: str = "both", penalty: float = 2.0, dtype: torch.dtype = torch.float32,
                         memory_budget_mb: float = 256.0) -> BridgeCost:
    """The geodesic bridge cost ``C`` (``n x m``) between the pools ``x`` and ``y`` through ``bridges`` (positions).

    ``sides``: which pools use graph distances (``"both"``, ``"source"`` or ``"target"``; the other side keeps the
    straight ``metric`` distance). ``mode``: ``"exact"`` (min-plus) or ``"softmin"`` (temperature ``temperature``).
    ``penalty``: unreachable pairs get ``penalty`` times the largest finite geodesic distance.
    """
    if mode not in ("exact", "softmin"):
        raise CouplingError(f"mode must be 'exact' (min-plus) or 'softmin'; got {mode!r}")
    if sides not in SIDES:
        raise CouplingError(f"sides must be one of {SIDES}; got {sides!r}")
    X, Y = pool_arrays(x, y)
    bridges = check_bridges(bridges, len(X), len(Y), "geodesic bridge cost")
    A, sx = _side(X, bridges.source_index, k, metric, sides in ("both", "source"), penalty, "source pool")
    Bt, sy = _side(Y, bridges.target_index, k, metric, sides in ("both", "target"), penalty, "target pool")
    A, B = A.to(dtype), Bt.T.contiguous().to(dtype)
    if mode == "softmin":
        return BridgeCost(soft_min_plus(A, B, check_positive(temperature, "temperature"), memory_budget_mb=memory_budget_mb), None, None, sx, sy)
    return BridgeCost(min_plus(A, B, memory_budget_mb=memory_budget_mb), None, None, sx, sy)


class GeodesicCoupling(CouplingMethod):
    """Entropic OT on the geodesic bridge cost (:func:`geodesic_bridge_cost`).

    Parameters
    ----------
    k : neighbours per point in each pool's graph (default 10).
    metric : edge length, ``"cosine"`` (default) or ``"euclidean"``.
    cost : ``"auto"`` (default: soft-min for paired bridges, where min-plus ties every pair that shares a nearest
        exemplar; min-plus for label-matched ones), ``"exact"`` or ``"softmin"``.
    temperature : soft-min temperature on the mean-normalised sides.
    sides : ``"both"``, ``"source"`` or ``"target"``: which pools use graph distances.
    penalty : multiple of the largest finite geodesic distance given to unreachable exemplars.
    epsilon, unbalanced, solver_kwargs : the entropic OT step (:func:`neurobridge.couplings.solve`).
    """

    name = "geodesic"
    kind = "plan"

    def __init__(self, k: int = 10, *, metric: str = "cosine", cost: str = "auto", temperature: float = 0.05, sides: str = "both",
                 penalty: float = 2.0, epsilon: float = 1e-2, unbalanced=None, solver_kwargs: dict | None = None):
        self.k = k
        self.metric = metric
        self.cost = cost
        self.temperature = temperature
        self.sides = sides
        self.penalty = penalty
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.solver_kwargs = solver_kwargs

    def fit(self, x, y, bridges) -> Coupling:
        if self.cost not in ("auto", "exact", "softmin"):
            raise CouplingError(f"cost must be 'auto', 'exact' or 'softmin'; got {self.cost!r}")
        check_positive(self.epsilon, "epsilon")
        mode = self.cost if self.cost != "auto" else ("softmin" if bridge_kind(bridges) == PAIRED else "exact")
        t0 = time.perf_counter()
        cost = geodesic_bridge_cost(x, y, bridges, k=self.k, metric=self.metric, mode=mode, temperature=self.temperature,
                                    sides=self.sides, penalty=self.penalty)
        seconds = time.perf_counter() - t0
        return entropic_plan(cost.cost, self.epsilon, self.unbalanced, self.solver_kwargs, self.name, cost_mode=mode,
                             cost_seconds=seconds, scale_x=cost.scale_x, scale_y=cost.scale_y)
