"""One result type for every coupling, whatever produced it.

A :class:`Coupling` describes a joint law ``P`` on ``source x target`` positions: either a dense ``plan`` (``n x m``,
``P[i, j] >= 0``) or, for plan-free couplings (Setting 2, supervised-only), a pair ``sampler``. Modelled on POT's
``ot.solve`` result (Flamary et al., JMLR 2021) and ott-jax's small immutable outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .errors import ConvergenceError, CouplingError

__all__ = ["Coupling", "CouplingError", "ConvergenceError"]


@dataclass(frozen=True, repr=False)
class Coupling:
    """A coupling between a source pool (``n`` points) and a target pool (``m`` points).

    Attributes
    ----------
    plan : the transport plan ``P`` (``n x m`` torch tensor or NumPy array), or ``None`` for plan-free couplings.
    sampler : an object with ``sample(batch_size, rng) -> (source_index, target_index)``, or ``None``;
        :meth:`pair_sampler` builds one from the plan when absent.
    value : the linear transport cost ``<C, P> = sum_ij C[i, j] P[i, j]`` (NaN when no cost matrix applies).
    marginal_error : ``(row, col)`` L1 residuals of the first-order marginal conditions,
        ``|| P 1 - a * exp(-f / tau_a) ||_1`` and ``|| P^T 1 - b * exp(-g / tau_b) ||_1``; with ``tau = inf`` (balanced)
        these are the plain marginal errors ``|| P 1 - a ||_1``, ``|| P^T 1 - b ||_1``.
    n_iter : iterations the solver ran (0 for closed-form couplings).
    converged : whether the marginal error fell below the solver's tolerance.
    method : name of the solver or baseline that produced it.
    epsilon, tau_a, tau_b : regularisation used (``None`` / ``inf`` where not applicable).
    f, g : dual potentials where the solver provides them. For Sinkhorn they follow the convention
        ``P[i, j] = a_i b_j exp((f_i + g_j - C[i, j]) / epsilon)``.
    a, b : source and target weights the problem was posed with.
    log : free-form diagnostics (error history, epsilon schedule, fitted maps, timings).
    """

    plan: Any = None
    sampler: Any = None
    value: float = float("nan")
    marginal_error: tuple[float, float] = (float("nan"), float("nan"))
    n_iter: int = 0
    converged: bool = True
    method: str = ""
    epsilon: float | None = None
    tau_a: float = float("inf")
    tau_b: float = float("inf")
    f: Any = None
    g: Any = None
    a: Any = None
    b: Any = None
    log: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``: sizes of the source and target pools."""
        if self.plan is not None:
            return tuple(self.plan.shape)
        return tuple(self.log.get("shape", (len(self.a), len(self.b))))

    def plan_numpy(self) -> np.ndarray:
        """The dense plan as a float64 NumPy array (raises for plan-free couplings)."""
        if self.plan is None:
            raise CouplingError(
                f"this coupling ({self.method}) has no dense plan; draw pairs with coupling.pair_sampler().sample(...)"
            )
        if isinstance(self.plan, torch.Tensor):
            return self.plan.detach().to("cpu", torch.float64).numpy()
        return np.asarray(self.plan, dtype=np.float64)

    def pair_sampler(self, **kwargs):
        """The pair sampler of this coupling: ``self.sampler`` or a :class:`~neurobridge.couplings.PlanSampler`."""
        if self.sampler is not None:
            return self.sampler
        from .sampling import PlanSampler

        return PlanSampler(self.plan, **kwargs)

    def with_log(self, **entries) -> Coupling:
        """A copy with ``entries`` added to ``log``."""
        return replace(self, log={**self.log, **entries})

    def __repr__(self) -> str:
        n, m = self.shape
        kind = "plan" if self.plan is not None else "sampler"
        reg = ""
        if self.epsilon is not None:
            reg = f", epsilon={self.epsilon:g}"
        if np.isfinite(self.tau_a) or np.isfinite(self.tau_b):
            reg += f", tau_a={self.tau_a:g}, tau_b={self.tau_b:g}"
        err = ", ".join(f"{e:.2e}" for e in self.marginal_error)
        return (
            f"Coupling(method={self.method!r}, {n} x {m} {kind}{reg}, value={self.value:.6g}, "
            f"marginal_error=({err}), n_iter={self.n_iter}, converged={self.converged})"
        )
