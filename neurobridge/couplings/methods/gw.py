"""``"gw"``: entropic Gromov-Wasserstein between the two spaces' own geometries (no bridge in the cost).

Memoli (2011); Peyre, Cuturi & Solomon (2016); POT's ``ot.gromov.entropic_gromov_wasserstein``.
"""
from __future__ import annotations

from .._checks import check_choice, check_integer, check_number, check_pool, warn_if_uniform
from ..cost import METRICS
from ..reference import gromov_wasserstein
from ._base import CouplingMethod

__all__ = ["GromovWasserstein"]


class GromovWasserstein(CouplingMethod):
    """Entropic GW (square loss) between mean-normalised intra-space distances under ``metric``."""

    name = "gw"

    def __init__(self, epsilon=1e-2, metric="cosine", max_iter=1000, tol=1e-9):
        self.epsilon = epsilon
        self.metric = metric
        self.max_iter = max_iter
        self.tol = tol

    def check_params(self) -> None:
        check_number(self.epsilon, "epsilon", low=0.0)
        check_choice(self.metric, "metric", METRICS)
        check_integer(self.max_iter, "max_iter")
        check_number(self.tol, "tol", low=0.0)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", self.metric)
        check_pool(y, "target", self.metric)
        coupling = gromov_wasserstein(x, y, epsilon=self.epsilon, metric=self.metric, max_iter=self.max_iter, tol=self.tol)
        warn_if_uniform(coupling)
        return coupling
