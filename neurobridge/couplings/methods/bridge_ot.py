"""``"bridge-ot"``: the paper's method, one entropic plan over the whole pools on the bridge cost.

``C[i, j] = min_k A[i, k] + B[k, j]`` (or its class-level or soft-min variant, see
:mod:`neurobridge.couplings.cost`), then entropic OT ``P = argmin <C, P> - epsilon H(P)`` under the marginals
(balanced, or KL-relaxed with ``unbalanced=(tau_a, tau_b)``), Gholamzadeh & Sajid (2025), arXiv:2505.12322.
"""
from __future__ import annotations

import warnings

from .._checks import check_choice, check_number, check_pool, check_unbalanced, warn_if_uniform
from ..cost import METRICS, MODES, bridge_cost
from ..solvers import solve
from ._base import CouplingMethod

__all__ = ["BridgeOT"]

DENSE_WARN = 4e8
SOLVERS = ("sinkhorn", "pot", "exact")


def check_solver_kwargs(solver_kwargs) -> None:
    if solver_kwargs is not None and not isinstance(solver_kwargs, dict):
        raise TypeError(f"solver_kwargs must be a dict of keyword arguments for the solver; got {type(solver_kwargs).__name__}")


class BridgeOT(CouplingMethod):
    """Entropic OT on the bridge cost over the whole pools (a dense ``n x m`` plan).

    Parameters
    ----------
    epsilon : entropic regularisation on the mean-normalised cost (1e-2; on digits 0.1 blurred the plan).
    unbalanced : ``None`` (balanced) or ``(tau_a, tau_b)`` KL-relaxation strengths (``inf`` keeps a side hard).
    metric : distance inside each space: ``"cosine"``, ``"euclidean"`` or ``"sqeuclidean"``.
    cost : ``"exact"`` (min over bridges), ``"class"`` (min over classes, label-matched bridges) or ``"softmin"``.
    temperature : the soft-min's temperature ``T`` (``cost="softmin"`` only).
    solver : ``"sinkhorn"`` (log-domain, ours), ``"pot"`` (POT's) or ``"exact"`` (unregularised network simplex).
    solver_kwargs : passed to the solver, over the default ``{"tol": 1e-4}`` (marginal error 1e-4, ample for
        drawing training pairs).
    """

    name = "bridge-ot"

    def __init__(self, epsilon=1e-2, unbalanced=None, metric="cosine", cost="exact", temperature=0.05,
                 solver="sinkhorn", solver_kwargs=None):
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.metric = metric
        self.cost = cost
        self.temperature = temperature
        self.solver = solver
        self.solver_kwargs = solver_kwargs

    def check_params(self) -> None:
        check_choice(self.solver, "solver", SOLVERS)
        check_number(self.epsilon, "epsilon", low=0.0, allow_none=self.solver == "exact")
        check_unbalanced(self.unbalanced)
        check_choice(self.metric, "metric", METRICS)
        check_choice(self.cost, "cost", MODES)
        check_number(self.temperature, "temperature", low=0.0)
        check_solver_kwargs(self.solver_kwargs)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", self.metric)
        check_pool(y, "target", self.metric)
        if x.shape[0] * y.shape[0] > DENSE_WARN:
            warnings.warn(f"bridge-ot builds a dense {x.shape[0]} x {y.shape[0]} plan; for pools this large prefer "
                          "coupling='minibatch-bridge-ot' or 'exemplar'", stacklevel=2)
        cost = bridge_cost(x, y, bridges, metric=self.metric, mode=self.cost, temperature=self.temperature)
        epsilon = None if self.solver == "exact" else self.epsilon
        unbalanced = None if self.solver == "exact" else self.unbalanced
        kwargs = {"tol": 1e-4, **(self.solver_kwargs or {})} if self.solver != "exact" else dict(self.solver_kwargs or {})
        coupling = solve(cost.cost, epsilon=epsilon, unbalanced=unbalanced, method=self.solver, **kwargs)
        if epsilon is not None:
            warn_if_uniform(coupling)
        return coupling
