r"""Label-spreading coupling for label-matched bridges: class posteriors by diffusion on each pool's k-NN graph.

The bridges' labels seed label spreading (Zhou et al. 2004; :func:`neurobridge.couplings.graph.label_spreading`) in
each pool separately: source posteriors ``p_i`` (``n x C``) from the source exemplars, target posteriors ``q_j``
(``m x C``) from the target exemplars. Two points are cheap to pair when they probably share a class:

.. math::
    C_{ij} = \bigl(1 - \textstyle\sum_c p_{ic} q_{jc}\bigr) / \overline{C},

the probability that independent class draws from the two posteriors disagree (mean-normalised), and entropic OT
couples the pools on it. Unlike the bridge cost, whose plan agrees with the nearest exemplar's class, the posteriors
follow the pools' unlabelled cluster structure.
"""
from __future__ import annotations

import numpy as np

from ..graph import knn_graph, label_spreading
from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from ._support import check_positive, entropic_plan

__all__ = ["LabelSpreadingCoupling"]


class LabelSpreadingCoupling(CouplingMethod):
    """Entropic OT on the disagreement of label-spreading posteriors (label-matched bridges only).

    Parameters: ``k`` (graph neighbours), ``metric`` (edge length), ``alpha`` (diffusion strength in (0, 1), Zhou et
    al.'s 0.99 by default), ``affinity`` (``"gaussian"`` or ``"connectivity"``), ``epsilon``, ``unbalanced``,
    ``solver_kwargs`` (the OT step). ``log`` holds ``classes``, ``source_posterior`` and ``target_posterior``.
    """

    name = "label-spreading"
    kind = "plan"

    def __init__(self, k: int = 10, *, metric: str = "cosine", alpha: float = 0.99, affinity: str = "gaussian",
                 epsilon: float = 1e-2, unbalanced=None, solver_kwargs: dict | None = None):
        self.k = k
        self.metric = metric
        self.alpha = alpha
        self.affinity = affinity
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.solver_kwargs = solver_kwargs

    def check_params(self) -> None:
        check_positive(self.epsilon, "epsilon")

    def fit(self, x, y, bridges) -> Coupling:
        X, Y, bridges = self._prepare(x, y, bridges)
        if bridges.labels is None:
            raise CouplingError("label-spreading needs a class label for each bridge; sample label-matched bridges "
                                "(Bridges.sample(..., match='label')) or use another coupling for unlabelled pairs")
        classes, codes = np.unique(np.asarray(bridges.labels), return_inverse=True)
        p = label_spreading(knn_graph(X, self.k, metric=self.metric), bridges.source_index, codes, len(classes),
                            alpha=self.alpha, affinity=self.affinity)
        q = label_spreading(knn_graph(Y, self.k, metric=self.metric), bridges.target_index, codes, len(classes),
                            alpha=self.alpha, affinity=self.affinity)
        C = 1.0 - p @ q.T
        mean = float(C.mean())
        if not mean > 0:
            raise CouplingError("every source and target posterior agrees with certainty (a single class?); the cost is zero")
        return entropic_plan(C / mean, self.epsilon, self.unbalanced, self.solver_kwargs, self.name, classes=classes,
                             source_posterior=p, target_posterior=q)
