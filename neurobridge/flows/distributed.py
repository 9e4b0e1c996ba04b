"""Data-parallel helpers for ``torch.distributed`` (DDP), as launched by ``torchrun``.

Scheme (what makes a run on R ranks reproduce a single-process run): every rank holds the same pools, seeds and
sampler, draws the same *global* batch of pairs and path noise, and keeps its own contiguous share of
``batch_size / R`` rows; DistributedDataParallel averages the gradients, which equals the gradient of the mean loss
over the global batch. Nothing here runs at import time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "current_context", "init_from_env", "shard_bounds", "all_reduce_mean", "gather_objects"]


@dataclass(frozen=True)
class DistributedContext:
    """This process's ``rank`` among ``world_size`` processes and its ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def current_context() -> DistributedContext:
    """The context of the initialised default process group, or a single-process context."""
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistributedContext()


def init_from_env(backend: str = "auto") -> DistributedContext:
    """Initialise the default process group from torchrun's environment (``RANK``, ``WORLD_SIZE``, ...).

    ``backend="auto"`` picks NCCL when CUDA is available and gloo otherwise. Without torchrun's variables this is a
    no-op returning a single-process context.
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistributedContext()
    if not dist.is_available():
        raise RuntimeError("torch.distributed is not available in this PyTorch build; run without torchrun")
    if not dist.is_initialized():
        if backend == "auto":
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return current_context()


def shard_bounds(batch_size: int, context: DistributedContext) -> tuple[int, int]:
    """Rows ``[start, stop)`` of a global batch that belong to this rank; the batch must split evenly."""
    if batch_size % context.world_size:
        raise ValueError(
            f"batch_size={batch_size} must be divisible by the number of processes ({context.world_size}) "
            "so that every rank trains on an equal share of each global batch"
        )
    local = batch_size // context.world_size
    return context.rank * local, (context.rank + 1) * local


def all_reduce_mean(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Mean of ``tensor`` over ranks (in place on a copy); identity in a single process."""
    if not context.is_distributed:
        return tensor
    out = tensor.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.div_(context.world_size)


def gather_objects(obj, context: DistributedContext) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (picklable objects); ``[obj]`` in a single process."""
    if not context.is_distributed:
        return [obj]
    out = [None] * context.world_size
    dist.all_gather_object(out, obj)
    return out
