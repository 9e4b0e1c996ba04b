"""Input checks shared by the coupling modules: each names the argument, its shape and what to do."""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .._validation import check_choice, check_integer, check_number, check_seed
from .errors import ConvergenceError, CouplingError

__all__ = ["as_tensor", "as_points", "as_cost", "as_weights", "check_epsilon", "check_tau", "check_on_fail", "check_number",
           "check_integer", "check_seed", "check_choice", "check_unbalanced", "check_pool", "warn_if_uniform"]


def as_tensor(value, name: str, *, dtype=None, device=None) -> torch.Tensor:
    """``value`` as a torch tensor (NumPy arrays and xarray objects are converted; tensors keep their device)."""
    if isinstance(value, torch.Tensor):
        out = value
    else:
        if hasattr(value, "values") and not isinstance(value, np.ndarray):
            value = value.values
        try:
            out = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as exc:
            raise CouplingError(f"{name} must be an array of numbers; got {type(value).__name__} ({exc})") from None
    if not (out.dtype.is_floating_point or out.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8, torch.bool)):
        raise CouplingError(f"{name} must hold real numbers; got dtype {out.dtype}")
    if dtype is not None or device is not None:
        out = out.to(device=device if device is not None else out.device, dtype=dtype if dtype is not None else out.dtype)
    return out


def _float_dtype(t: torch.Tensor, dtype) -> torch.dtype:
    if dtype is not None:
        return dtype
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


def as_points(value, name: str, *, dtype=None, device=None) -> torch.Tensor:
    """A non-empty, finite 2-D ``(points, features)`` float tensor."""
    t = as_tensor(value, name, device=device)
    if t.ndim != 2:
        raise CouplingError(f"{name} must be 2-D (points x features); got shape {tuple(t.shape)}. Reshape with .reshape(len(x), -1)")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise CouplingError(f"{name} is empty (shape {tuple(t.shape)}); it needs at least one point and one feature")
    t = t.to(_float_dtype(t, dtype))
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).any(dim=1).sum())
        raise CouplingError(f"{name} (shape {tuple(t.shape)}) has NaN or infinite values in {bad} rows; drop or impute them first")
    return t


