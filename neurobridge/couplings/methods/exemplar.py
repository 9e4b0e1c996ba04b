"""``"exemplar"`` (Setting 2): each source point reaches targets through its nearest exemplars; no ``n x m`` matrix.

The rule and its maths are in :mod:`neurobridge.couplings.exemplar`.
"""
from __future__ import annotations

from .._checks import check_choice, check_integer, check_number, check_pool
from ..cost import METRICS
from ..exemplar import exemplar_coupling
from ._base import CouplingMethod

__all__ = ["Exemplar"]


class Exemplar(CouplingMethod):
    """The exemplar coupling: ``k`` nearest exemplars per point, softmax ``temperature`` on their normalised
    distances, hubs ``route="bridge"`` (each bridge) or ``"class"`` (each bridge label), ``metric`` in each space."""

    name = "exemplar"

    def __init__(self, k=10, temperature=0.1, route="bridge", metric="cosine"):
        self.k = k
        self.temperature = temperature
        self.route = route
        self.metric = metric

    def check_params(self) -> None:
        check_integer(self.k, "k")
        check_number(self.temperature, "temperature", low=0.0)
        check_choice(self.route, "route", ("bridge", "class"))
        check_choice(self.metric, "metric", METRICS)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", self.metric)
        check_pool(y, "target", self.metric)
        return exemplar_coupling(x, y, bridges, k=self.k, temperature=self.temperature, route=self.route, metric=self.metric)
