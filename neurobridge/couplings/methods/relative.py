"""``"relative"``: relative representations (cosine similarity to each space's exemplars), then OT on them
(Moschella et al. 2023, ICLR)."""
from __future__ import annotations

from .._checks import check_number, check_pool
from ..reference import relative_coupling
from ._base import CouplingMethod
from .bridge_ot import check_solver_kwargs

__all__ = ["RelativeCoupling"]


class RelativeCoupling(CouplingMethod):
    """OT on the cosine distance between relative representations; exact when ``epsilon`` is None, else entropic."""

    name = "relative"

    def __init__(self, epsilon=None, solver_kwargs=None):
        self.epsilon = epsilon
        self.solver_kwargs = solver_kwargs

    def check_params(self) -> None:
        check_number(self.epsilon, "epsilon", low=0.0, allow_none=True)
        check_solver_kwargs(self.solver_kwargs)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", "cosine")
        check_pool(y, "target", "cosine")
        return relative_coupling(x, y, bridges, epsilon=self.epsilon, solver_kwargs=self.solver_kwargs)
