"""``"fgw"``: entropic fused Gromov-Wasserstein whose feature term is the bridge cost (Vayer et al. 2019)."""
from __future__ import annotations

from .._checks import check_choice, check_integer, check_number, check_pool
from ..cost import METRICS, MODES
from ..reference import fused_gromov_wasserstein
from ._base import CouplingMethod

__all__ = ["FusedGromovWasserstein"]


class FusedGromovWasserstein(CouplingMethod):
    """``(1 - alpha) <C, P>`` with ``C`` the bridge cost (``cost`` mode) plus ``alpha`` times the GW term."""

    name = "fgw"

    def __init__(self, alpha=0.5, epsilon=1e-2, metric="cosine", cost="exact", max_iter=1000, tol=1e-9):
        self.alpha = alpha
        self.epsilon = epsilon
        self.metric = metric
        self.cost = cost
        self.max_iter = max_iter
        self.tol = tol

    def check_params(self) -> None:
        check_number(self.alpha, "alpha", low=0.0, strict=False)
        check_number(self.epsilon, "epsilon", low=0.0)
        check_choice(self.metric, "metric", METRICS)
        check_choice(self.cost, "cost", MODES)
        check_integer(self.max_iter, "max_iter")
        check_number(self.tol, "tol", low=0.0)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", self.metric)
        check_pool(y, "target", self.metric)
        return fused_gromov_wasserstein(x, y, bridges, alpha=self.alpha, epsilon=self.epsilon, metric=self.metric,
                                        mode=self.cost, max_iter=self.max_iter, tol=self.tol)
