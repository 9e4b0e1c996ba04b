r"""Reference couplings behind the same :class:`Coupling` type: the methods bridge-OT is compared against.

- :func:`supervised_only`: the ``K`` bridges alone (no unlabelled point is paired).
- :func:`gromov_wasserstein`: entropic Gromov-Wasserstein between the intra-space distance matrices (Memoli 2011;
  Peyre, Cuturi & Solomon 2016), POT's ``ot.gromov.entropic_gromov_wasserstein``; uses no bridge at all.
- :func:`fused_gromov_wasserstein`: entropic fused GW (Vayer et al. 2019) whose feature term is the bridge cost,
  POT's ``ot.gromov.entropic_fused_gromov_wasserstein``; ``alpha`` weighs the structure term.
- :func:`map_coupling`: fit a map on the bridges, then OT in the target space. ``"procrustes"``: both pools are
  standardised (z-scored per feature) and zero-padded to ``max(d_x, d_y)`` features, and the orthogonal ``R``
  minimising ``|X~ R - Y~|_F`` over the anchors is ``U V^T`` from ``X~^T Y~ = U S V^T`` (Schonemann 1966);
  ``"lstsq"``: least squares ``W = argmin |X~ W - Y~|_F`` (minimum-norm solution) on the same standardised anchors.
  The cost is the squared distance between mapped sources and targets, divided by its mean.
- :func:`relative_coupling`: relative representations (Moschella et al. 2023, ICLR): every point becomes its
  cosine similarities to its space's exemplars (a ``K``-vector shared by both spaces), then plain OT on the cosine
  distance between those vectors.

The OT step is :func:`~neurobridge.couplings.solve`: exact when ``epsilon`` is None, else entropic.
"""
from __future__ import annotations

import numpy as np
import torch

from .._procrustes import pad, rotation, scaling_stats
from ._checks import as_points, check_epsilon
from .cost import bridge_cost, distances, exemplar_arrays
from .errors import CouplingError
from .result import Coupling
from .sampling import BridgeSampler
from .solvers import marginal_residuals, solve

__all__ = ["supervised_only", "gromov_wasserstein", "fused_gromov_wasserstein", "map_coupling", "relative_coupling"]


def _solve(C: torch.Tensor, epsilon, method: str, solver_kwargs: dict | None, **log) -> Coupling:
    kwargs = dict(solver_kwargs or {})
    if epsilon is None:
        result = solve(C.double(), method="exact", **kwargs)
    else:
        result = solve(C, epsilon=epsilon, method=kwargs.pop("method", "sinkhorn"), **kwargs)
    from dataclasses import replace

    return replace(result, method=f"{method}+{result.method}", log={**result.log, **log})


def supervised_only(bridges, *, replace: bool = True) -> Coupling:
    """The bridges alone: a :class:`BridgeSampler` over the ``K`` pairs, no plan."""
    from ..bridges import Bridges

    if not isinstance(bridges, Bridges):
        raise CouplingError(f"supervised_only needs a Bridges object; got {type(bridges).__name__}")
    K = len(bridges)
    n = bridges.n_source if bridges.n_source is not None else int(bridges.source_index.max()) + 1
    m = bridges.n_target if bridges.n_target is not None else int(bridges.target_index.max()) + 1
    return Coupling(
        plan=None, sampler=BridgeSampler(bridges, replace=replace), value=float("nan"), method="supervised_only",
        marginal_error=(float("nan"), float("nan")), a=np.full(n, 1.0 / n), b=np.full(m, 1.0 / m),
        log={"shape": (n, m), "K": K},
    )


def _intra(points: torch.Tensor, metric: str) -> np.ndarray:
    D = distances(points, points, metric).double()
    return (D / D.mean()).cpu().numpy()


def _gw_result(plan: np.ndarray, method: str, epsilon: float, log: dict, p, q, M=None) -> Coupling:
    errs = marginal_residuals(plan, p, q)
    value = float((plan * M).sum()) if M is not None else float("nan")
    return Coupling(plan=torch.as_tensor(plan), value=value, marginal_error=errs, n_iter=int(len(log.get("err", []))),
                    converged=bool(max(errs) < 1e-3), method=method, epsilon=epsilon, a=p, b=q,
                    log={"gw_dist": float(log.get("gw_dist", log.get("fgw_dist", np.nan)))})


