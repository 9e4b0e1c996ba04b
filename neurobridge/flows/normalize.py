"""Per-feature standardisation ``(a - mean) / std``, stored as buffers so it travels with the model's state dict."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Standardizer"]


class Standardizer(nn.Module):
    """``forward(a) = (a - mean) / std`` and ``inverse(u) = u * std + mean``, per feature.

    Features whose standard deviation is below ``eps`` keep ``std = 1`` (they are only centred), so a constant
    column never divides by zero.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, data: torch.Tensor, *, eps: float = 1e-8) -> Standardizer:
        """Set ``mean`` and ``std`` (population, ``ddof=0``) from ``data`` of shape ``(n, dim)``, in float64."""
        if data.ndim != 2 or data.shape[1] != self.mean.numel():
            raise ValueError(f"Standardizer.fit: data must have shape (n, {self.mean.numel()}); got {tuple(data.shape)}")
        d = data.detach().to(torch.float64)
        mean = d.mean(dim=0)
        std = d.std(dim=0, unbiased=False)
        std = torch.where(std > eps, std, torch.ones_like(std))
        self.mean.copy_(mean.to(self.mean.dtype))
        self.std.copy_(std.to(self.std.dtype))
        return self

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return (a - self.mean) / self.std

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.std + self.mean
