"""GPU training throughput of the large flow network: the Trainer against a bare loop, same run (CUDA only).

    python benchmarks/bench_flow_gpu.py [--network large] [--batch-size 512] [--steps 200]

The bare loop keeps everything on the device (torch.randint indices, fused Adam, the same autocast dtype) and has no
clipping, schedule, sampler or bookkeeping. The Trainer runs as ConditionalFlow does by default (bf16 autocast where
supported, gradient clipping, warm-up/cosine schedule, numpy pair sampler, tqdm bar). The ratio trainer / bare must be
>= 0.5. Without a CUDA device the script prints a message and exits with status 0.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from neurobridge.flows import FixedPairs, TrainConfig, Trainer, build_velocity
from neurobridge.flows.trainer import _amp_dtype


def bare_loop(net, x, y, *, steps, batch_size, dtype):
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, fused=True)
    device = x.device
    g = torch.Generator(device=device).manual_seed(0)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        i = torch.randint(0, len(x), (batch_size,), generator=g, device=device)
        xb, yb = x[i], y[i]
        t = torch.rand(batch_size, generator=g, device=device)
        z0 = torch.randn(batch_size, y.shape[1], generator=g, device=device) * 0.5**0.5
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            tt = t[:, None]
            loss = torch.nn.functional.mse_loss(net(t, (1 - tt) * z0 + tt * yb, xb).float(), yb - z0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def trainer_run(net, x, y, *, steps, warm, batch_size, precision):
    n = len(x)
    config = TrainConfig(steps=warm + steps, batch_size=batch_size, lr=1e-4, precision=precision, progress=True)
    trainer = Trainer(net, x, y, FixedPairs(np.arange(n), np.arange(n)), config=config, device=x.device)
    trainer.train(stop_at=warm)
    torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="large")
    parser.add_argument("--d", type=int, default=64, help="d_x = d_y")
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_flow_gpu: no CUDA device here; skipped (run it on a GPU machine)")
        return
    device = torch.device("cuda")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.d, generator=g).to(device)
    y = torch.randn(args.n, args.d, generator=g).to(device)
    dtype = _amp_dtype(args.precision, device)
    def fresh():
        return build_velocity(args.network, args.d, args.d, seed=0).to(device)
    n_params = sum(p.numel() for p in fresh().parameters())
    bare_loop(fresh(), x, y, steps=10, batch_size=args.batch_size, dtype=dtype)
    bare, mine = [], []
    for _ in range(args.rounds):
        bare.append(bare_loop(fresh(), x, y, steps=args.steps, batch_size=args.batch_size, dtype=dtype))
        mine.append(trainer_run(fresh(), x, y, steps=args.steps, warm=10, batch_size=args.batch_size, precision=args.precision))
    rb = args.steps * args.batch_size / min(bare)
    rm = args.steps * args.batch_size / min(mine)
    print(f"{torch.cuda.get_device_name()}: network={args.network} ({n_params / 1e6:.1f} M params), d={args.d}, "
          f"batch={args.batch_size}, autocast={dtype}, steps={args.steps}, torch {torch.__version__}")
    print(f"  bare loop {rb:10.0f} pairs/s")
    print(f"  trainer   {rm:10.0f} pairs/s")
    print(f"ratio trainer / bare loop = {rm / rb:.3f}   (must be >= 0.5)")


if __name__ == "__main__":
    main()
