"""Transport throughput (points/s): fixed-step Euler (32 steps) against adaptive dopri5 at equal error, same run.

    .venv/bin/python benchmarks/bench_flow_transport.py [--points 4096] [--train-steps 800] [--threads 1]

A flow is first trained on a curved problem (a class-conditional bimodal map, 2-D source -> 8-D target), so the
learned trajectories are not straight. The reference end points come from RK4 with 256 steps from the same start
noise; the error of a method is the mean Euclidean distance of its end points to the reference. dopri5 is run at
decreasing tolerances and the loosest one whose error is at most Euler-32's is timed; midpoint and RK4 are shown too.
Times are the least CPU time of three runs (points/s = points / CPU seconds, one thread).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from neurobridge.flows import ConditionalFlow


def curved_problem(n=3000, d_y=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    centres = rng.normal(size=(4, 2)) * 3
    means = rng.normal(size=(4, d_y)) * 3
    x = centres[labels] + 0.4 * rng.normal(size=(n, 2))
    sign = rng.choice([-1.0, 1.0], size=(n, 1))
    y = means[labels] + sign * np.eye(d_y)[0] * 1.5 + 0.2 * rng.normal(size=(n, d_y))
    y[:, 1] += np.sin(2 * x[:, 0])
    return x.astype(np.float32), y.astype(np.float32)


def timed(flow, x, repeats=3, **kw):
    """Least CPU time over ``repeats`` (steadier than wall-clock time on a shared machine with one thread)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        out = flow.transport(x, seed=1, **kw)
        best = min(best, time.process_time() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4096)
    parser.add_argument("--train-steps", type=int, default=800)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = curved_problem()
    flow = ConditionalFlow("small", network_kwargs={"width": 128, "depth": 3}, steps=args.train_steps, device="cpu", progress=False)
    flow.fit(x, y)
    x_test = np.repeat(x[: args.points // 8], 8, axis=0)[: args.points]
    reference = flow.transport(x_test, seed=1, method="rk4", steps=256).mean

    def error(result):
        return float(np.linalg.norm(result.mean - reference, axis=1).mean())

    rows = []
    for method, steps in [("euler", 32), ("midpoint", 16), ("rk4", 8)]:
        seconds, out = timed(flow, x_test, method=method, steps=steps)
        rows.append((f"{method}-{steps}", error(out), out.nfe, seconds))
    euler_err, euler_time = rows[0][1], rows[0][3]
    dopri = None
    for tol in [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5]:
        seconds, out = timed(flow, x_test, method="dopri5", rtol=tol, atol=tol, batch_size=args.points)
        rows.append((f"dopri5 tol={tol:g}", error(out), out.nfe, seconds))
        if error(out) <= euler_err:
            dopri = rows[-1]
            break
    print(f"flow: {flow.n_parameters_ / 1e6:.2f} M params, d_x=2, d_y=8, {args.points} points, threads={args.threads}, torch {torch.__version__}")
    print(f"  {'method':22s} {'mean error':>11s} {'nfe':>5s} {'points/s':>10s}")
    for name, err, nfe, seconds in rows:
        print(f"  {name:22s} {err:11.2e} {nfe:5d} {args.points / seconds:10.0f}")
    if dopri is None:
        print("dopri5 did not reach Euler-32's error within the tolerances tried")
    else:
        print(f"ratio points/s Euler-32 / dopri5 at equal error ({dopri[0]}) = {dopri[3] / euler_time:.2f}")


if __name__ == "__main__":
    main()
