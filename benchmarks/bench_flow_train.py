"""Training throughput (pairs/s) of neurobridge's flow Trainer against a plain PyTorch loop, same run, same network.

    .venv/bin/python benchmarks/bench_flow_train.py [--network small] [--batch-size 256] [--steps 150] [--threads 1]

Both loops train the same network (same initial weights) with the same batch, loss, gradient clipping and
warm-up/cosine schedule. The "plain" reference is what one writes by hand: torch.randint indices, default Adam,
no progress bar, no per-step .item(). A second reference uses the trainer's fused Adam, isolating the loop's own
overhead. Rounds alternate (reference, trainer, ...) so that load from other processes hits both alike; the medians
are compared, both in wall-clock time and in this process's CPU time (with one thread the CPU time is what the work
cost, whatever else the machine runs; on a shared machine it is the steadier figure). The ratio trainer / plain
must be >= 1.0.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from neurobridge.flows import FixedPairs, FlowMatcher, TrainConfig, Trainer, WarmupCosine, build_velocity


def _clock():
    return np.array([time.perf_counter(), time.process_time()])


def reference_loop(net, x, y, *, steps, batch_size, lr, fused, seed=0):
    """A hand-written flow-matching loop with the trainer's maths; returns seconds for ``steps`` steps."""
    opt = torch.optim.Adam(net.parameters(), lr=lr, fused=fused or None)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(steps, steps // 20))
    g = torch.Generator().manual_seed(seed)
    sigma = 0.5**0.5
    start = _clock()
    for _ in range(steps):
        i = torch.randint(0, len(x), (batch_size,), generator=g)
        xb, yb = x[i], y[i]
        t = torch.rand(batch_size, generator=g)
        z0 = torch.randn(batch_size, y.shape[1], generator=g) * sigma
        tt = t[:, None]
        loss = torch.nn.functional.mse_loss(net(t, (1 - tt) * z0 + tt * yb, xb), yb - z0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
    return _clock() - start


def trainer_run(net, x, y, *, steps, warm, batch_size, lr, progress):
    n = len(x)
    config = TrainConfig(steps=warm + steps, batch_size=batch_size, lr=lr, warmup=0.05, progress=progress, log_every=50)
    trainer = Trainer(net, x, y, FixedPairs(np.arange(n), np.arange(n)), matcher=FlowMatcher(), config=config, device="cpu")
    trainer.train(stop_at=warm)
    start = _clock()
    trainer.train()
    return _clock() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="small")
    parser.add_argument("--d", type=int, default=32, help="d_x = d_y")
    parser.add_argument("--n", type=int, default=10000, help="pool size")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true", help="disable the trainer's tqdm bar (on by default)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(args.n, args.d, generator=g), torch.randn(args.n, args.d, generator=g)
    warm = 10
    lr = 1e-3
    def fresh():
        return build_velocity(args.network, args.d, args.d, seed=0)
    n_params = sum(p.numel() for p in fresh().parameters())
    reference_loop(fresh(), x, y, steps=warm, batch_size=args.batch_size, lr=lr, fused=False)
    times = {"plain": [], "plain+fused": [], "trainer": []}
    for _ in range(args.rounds):
        times["plain"].append(reference_loop(fresh(), x, y, steps=args.steps, batch_size=args.batch_size, lr=lr, fused=False))
        times["trainer"].append(trainer_run(fresh(), x, y, steps=args.steps, warm=warm, batch_size=args.batch_size, lr=lr, progress=not args.no_progress))
        times["plain+fused"].append(reference_loop(fresh(), x, y, steps=args.steps, batch_size=args.batch_size, lr=lr, fused=True))
    print(f"network={args.network} ({n_params / 1e6:.2f} M params), d_x=d_y={args.d}, batch={args.batch_size}, "
          f"steps/round={args.steps}, rounds={args.rounds}, threads={args.threads}, torch {torch.__version__}")
    pairs = args.steps * args.batch_size
    for clock, column in (("wall-clock", 0), ("CPU-time", 1)):
        rate = {k: pairs / statistics.median(t[column] for t in v) for k, v in times.items()}
        print(f"{clock} throughput (median of rounds):")
        for k, v in rate.items():
            spread = [pairs / t[column] for t in times[k]]
            print(f"  {k:12s} {v:10.0f} pairs/s   (rounds: {min(spread):.0f} .. {max(spread):.0f})")
        print(f"  ratio trainer / plain loop        = {rate['trainer'] / rate['plain']:.3f}   (must be >= 1.0)")
        print(f"  ratio trainer / plain+fused Adam  = {rate['trainer'] / rate['plain+fused']:.3f}   (loop overhead alone)")

if __name__ == "__main__":
    main()
