r"""Optimal-transport solvers on a given cost matrix; each returns a :class:`~neurobridge.couplings.Coupling`.

:func:`sinkhorn` (entropic OT, balanced or unbalanced, in the log domain with absorption, epsilon scaling,
over-relaxation and merged identical rows and columns) lives in :mod:`neurobridge.couplings.sinkhorn`, which states the
problem and the iteration. :func:`exact` wraps POT's network simplex ``ot.emd`` (Bonneel et al. 2011);
:func:`pot_sinkhorn` wraps POT's entropic solvers (Flamary et al. 2021). :func:`solve` dispatches between them.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch

from ._checks import _check_mass, _fail, _positive, as_cost, as_weights, check_epsilon, check_on_fail, check_tau
from .errors import CouplingError
from .result import Coupling
from .sinkhorn import sinkhorn

__all__ = ["exact", "pot_sinkhorn", "solve", "marginal_residuals"]


def marginal_residuals(plan, a, b, f=None, g=None, tau_a: float = math.inf, tau_b: float = math.inf) -> tuple[float, float]:
    """L1 residuals ``(|P 1 - a e^{-f/tau_a}|_1, |P^T 1 - b e^{-g/tau_b}|_1)`` (plain marginal errors if ``tau = inf``)."""
    P = torch.as_tensor(plan).double()
    a = torch.as_tensor(a, device=P.device).double()
    b = torch.as_tensor(b, device=P.device).double()
    ta = a if math.isinf(tau_a) else a * torch.exp(-torch.as_tensor(f, device=P.device).double() / tau_a)
    tb = b if math.isinf(tau_b) else b * torch.exp(-torch.as_tensor(g, device=P.device).double() / tau_b)
    return float((P.sum(1) - ta).abs().sum()), float((P.sum(0) - tb).abs().sum())


def exact(cost, a=None, b=None, *, max_iter: int = 1_000_000, on_fail: str = "raise") -> Coupling:
    """Exact (unregularised) OT by POT's network simplex ``ot.emd`` (Bonneel, van de Panne, Paris & Heidrich 2011).

    Works in float64 NumPy on the CPU; the plan comes back as a tensor on the device of ``cost`` when ``cost`` is a
    tensor, else as an array. ``f, g`` are the dual potentials (``C_ij >= f_i + g_j``, equality on the support).
    """
    import ot

    check_on_fail(on_fail)
    C = as_cost(cost, "cost", dtype=torch.float64)
    n, m = C.shape
    a_t = as_weights(a, n, "a", like=C)
    b_t = as_weights(b, m, "b", like=C)
    _check_mass(a_t, b_t, math.inf, math.inf)
    M = C.cpu().numpy()
    an, bn = a_t.cpu().numpy(), b_t.cpu().numpy()
    bn = bn * (an.sum() / bn.sum())
    t0 = time.perf_counter()
    plan, log = ot.emd(an, bn, M, numItermax=int(max_iter), log=True)
    converged = log.get("result_code", 1) == 1
    if not converged:
        _fail(f"exact (ot.emd) stopped without an optimum: {log.get('warning')}; raise max_iter (now {max_iter})", on_fail)
    errs = (float(np.abs(plan.sum(1) - an).sum()), float(np.abs(plan.sum(0) - bn).sum()))
    as_torch = isinstance(cost, torch.Tensor)
    conv = (lambda x: torch.as_tensor(x, device=C.device)) if as_torch else (lambda x: x)
    return Coupling(
        plan=conv(plan), value=float(log["cost"]), marginal_error=errs, n_iter=0, converged=converged, method="exact",
        f=conv(log["u"]), g=conv(log["v"]), a=conv(an), b=conv(bn), log={"seconds": time.perf_counter() - t0, "pot_log": {k: v for k, v in log.items() if k not in ("u", "v")}},
    )


def pot_sinkhorn(
    cost,
    a=None,
    b=None,
    *,
    epsilon: float,
    tau_a: float = math.inf,
    tau_b: float = math.inf,
    method: str | None = None,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    on_fail: str = "raise",
) -> Coupling:
    """Entropic OT through POT (float64 NumPy): ``ot.sinkhorn`` (balanced; ``method`` default ``"sinkhorn_log"``,
    also ``"sinkhorn_stabilized"``, ``"sinkhorn_epsilon_scaling"``) or ``ot.unbalanced.sinkhorn_unbalanced``
    (``reg_type="kl"``, i.e. the same problem as :func:`sinkhorn`; default ``method="sinkhorn"``).

    POT's own stopping rule applies; convergence is then judged here by the marginal residuals against ``tol``.
    """
    import ot

    eps = check_epsilon(epsilon)
    tau_a, tau_b = check_tau(tau_a, "tau_a"), check_tau(tau_b, "tau_b")
    check_on_fail(on_fail)
    C = as_cost(cost, "cost", dtype=torch.float64)
    n, m = C.shape
    a_t = _positive(as_weights(a, n, "a", like=C), "a")
    b_t = _positive(as_weights(b, m, "b", like=C), "b")
    _check_mass(a_t, b_t, tau_a, tau_b)
    M, an, bn = C.cpu().numpy(), a_t.cpu().numpy(), b_t.cpu().numpy()
    balanced = math.isinf(tau_a) and math.isinf(tau_b)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if balanced:
            method = method or "sinkhorn_log"
            plan, log = ot.sinkhorn(an, bn, M, eps, method=method, numItermax=int(max_iter), stopThr=tol, log=True)
            f = g = None
        else:
            method = method or "sinkhorn"
            plan, log = ot.unbalanced.sinkhorn_unbalanced(
                an, bn, M, eps, reg_m=(tau_a, tau_b), method=method, reg_type="kl", numItermax=int(max_iter), stopThr=tol, log=True
            )
            f = eps * np.asarray(log["logu"]) if "logu" in log else None
            g = eps * np.asarray(log["logv"]) if "logv" in log else None
    n_iter = int(log.get("niter", len(log.get("err", [])))) if isinstance(log, dict) else 0
    if not np.isfinite(plan).all():
        _fail(f"POT {method} returned NaN at epsilon={eps:g} after {n_iter} iterations; raise epsilon or use sinkhorn()", on_fail)
    if balanced or (f is not None and g is not None):
        errs = marginal_residuals(plan, an, bn, f, g, tau_a, tau_b)
    else:
        errs = (math.nan, math.nan)
    converged = bool(np.isfinite(plan).all()) and not math.isnan(errs[0]) and max(errs) < 10 * tol
    if not converged:
        _fail(f"POT {method} did not converge: epsilon={eps:g}, iteration {n_iter} of {max_iter}, marginal error {max(errs):.3g} "
              f"(tolerance 10 * tol = {10 * tol:g}); raise max_iter or epsilon", on_fail)
    conv = (lambda x: torch.as_tensor(x, device=C.device)) if isinstance(cost, torch.Tensor) else (lambda x: x)
    return Coupling(
        plan=conv(plan), value=float((plan * M).sum()), marginal_error=errs, n_iter=n_iter, converged=converged,
        method=f"pot:{method}", epsilon=eps, tau_a=tau_a, tau_b=tau_b, f=None if f is None else conv(f), g=None if g is None else conv(g),
        a=conv(an), b=conv(bn), log={"seconds": time.perf_counter() - t0},
    )


def solve(cost, a=None, b=None, *, epsilon: float | None = None, unbalanced: tuple[float, float] | None = None, method: str = "sinkhorn", **kwargs) -> Coupling:
    """Solve OT on ``cost``: ``method="sinkhorn"`` (:func:`sinkhorn`), ``"exact"`` (:func:`exact`) or ``"pot"``
    (:func:`pot_sinkhorn`). ``unbalanced=(tau_a, tau_b)`` relaxes the marginals (``float('inf')`` keeps one hard);
    further keyword arguments go to the solver."""
    if method == "exact":
        if epsilon is not None or unbalanced is not None:
            raise CouplingError("method='exact' solves the unregularised balanced problem; drop epsilon and unbalanced, or use method='sinkhorn'")
        return exact(cost, a, b, **kwargs)
    if method not in ("sinkhorn", "pot"):
        raise CouplingError(f"method must be 'sinkhorn', 'exact' or 'pot'; got {method!r}")
    if epsilon is None:
        raise CouplingError(f"method={method!r} needs epsilon (entropic regularisation, > 0), e.g. epsilon=1e-3 on a mean-normalised cost")
    tau_a, tau_b = (math.inf, math.inf) if unbalanced is None else _pair(unbalanced)
    fn = sinkhorn if method == "sinkhorn" else pot_sinkhorn
    return fn(cost, a, b, epsilon=epsilon, tau_a=tau_a, tau_b=tau_b, **kwargs)


def _pair(unbalanced) -> tuple[float, float]:
    if isinstance(unbalanced, (int, float)):
        return float(unbalanced), float(unbalanced)
    try:
        tau_a, tau_b = unbalanced
    except (TypeError, ValueError):
        raise CouplingError(f"unbalanced must be None, a number or a pair (tau_a, tau_b); got {unbalanced!r}") from None
    return float(tau_a), float(tau_b)
