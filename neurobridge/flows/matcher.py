"""The conditional flow-matching objective on a straight path (GENOT-style, conditioned on the source point).

For a pair ``(x, y)`` drawn from a coupling, noise ``z0 ~ N(0, sigma^2 I_{d_y})`` in the target space and
``t ~ U[0, 1]``:

    z_t = (1 - t) z0 + t y + sigma_min * eps,   eps ~ N(0, I),   u = y - z0,
    L(theta) = E || v_theta(t, z_t; x) - u ||^2  (mean over batch and coordinates).

``sigma_min = 0`` is the rectified / optimal-transport path of Lipman et al. 2023 ("Flow Matching for Generative
Modeling"); ``sigma_min > 0`` is the Gaussian-smoothed path of Tong et al. 2023 ("Improving and generalizing
flow-based generative models with minibatch optimal transport", I-CFM); conditioning on ``x`` so that the flow
learns ``p(y | x)`` with ``d_x != d_y`` is Klein et al. 2023 ("Generative Entropic Neural Optimal Transport to Map
Within and Across Spaces", GENOT). ``sigma^2 = 0.5`` follows the earlier code of the method.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_float

__all__ = ["FlowMatcher", "PathNoise"]


class PathNoise(NamedTuple):
    """The random parts of one batch of paths: times ``t`` (B,), start points ``z0`` (B, d_y), path noise ``eps``."""

    t: torch.Tensor
    z0: torch.Tensor
    eps: torch.Tensor | None

    def shard(self, start: int, stop: int) -> PathNoise:
        """Rows ``start:stop`` (one data-parallel rank's share of a global batch)."""
        return PathNoise(self.t[start:stop], self.z0[start:stop], None if self.eps is None else self.eps[start:stop])


@dataclass(frozen=True)
class FlowMatcher:
    """Straight-path conditional flow matching with source noise ``N(0, sigma^2 I)`` (see the module docstring).

    ``sigma`` is the standard deviation of ``z0`` (default ``sqrt(0.5)``, i.e. ``sigma^2 = 0.5``); ``sigma_min`` the
    standard deviation of the optional path noise.
    """

    sigma: float = math.sqrt(0.5)
    sigma_min: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "sigma", check_float(self.sigma, "FlowMatcher: sigma (the std of z0)", positive=True))
        object.__setattr__(self, "sigma_min", check_float(self.sigma_min, "FlowMatcher: sigma_min", low=0))

    def draw(self, batch_size: int, d_y: int, *, generator: torch.Generator, device: torch.device) -> PathNoise:
        """Draw ``t ~ U[0, 1]``, ``z0 ~ N(0, sigma^2 I)`` and (if ``sigma_min > 0``) ``eps`` from ``generator``."""
        t = torch.rand(batch_size, generator=generator, device=device)
        z0 = torch.randn(batch_size, d_y, generator=generator, device=device).mul_(self.sigma)
        eps = torch.randn(batch_size, d_y, generator=generator, device=device) if self.sigma_min > 0 else None
        return PathNoise(t, z0, eps)

    def path(self, y: torch.Tensor, noise: PathNoise) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(z_t, u)`` for targets ``y`` (B, d_y)."""
        t = noise.t.unsqueeze(-1).to(y.dtype)
        z_t = (1 - t) * noise.z0 + t * y
        if noise.eps is not None:
            z_t = z_t + self.sigma_min * noise.eps
        return z_t, y - noise.z0

    def loss(self, velocity: nn.Module, x: torch.Tensor, y: torch.Tensor, noise: PathNoise) -> torch.Tensor:
        """``mean || v(t, z_t; x) - u ||^2`` over the batch and the target coordinates, in float32."""
        z_t, u = self.path(y, noise)
        v = velocity(noise.t, z_t, x)
        return F.mse_loss(v.float(), u.float())
