r"""Relation-preservation cost of keypoint-guided OT (KPG-RL; Gu, Yang & Chen, NeurIPS 2022).

Each point is described by its relation to its own space's keypoints (the bridge exemplars), a softmax over the
``K`` exemplars of its mean-normalised distances:

.. math::
    r_{ik} = \frac{e^{-A_{ik}/\rho}}{\sum_l e^{-A_{il}/\rho}}, \qquad
    s_{jk} = \frac{e^{-B_{kj}/\rho}}{\sum_l e^{-B_{lj}/\rho}},

and a source and a target point are cheap to pair when their relations agree,
:math:`C_{ij} = \mathrm{JS}(r_i \,\|\, s_j)` (Jensen-Shannon divergence; ``divergence="hellinger"`` uses the
squared Hellinger distance :math:`1 - \sum_k \sqrt{r_{ik} s_{jk}}`, a matrix product). With ``guide=True`` the
keypoints are guided as in KPG: a source exemplar may only go to its partner (every other entry of its row, and of
its partner's column, gets the largest cost plus one). The JS cost costs ``n m K`` work, computed in row tiles.
"""
from __future__ import annotations

import numpy as np
import torch

from ..cost import distances
from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from ._support import check_bridges, check_positive, entropic_plan, pool_arrays

__all__ = ["RelationCoupling", "relation_cost"]


def _relations(points: torch.Tensor, exemplars: torch.Tensor, metric: str, temperature: float) -> torch.Tensor:
    d = distances(points, exemplars, metric)
    d = d / d.mean().clamp_min(1e-12)
    return torch.softmax(-d / temperature, dim=1)


def relation_cost(x, y, bridges, *, temperature: float = 0.1, metric: str = "cosine", divergence: str = "js",
                  tile_elements: int = 2**24) -> torch.Tensor:
    """The KPG-RL relation cost ``C`` (``n x m``, float64) between pools ``x`` and ``y`` through ``bridges``."""
    if divergence not in ("js", "hellinger"):
        raise CouplingError(f"divergence must be 'js' or 'hellinger'; got {divergence!r}")
    check_positive(temperature, "temperature")
    X, Y = pool_arrays(x, y)
    bridges = check_bridges(bridges, len(X), len(Y), "relation cost")
    tx, ty = torch.as_tensor(X), torch.as_tensor(Y)
    r = _relations(tx, tx[torch.as_tensor(np.array(bridges.source_index))], metric, temperature)
    s = _relations(ty, ty[torch.as_tensor(np.array(bridges.target_index))], metric, temperature)
    if divergence == "hellinger":
        return (1.0 - r.sqrt() @ s.sqrt().T).clamp_min_(0.0)
    tiny = 1e-300
    rlogr = (r * r.clamp_min(tiny).log()).sum(1)
    slogs = (s * s.clamp_min(tiny).log()).sum(1)
    n, m, K = r.shape[0], s.shape[0], r.shape[1]
    rows = max(1, tile_elements // max(1, m * K))
    C = torch.empty((n, m), dtype=torch.float64)
    for start in range(0, n, rows):
        rt = r[start:start + rows]
        mix = 0.5 * (rt[:, None, :] + s[None, :, :])
        cross = (mix * mix.clamp_min(tiny).log()).sum(2)
        C[start:start + rows] = 0.5 * (rlogr[start:start + rows, None] + slogs[None, :]) - cross
    return C.clamp_min_(0.0)


class RelationCoupling(CouplingMethod):
    """Entropic OT on the KPG-RL relation cost (:func:`relation_cost`), keypoint-guided by default.

    Parameters: ``temperature`` (softmax temperature ``rho`` on the mean-normalised distances), ``metric``,
    ``divergence`` (``"js"`` or ``"hellinger"``), ``guide`` (restrict bridge sources to their partners), ``epsilon``,
    ``unbalanced``, ``solver_kwargs``.
    """

    name = "relation"
    kind = "plan"

    def __init__(self, temperature: float = 0.1, *, metric: str = "cosine", divergence: str = "js", guide: bool = True,
                 epsilon: float = 1e-2, unbalanced=None, solver_kwargs: dict | None = None):
        self.temperature = temperature
        self.metric = metric
        self.divergence = divergence
        self.guide = guide
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.solver_kwargs = solver_kwargs

    def fit(self, x, y, bridges) -> Coupling:
        check_positive(self.epsilon, "epsilon")
        C = relation_cost(x, y, bridges, temperature=self.temperature, metric=self.metric, divergence=self.divergence)
        mean = float(C.mean())
        if not mean > 0:
            raise CouplingError("every source and target relation coincides; the bridges do not distinguish the points")
        C = C / mean
        if self.guide:
            si = torch.as_tensor(np.array(bridges.source_index))
            ti = torch.as_tensor(np.array(bridges.target_index))
            high = float(C.max()) + 1.0
            C[si, :] = high
            C[:, ti] = high
            C[si, ti] = 0.0
        return entropic_plan(C, self.epsilon, self.unbalanced, self.solver_kwargs, self.name, guided=bool(self.guide))
