"""Integrate ``dz/dt = f(t, z)`` from ``t = 0`` to ``t = 1``: fixed-step Euler, midpoint and RK4 in torch, adaptive
Dormand-Prince 5(4) through torchdiffeq (Chen et al. 2018).

With ``h = 1 / steps`` and ``t_k = k h``:

- Euler:    ``z_{k+1} = z_k + h f(t_k, z_k)``                                   (1 evaluation per step, order 1)
- midpoint: ``z_{k+1} = z_k + h f(t_k + h/2, z_k + h/2 f(t_k, z_k))``           (2 evaluations, order 2)
- RK4:      the classical four-stage Runge-Kutta rule                          (4 evaluations, order 4)
- dopri5:   adaptive steps with error control ``rtol``, ``atol`` (``steps`` is ignored).

The straight paths of flow matching (Lipman et al. 2023) make the learned field nearly constant along a trajectory,
so few Euler steps are often enough; compare with ``benchmarks/bench_flow_transport.py``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .._validation import check_float, check_int

__all__ = ["METHODS", "check_options", "integrate"]

METHODS = ("euler", "midpoint", "rk4", "dopri5")

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_options(method: str = "euler", steps: int = 32, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """Raise a clear error for transport options that :func:`integrate` would refuse, so that a caller that
    transports after training (``Aligner``) can check them before it trains."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method (the ODE solver) must be one of {METHODS}; got {method!r}")
    if method == "dopri5":
        check_float(rtol, "rtol", positive=True)
        check_float(atol, "atol", positive=True)
    else:
        check_int(steps, f"steps (fixed steps of method={method!r})", low=1)


def integrate(
    field: Field,
    z0: torch.Tensor,
    *,
    method: str = "euler",
    steps: int = 32,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> tuple[torch.Tensor, int]:
    """Return ``(z(1), number of field evaluations)`` for ``dz/dt = field(t, z)``, ``z(0) = z0``.

    ``field`` receives ``t`` as a 0-d tensor on ``z0``'s device and ``z`` of ``z0``'s shape.
    """
    check_options(method, steps, rtol, atol)
    if method == "dopri5":
        return _dopri5(field, z0, rtol=rtol, atol=atol)
    steps = int(steps)
    h = 1.0 / steps
    times = torch.linspace(0.0, 1.0, steps + 1, device=z0.device, dtype=z0.dtype)
    z = z0
    stage = {"euler": _euler, "midpoint": _midpoint, "rk4": _rk4}[method]
    for k in range(steps):
        z = stage(field, times[k], z, h)
    return z, steps * {"euler": 1, "midpoint": 2, "rk4": 4}[method]


def _euler(f: Field, t: torch.Tensor, z: torch.Tensor, h: float) -> torch.Tensor:
    return z + h * f(t, z)


def _midpoint(f: Field, t: torch.Tensor, z: torch.Tensor, h: float) -> torch.Tensor:
    return z + h * f(t + h / 2, z + (h / 2) * f(t, z))


def _rk4(f: Field, t: torch.Tensor, z: torch.Tensor, h: float) -> torch.Tensor:
    k1 = f(t, z)
    k2 = f(t + h / 2, z + (h / 2) * k1)
    k3 = f(t + h / 2, z + (h / 2) * k2)
    k4 = f(t + h, z + h * k3)
    return z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def _dopri5(field: Field, z0: torch.Tensor, *, rtol: float, atol: float) -> tuple[torch.Tensor, int]:
    from torchdiffeq import odeint

    calls = [0]

    def counted(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return field(t, z)

    span = torch.tensor([0.0, 1.0], device=z0.device, dtype=z0.dtype)
    path = odeint(counted, z0, span, method="dopri5", rtol=rtol, atol=atol)
    return path[-1], calls[0]