def as_cost(value, name: str = "cost", *, dtype=None, device=None) -> torch.Tensor:
    """A non-empty, finite 2-D cost matrix as a float tensor."""
    t = as_tensor(value, name, device=device)
    if t.ndim != 2:
        raise CouplingError(f"{name} must be a 2-D (n x m) cost matrix; got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise CouplingError(f"{name} is empty (shape {tuple(t.shape)}); both pools need at least one point")
    t = t.to(_float_dtype(t, dtype))
    if not bool(torch.isfinite(t).all()):
        raise CouplingError(f"{name} (shape {tuple(t.shape)}) has {int((~torch.isfinite(t)).sum())} NaN or infinite entries; fix the cost first")
    return t


def as_weights(value, size: int, name: str, *, like: torch.Tensor) -> torch.Tensor:
    """Marginal weights: uniform ``1/size`` when ``value`` is None, else a positive vector of length ``size``."""
    if value is None:
        return torch.full((size,), 1.0 / size, dtype=like.dtype, device=like.device)
    w = as_tensor(value, name, dtype=like.dtype, device=like.device)
    if w.ndim != 1 or w.shape[0] != size:
        raise CouplingError(f"{name} must be a 1-D vector of length {size} (one weight per point); got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise CouplingError(f"{name} must be finite and non-negative; got min {float(w.min()):g}")
    if float(w.sum()) <= 0:
        raise CouplingError(f"{name} sums to zero; give at least one point positive weight")
    return w


def check_epsilon(epsilon, name: str = "epsilon") -> float:
    """A finite, strictly positive regularisation strength."""
    try:
        eps = float(epsilon)
    except (TypeError, ValueError):
        raise CouplingError(f"{name} must be a positive number; got {epsilon!r}") from None
    if not math.isfinite(eps) or eps <= 0:
        raise CouplingError(f"{name} must be > 0 and finite; got {epsilon!r}. Typical values: 1e-3 (global plan) to 0.1 (minibatch)")
    return eps


def check_tau(tau, name: str) -> float:
    """A marginal relaxation strength: positive, ``inf`` for a hard marginal constraint."""
    try:
        t = float(tau)
    except (TypeError, ValueError):
        raise CouplingError(f"{name} must be a positive number or float('inf'); got {tau!r}") from None
    if math.isnan(t) or t <= 0:
        raise CouplingError(f"{name} must be > 0 (use float('inf') for a hard marginal constraint); got {tau!r}")
    return t


def check_on_fail(on_fail: str) -> str:
    if on_fail not in ("raise", "warn"):
        raise CouplingError(f"on_fail must be 'raise' or 'warn'; got {on_fail!r}")
    return on_fail


def check_unbalanced(unbalanced, name: str = "unbalanced"):
    """``None`` (balanced), one relaxation strength, or a pair ``(tau_a, tau_b)``; each > 0, ``inf`` allowed."""
    if unbalanced is None:
        return None
    pair = (unbalanced, unbalanced) if not isinstance(unbalanced, (tuple, list)) else tuple(unbalanced)
    if len(pair) != 2:
        raise CouplingError(f"{name} must be None, a number or a pair (tau_a, tau_b); got {unbalanced!r}")
    for side, tau in zip(("tau_a", "tau_b"), pair):
        check_number(tau, f"{name} ({side})", low=0.0, allow_inf=True)
    return unbalanced


def check_pool(points, name: str, metric: str) -> None:
    """Refuse a degenerate pool: every point equal (no geometry to couple), or zero vectors under the cosine metric
    (their cosine distance is undefined)."""
    values = points.detach() if isinstance(points, torch.Tensor) else torch.as_tensor(np.asarray(points))
    if values.ndim != 2 or values.shape[0] == 0:
        return
    if values.shape[0] > 1 and bool((values == values[:1]).all()):
        raise CouplingError(f"{name}: all {values.shape[0]} points are identical, so no coupling can tell them apart; "
                            "check that the features were extracted correctly")
    if metric == "cosine":
        zero = ~(values != 0).any(dim=1)
        if bool(zero.any()):
            raise CouplingError(f"{name} has {int(zero.sum())} all-zero rows (first at position {int(torch.nonzero(zero)[0])}); "
                                "their cosine distance is undefined: drop them or use metric='euclidean'")


def warn_if_uniform(coupling, name: str = "epsilon", rtol: float = 1e-2) -> None:
    """Warn when a dense plan is within ``rtol`` (relative, entrywise) of the independent coupling ``a b^T`` (scaled
    to the plan's mass): the entropic term swamped the cost, so the plan pairs every source point with every target
    alike. Streams over row blocks of about a million entries, so it costs no extra ``n x m`` memory."""
    import warnings

    if coupling.plan is None or coupling.a is None or coupling.b is None:
        return
    plan = torch.as_tensor(coupling.plan)
    a = torch.as_tensor(coupling.a, device=plan.device, dtype=torch.float64)
    b = torch.as_tensor(coupling.b, device=plan.device, dtype=torch.float64)
    n, m = plan.shape
    mass = float(plan.sum(dtype=torch.float64))
    if not mass > 0 or n * m < 2:
        return
    scale = mass / float(a.sum() * b.sum())
    rows = max(1, 1_048_576 // m)
    for start in range(0, n, rows):
        independent = torch.outer(a[start : start + rows], b) * scale
        if float(((plan[start : start + rows].double() - independent).abs() / independent).max()) >= rtol:
            return
    warnings.warn(f"{name}={coupling.epsilon!r} is so large that the plan is uniform (every source point coupled "
                  "alike to every target); lower it, e.g. 1e-2 on the mean-normalised bridge cost", UserWarning, stacklevel=3)


def _fail(message: str, on_fail: str) -> None:
    if on_fail == "raise":
        raise ConvergenceError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _positive(w: torch.Tensor, name: str) -> torch.Tensor:
    if bool((w <= 0).any()):
        raise CouplingError(f"{name} has {int((w <= 0).sum())} zero weights; drop those points before solving (Sinkhorn needs positive weights)")
    return w


def _check_mass(a: torch.Tensor, b: torch.Tensor, tau_a: float, tau_b: float) -> None:
    if math.isinf(tau_a) and math.isinf(tau_b):
        ma, mb = float(a.sum()), float(b.sum())
        if abs(ma - mb) > 1e-6 * max(ma, mb):
            raise CouplingError(
                f"a sums to {ma:.6g} but b sums to {mb:.6g}; the balanced problem needs equal masses. "
                "Normalise them or relax a marginal with tau_a / tau_b (unbalanced=(tau_a, tau_b))"
            )
