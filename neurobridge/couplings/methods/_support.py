"""Helpers shared by the coupling methods beyond the paper: bridge kind, input arrays, the entropic OT step."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .._checks import as_points
from ..result import Coupling, CouplingError

__all__ = ["bridge_kind", "pool_arrays", "check_bridges", "entropic_plan", "PAIRED", "LABEL"]

PAIRED, LABEL = "paired", "label"


def bridge_kind(bridges) -> str:
    """``"paired"`` for bridges that pair the same stimulus (``match="stimulus_id"``, or ``"index"`` without labels),
    ``"label"`` for label-matched bridges (``match`` names a label coord, or ``"index"`` with labels)."""
    match = getattr(bridges, "match", None)
    if match == "stimulus_id" or (match == "index" and bridges.labels is None):
        return PAIRED
    return LABEL


def check_bridges(bridges, n: int, m: int, method: str):
    """A :class:`~neurobridge.bridges.Bridges` whose positions fit pools of ``n`` source and ``m`` target points."""
    from ...bridges import Bridges

    if not isinstance(bridges, Bridges):
        raise CouplingError(f"{method} needs a neurobridge.Bridges object (positions into x and y); got {type(bridges).__name__}")
    if len(bridges) == 0:
        raise CouplingError(f"{method}: bridges is empty; at least one bridge is needed")
    if bridges.source_index.max() >= n or bridges.target_index.max() >= m:
        raise CouplingError(f"{method}: bridges index positions beyond the pools (x has {n} points, y {m}); "
                            "sample the bridges from the same pools you pass to fit")
    for side, expected, actual in (("source", bridges.n_source, n), ("target", bridges.n_target, m)):
        if expected is not None and expected != actual:
            raise CouplingError(f"{method}: bridges were drawn from a {side} pool of {expected} points but got {actual}")
    return bridges


def pool_arrays(x, y) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as finite float64 NumPy arrays (assemblies, tensors and arrays accepted)."""
    tx = as_points(x, "x", dtype=torch.float64)
    ty = as_points(y, "y", dtype=torch.float64)
    return tx.cpu().numpy(), ty.cpu().numpy()


def as_coupling_error(check, *args, **kwargs):
    """Run a :mod:`neurobridge._validation` check; a wrong value becomes a :class:`CouplingError` (a ValueError),
    a wrong type stays a TypeError."""
    try:
        return check(*args, **kwargs)
    except TypeError:
        raise
    except ValueError as error:
        raise CouplingError(str(error)) from None


def check_positive(value, name: str) -> float:
    """A finite number ``> 0`` (not a string, not a boolean); the error names ``name``."""
    from ..._validation import check_number

    return as_coupling_error(check_number, value, name, low=0.0)


def entropic_plan(cost, epsilon: float, unbalanced, solver_kwargs: dict | None, method: str, **log) -> Coupling:
    """Entropic OT (:func:`neurobridge.couplings.solve`, Sinkhorn) on ``cost``; the result renamed ``method``."""
    from ..solvers import solve

    kwargs = {"tol": 1e-4, **(solver_kwargs or {})}
    C = torch.as_tensor(np.asarray(cost, dtype=np.float64)) if not isinstance(cost, torch.Tensor) else cost
    result = solve(C, epsilon=epsilon, unbalanced=unbalanced, **kwargs)
    return replace(result, method=method, log={**result.log, **log})
