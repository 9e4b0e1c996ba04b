"""Check that data-parallel training reproduces a single process: ``torchrun -m neurobridge.flows.ddp_check``.

Run it as ``python -m torch.distributed.run --nproc_per_node=2 -m neurobridge.flows.ddp_check --out result.pt``
(gloo on the CPU, NCCL on GPUs) and compare with ``python -m neurobridge.flows.ddp_check --out single.pt``: every
rank draws the same global batch and keeps its share, so the loss per step and the final weights agree with the
single-process run up to floating-point reduction order. The result file holds the loss history, the world size,
the final velocity weights and, per rank, its shard bounds and the source rows its network saw at every training step
(so a check can tell that each rank trained on its own share and not on the whole batch).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.distributed as dist

from .distributed import current_context, gather_objects, init_from_env, shard_bounds
from .model import ConditionalFlow

__all__ = ["toy_problem", "run", "main"]


def toy_problem(seed: int = 0, n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D source and a 3-D target related by a fixed affine map plus small noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    a = np.array([[1.0, -2.0], [0.5, 1.5], [2.0, 0.0]])
    y = x @ a.T + 0.05 * rng.normal(size=(n, 3))
    return x.astype(np.float32), y.astype(np.float32)


def run(*, steps: int = 30, batch_size: int = 64, seed: int = 0, device: str = "cpu") -> dict:
    """Fit a small flow on :func:`toy_problem` in this process (inside or outside a process group).

    ``inputs[r][s]`` is the (normalised) source batch rank ``r``'s velocity network received at training step ``s``,
    recorded by a forward pre-hook; ``shard_bounds[r]`` is the slice of the global batch rank ``r`` owns.
    """
    from torch.nn.parallel import DistributedDataParallel

    x, y = toy_problem(seed)
    seen: list[torch.Tensor] = []

    def record(module, args):
        # Training calls are velocity(t, z_t, x) with gradients on; DDP's own wrapper forwards to the inner network.
        if module.training and torch.is_grad_enabled() and len(args) == 3 and not isinstance(module, DistributedDataParallel):
            seen.append(args[2].detach().cpu().clone())

    handle = torch.nn.modules.module.register_module_forward_pre_hook(record)
    try:
        flow = ConditionalFlow(
            "small", network_kwargs={"width": 32, "depth": 2}, steps=steps, batch_size=batch_size, seed=seed,
            device=device, log_every=10, progress=False,
        ).fit(x, y)
    finally:
        handle.remove()
    context = current_context()
    state = {k: v.detach().cpu() for k, v in flow.module_.velocity.state_dict().items()}
    return {
        "world_size": context.world_size, "loss": flow.history_["loss"], "step": flow.history_["step"], "velocity": state,
        "shard_bounds": gather_objects(shard_bounds(batch_size, context), context),
        "inputs": gather_objects(seen, context),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="file for the result (written by rank 0)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)
    context = init_from_env(args.backend)
    try:
        result = run(steps=args.steps, batch_size=args.batch_size, seed=args.seed, device=args.device)
        if context.is_main:
            torch.save(result, args.out)
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
