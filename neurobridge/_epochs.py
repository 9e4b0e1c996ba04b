"""One epoch-permutation helper: rows in successive random permutations, checkpointable mid-pass.

Used by every sampler that visits each item once per pass (plan and exemplar samplers in ``epoch`` mode, the bridges
without replacement, fixed training pairs).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["EpochRows"]


class EpochRows:
    """Rows ``0..n-1`` in successive random permutations, so every row comes once per pass; the position in the
    current pass is checkpointable (``state_dict``), which keeps a resumed training run bit-identical."""

    def __init__(self, n: int):
        self.n = int(n)
        self._order = np.empty(0, dtype=np.int64)
        self._pos = 0

    def take(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        parts, need = [np.empty(0, dtype=np.int64)], batch_size
        while need > 0:
            if self._pos >= len(self._order):
                self._order, self._pos = rng.permutation(self.n), 0
            step = min(need, len(self._order) - self._pos)
            parts.append(self._order[self._pos : self._pos + step])
            self._pos += step
            need -= step
        return np.concatenate(parts)

    def state_dict(self) -> dict:
        return {"order": torch.from_numpy(self._order.copy()), "pos": int(self._pos)}

    def load_state_dict(self, state: dict) -> None:
        self._order = state["order"].numpy().astype(np.int64)
        self._pos = int(state["pos"])
