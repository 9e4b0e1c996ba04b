"""Where training pairs come from: the :class:`PairSampler` protocol shared with :mod:`neurobridge.couplings`.

A pair sampler returns ``batch_size`` pairs ``(source_index, target_index)`` of int64 positions into the source
pool ``X`` and the target pool ``Y``. The trainer calls it once per optimisation step with its own
:class:`numpy.random.Generator`, so minibatch couplings re-pair every step and global plans are re-sampled
continually. A sampler that keeps state between calls may also offer ``state_dict()`` / ``load_state_dict(state)``
(torch tensors and Python scalars only); the trainer then stores that state in its checkpoints so a resumed run is
bit-identical.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .._epochs import EpochRows

__all__ = ["PairSampler", "FixedPairs", "check_pair_indices"]


@runtime_checkable
class PairSampler(Protocol):
    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return two int64 arrays of length ``batch_size``: source positions and target positions."""
        ...


def check_pair_indices(source_index, target_index, n_source: int, n_target: int, *, name: str = "pairs") -> tuple[np.ndarray, np.ndarray]:
    """Validate two index arrays (same length, 1-D, integer, in range) and return them as int64."""
    src = np.asarray(source_index)
    tgt = np.asarray(target_index)
    if src.ndim != 1 or tgt.ndim != 1 or len(src) != len(tgt):
        raise ValueError(
            f"{name}: source and target indices must be 1-D arrays of equal length; got shapes {src.shape} and {tgt.shape}"
        )
    for label, arr, n in (("source", src, n_source), ("target", tgt, n_target)):
        if len(arr) and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name}: {label} indices must be integers (positions into the pool); got dtype {arr.dtype}")
        if len(arr) and (arr.min() < 0 or arr.max() >= n):
            raise ValueError(
                f"{name}: {label} indices must lie in [0, {n}) (the {label} pool has {n} points); "
                f"got min {arr.min()}, max {arr.max()}"
            )
    return src.astype(np.int64, copy=False), tgt.astype(np.int64, copy=False)


class FixedPairs:
    """Sample from a fixed list of pairs, epoch by epoch: each epoch is a fresh permutation drawn from ``rng``.

    A batch that runs past the end of an epoch continues into the next permutation, so every pair is used once per
    epoch. This is the sampler of the supervised-only baseline (the bridges alone) and of row-paired data.
    """

    def __init__(self, source_index, target_index):
        src, tgt = check_pair_indices(source_index, target_index, np.iinfo(np.int64).max, np.iinfo(np.int64).max, name="FixedPairs")
        if len(src) == 0:
            raise ValueError("FixedPairs: got no pairs; pass at least one (source_index, target_index) pair")
        self.source_index = src
        self.target_index = tgt
        self._epoch = EpochRows(len(src))

    def __len__(self) -> int:
        return len(self.source_index)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        chosen = self._epoch.take(int(batch_size), rng)
        return self.source_index[chosen], self.target_index[chosen]

    def state_dict(self) -> dict:
        state = self._epoch.state_dict()
        return {"order": state["order"], "cursor": state["pos"]}

    def load_state_dict(self, state: dict) -> None:
        self._epoch.load_state_dict({"order": state["order"], "pos": state["cursor"]})
