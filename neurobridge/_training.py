"""Seeded, device-aware minibatch training shared by the reference models and the end-to-end baselines."""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Seed torch's global generators for the enclosed block only (``torch.random.fork_rng``), so nothing leaks."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int; got {seed!r}")
    seed = int(seed)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def batch_indices(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A fresh random partition of ``range(n)`` into batches of ``batch_size`` (the last may be smaller)."""
    order = torch.randperm(n, generator=generator)
    return list(order.split(batch_size))


def adam(params, **kwargs) -> torch.optim.Adam:
    """``torch.optim.Adam`` with the multi-tensor (``foreach``) update on CPU and CUDA: one kernel per step for all
    parameters instead of one Python loop iteration per parameter, and the same numbers as the per-parameter loop
    (the update is the same elementwise arithmetic; ``tests/test_baselines.py`` checks the weights agree)."""
    params = list(params)
    devices = {p.device.type for group in params for p in (group["params"] if isinstance(group, dict) else [group])}
    foreach = True if devices <= {"cpu", "cuda"} else None
    return torch.optim.Adam(params, foreach=foreach, **kwargs)


def fit_minibatch(
    module: torch.nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    weight_decay: float = 0.0,
    progress: bool = False,
    desc: str = "training",
) -> list[float]:
    """Adam on ``loss_fn(module, *batch)`` over shuffled minibatches of ``tensors``; returns the mean loss per epoch.

    Call inside :func:`seeded`; the batch order comes from a ``torch.Generator`` seeded with ``seed``.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1; got epochs={epochs}, batch_size={batch_size}")
    n = len(tensors[0])
    generator = torch.Generator().manual_seed(int(seed))
    optimiser = adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc=desc, unit="epoch")
    module.train()
    for _ in epochs_iter:
        total = 0.0
        for idx in batch_indices(n, batch_size, generator):
            idx = idx.to(tensors[0].device)
            loss = loss_fn(module, *(t[idx] for t in tensors))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / n)
        if progress:
            epochs_iter.set_postfix(loss=f"{history[-1]:.4g}")
        if not math.isfinite(history[-1]):
            raise FloatingPointError(f"{desc}: the loss became {history[-1]} in epoch {len(history)}; lower lr")
    module.eval()
    return history

