"""``"minibatch-bridge-ot"``: per training batch, a ``B x B`` entropic plan on the bridge cost (no ``n x m`` matrix).

The exemplar distances of both pools are computed once; each batch solves its own small problem (Fatras et al.
2020, "Learning with minibatch Wasserstein"; Gholamzadeh & Sajid 2025, arXiv:2505.12322). The coupling is
plan-free: it holds the sampler that solves a plan per batch.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_number, check_pool, check_unbalanced
from ..cost import METRICS
from ..minibatch import MinibatchBridgeSampler
from ..result import Coupling
from ._base import CouplingMethod
from .bridge_ot import check_solver_kwargs

__all__ = ["MinibatchBridgeOT"]

COSTS = ("exact", "class", "softmin")
SOLVERS = ("auto", "emd", "sinkhorn")
PAIRINGS = ("sample", "argmax", "hungarian")


class MinibatchBridgeOT(CouplingMethod):
    """A ``B x B`` entropic plan on the bridge cost per batch; parameters as :class:`BridgeOT` (``cost``:
    ``"exact"`` or ``"softmin"``), plus ``pairing`` (``"sample"``, ``"argmax"`` or ``"hungarian"``: how pairs are
    read from each batch's plan) and ``solver``: ``"auto"`` (exact network simplex, POT's ``ot.emd``, for balanced
    problems; Sinkhorn when ``unbalanced``), ``"emd"`` or ``"sinkhorn"`` (the log-domain entropic solve at ``epsilon``,
    this package's first release; ``epsilon`` applies only to Sinkhorn). ``solver_kwargs`` go over ``{"tol": 1e-4}``."""

    name = "minibatch-bridge-ot"

    def __init__(self, epsilon=1e-2, unbalanced=None, metric="cosine", cost="exact", temperature=0.05,
                 pairing="sample", solver="auto", solver_kwargs=None):
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.metric = metric
        self.cost = cost
        self.temperature = temperature
        self.pairing = pairing
        self.solver = solver
        self.solver_kwargs = solver_kwargs

    def check_params(self) -> None:
        check_number(self.epsilon, "epsilon", low=0.0)
        check_unbalanced(self.unbalanced)
        check_choice(self.metric, "metric", METRICS)
        check_choice(self.cost, "cost", COSTS)
        check_number(self.temperature, "temperature", low=0.0)
        check_choice(self.pairing, "pairing", PAIRINGS)
        check_choice(self.solver, "solver", SOLVERS)
        check_solver_kwargs(self.solver_kwargs)

    def fit(self, x, y, bridges):
        self.check_params()
        check_pool(x, "source", self.metric)
        check_pool(y, "target", self.metric)
        sampler = MinibatchBridgeSampler(x, y, bridges, epsilon=self.epsilon, metric=self.metric, unbalanced=self.unbalanced,
                                         pairing=self.pairing, mode=self.cost, temperature=self.temperature, solver=self.solver,
                                         solver_kwargs={"tol": 1e-4, **(self.solver_kwargs or {})})
        n, m = sampler.n, sampler.m
        return Coupling(plan=None, sampler=sampler, method=self.name, epsilon=float(self.epsilon),
                        a=np.full(n, 1.0 / n), b=np.full(m, 1.0 / m), log={"shape": (n, m)})
