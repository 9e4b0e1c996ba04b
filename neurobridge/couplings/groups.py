"""Exactly repeated rows or columns of a matrix (label codes repeat one point per class over a pool, so their costs
and plans repeat rows or columns): found once, then used to solve and sample on the distinct lines only."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["COLLAPSE_RATIO", "repeated_lines"]

COLLAPSE_RATIO = 0.5
"""Rows (columns) are merged only when the distinct ones are at most this share of them."""


def repeated_lines(C: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(representatives, inverse)`` of the exactly equal rows (``dim=0``) or columns (``dim=1``) of ``C``: line
    ``i`` equals line ``representatives[inverse[i]]`` entry by entry. ``None`` when the distinct lines are more than
    :data:`COLLAPSE_RATIO` of them. Candidates come from a seeded random projection; a line that differs from its
    candidate's representative anywhere keeps its own group."""
    if isinstance(C, np.ndarray):
        C = torch.from_numpy(C)
    M = C if dim == 0 else C.T
    n = M.shape[0]
    if n < 2:
        return None
    gen = torch.Generator(device="cpu").manual_seed(0)
    r = torch.randn(M.shape[1], generator=gen, dtype=torch.float64).to(device=C.device, dtype=C.dtype)
    keys, inverse = torch.unique(M @ r, return_inverse=True)
    if keys.numel() > COLLAPSE_RATIO * n:
        return None
    order = torch.arange(n, device=C.device)
    reps = torch.full((keys.numel(),), n, dtype=torch.long, device=C.device).scatter_reduce_(0, inverse, order, "amin")
    same = torch.empty(n, dtype=torch.bool, device=C.device)
    step = max(1, 1_048_576 // max(M.shape[1], 1))
    for s in range(0, n, step):
        same[s:s + step] = (M[s:s + step] == M[reps[inverse[s:s + step]]]).all(1)
    if not bool(same.all()):
        odd = torch.nonzero(~same).flatten()
        inverse = inverse.clone()
        inverse[odd] = reps.numel() + torch.arange(odd.numel(), device=C.device)
        reps = torch.cat([reps, odd])
        if reps.numel() > COLLAPSE_RATIO * n:
            return None
    return reps, inverse
