"""``"map"``: a map fitted on the bridges (orthogonal Procrustes or least squares), then OT in the target space."""
from __future__ import annotations

from .._checks import check_choice, check_number
from ..reference import map_coupling
from ._base import CouplingMethod
from .bridge_ot import check_solver_kwargs

__all__ = ["MapCoupling"]


class MapCoupling(CouplingMethod):
    """``map="procrustes"`` or ``"lstsq"`` on standardised anchors; OT on the squared distance between mapped
    sources and targets, exact when ``epsilon`` is None, else entropic (see
    :func:`neurobridge.couplings.reference.map_coupling`)."""

    name = "map"

    def __init__(self, map="procrustes", epsilon=None, solver_kwargs=None):
        self.map = map
        self.epsilon = epsilon
        self.solver_kwargs = solver_kwargs

    def check_params(self) -> None:
        check_choice(self.map, "map", ("procrustes", "lstsq"))
        check_number(self.epsilon, "epsilon", low=0.0, allow_none=True)
        check_solver_kwargs(self.solver_kwargs)

    def fit(self, x, y, bridges):
        self.check_params()
        return map_coupling(x, y, bridges, method=self.map, epsilon=self.epsilon, solver_kwargs=self.solver_kwargs)