def gromov_wasserstein(x, y, *, epsilon: float = 1e-2, metric: str = "cosine", max_iter: int = 1000, tol: float = 1e-9) -> Coupling:
    """Entropic GW between the mean-normalised intra-space distances of ``x`` and ``y`` (square loss)."""
    import ot

    eps = check_epsilon(epsilon)
    x = as_points(x, "x", dtype=torch.float64)
    y = as_points(y, "y", dtype=torch.float64)
    C1, C2 = _intra(x, metric), _intra(y, metric)
    p, q = ot.unif(len(C1)), ot.unif(len(C2))
    plan, log = ot.gromov.entropic_gromov_wasserstein(C1, C2, p, q, "square_loss", epsilon=eps, max_iter=max_iter, tol=tol, log=True)
    return _gw_result(plan, "gromov_wasserstein", eps, log, p, q)


def fused_gromov_wasserstein(x, y, bridges, *, alpha: float = 0.5, epsilon: float = 1e-2, metric: str = "cosine",
                             mode: str = "exact", max_iter: int = 1000, tol: float = 1e-9) -> Coupling:
    """Entropic fused GW: ``(1 - alpha) <M, P>`` with ``M`` the bridge cost, plus ``alpha`` times the GW term."""
    import ot

    eps = check_epsilon(epsilon)
    if not 0 <= alpha <= 1:
        raise CouplingError(f"alpha must lie in [0, 1] (weight of the structure term); got {alpha!r}")
    x = as_points(x, "x", dtype=torch.float64)
    y = as_points(y, "y", dtype=torch.float64)
    M = bridge_cost(x, y, bridges, metric=metric, mode=mode).cost.cpu().numpy()
    C1, C2 = _intra(x, metric), _intra(y, metric)
    p, q = ot.unif(len(C1)), ot.unif(len(C2))
    plan, log = ot.gromov.entropic_fused_gromov_wasserstein(M, C1, C2, p, q, "square_loss", epsilon=eps, alpha=alpha,
                                                            max_iter=max_iter, tol=tol, log=True)
    return _gw_result(plan, "fused_gromov_wasserstein", eps, log, p, q, M)


def _standardise_pad(points: torch.Tensor, d: int) -> torch.Tensor:
    mean, scale = scaling_stats(points, "zscore")
    return pad((points - mean) / scale, d)


def map_coupling(x, y, bridges, *, method: str = "procrustes", epsilon: float | None = None, solver_kwargs: dict | None = None) -> Coupling:
    """Fit ``method`` (``"procrustes"`` or ``"lstsq"``) on the bridges, map ``x`` into ``y``'s space, then OT.

    The fitted map is in ``log["map"]`` (``d x d`` over standardised, zero-padded features) and the mapped sources in
    ``log["mapped_source"]``.
    """
    if method not in ("procrustes", "lstsq"):
        raise CouplingError(f"method must be 'procrustes' or 'lstsq'; got {method!r}")
    x = as_points(x, "x", dtype=torch.float64)
    y = as_points(y, "y", dtype=torch.float64, device=x.device)
    xe, ye, _ = exemplar_arrays(x, y, bridges)
    d = max(x.shape[1], y.shape[1])
    pool_x = torch.cat([x, xe])
    pool_y = torch.cat([y, ye])
    zx = _standardise_pad(pool_x, d)
    zy = _standardise_pad(pool_y, d)
    X, Xa = zx[: x.shape[0]], zx[x.shape[0]:]
    Y, Ya = zy[: y.shape[0]], zy[y.shape[0]:]
    if method == "procrustes":
        W = rotation(Xa, Ya)
    else:
        W = torch.linalg.lstsq(Xa, Ya, driver="gelsd" if Xa.device.type == "cpu" else None).solution
    mapped = X @ W
    C = distances(mapped, Y, "sqeuclidean")
    C = C / C.mean()
    return _solve(C, epsilon, method, solver_kwargs, map=W, mapped_source=mapped)


def relative_coupling(x, y, bridges, *, epsilon: float | None = None, solver_kwargs: dict | None = None) -> Coupling:
    """Relative representations (cosine similarity to the exemplars) on both sides, then OT on their cosine distance."""
    x = as_points(x, "x", dtype=torch.float64)
    y = as_points(y, "y", dtype=torch.float64, device=x.device)
    xe, ye, _ = exemplar_arrays(x, y, bridges)
    rx = 1.0 - distances(x, xe, "cosine")
    ry = 1.0 - distances(y, ye, "cosine")
    C = distances(rx, ry, "cosine")
    mean = C.mean()
    if not mean > 0:
        raise CouplingError("all relative representations coincide; the bridges carry no information about the pools")
    return _solve(C / mean, epsilon, "relative", solver_kwargs, relative_source=rx, relative_target=ry)
