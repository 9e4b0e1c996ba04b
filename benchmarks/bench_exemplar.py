"""Benchmark (c): the exemplar coupling (Setting 2) on n = m = 100,000 points with K = 5,000 bridges, bounded memory.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_exemplar.py

Data: a 10-class latent z (d = 32) seen through two views, source x = z W_x (64-d) and target y = tanh(z W_y) (48-d);
5,000 label-matched bridges (500 per class). We build the ExemplarSampler (k = 10 nearest exemplars per point,
streamed in batches of 4,096) and draw one epoch of 100,000 pairs. Reported: wall time of each step, peak resident
set size (psutil, sampled every 5 ms; absolute and above the level before the step), the bytes the sampler holds,
and the label agreement of the pairs. The peer is Setting 1 on the same pools, whose n x m plan alone would take
n * m * 4 bytes (computed, not run).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _memory import PeakRSS  # noqa: E402

from neurobridge.bridges import Bridges  # noqa: E402
from neurobridge.couplings import ExemplarSampler, match_accuracy, pairs_for_epoch  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--K", type=int, default=5_000)
    p.add_argument("--k", type=int, default=10)
    args = p.parse_args()
    n = m = args.n
    print(f"load average at start: {os.getloadavg()}; torch threads {torch.get_num_threads()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    rng = np.random.default_rng(0)
    labels_x = rng.integers(0, 10, n)
    labels_y = rng.integers(0, 10, m)
    centres = rng.normal(size=(10, 32)) * 1.5
    zx = centres[labels_x] + rng.normal(size=(n, 32))
    zy = centres[labels_y] + rng.normal(size=(m, 32))
    x = torch.tensor(zx @ rng.normal(size=(32, 64)), dtype=torch.float32)
    y = torch.tensor(np.tanh(zy @ rng.normal(size=(32, 48)) / 6), dtype=torch.float32)
    bridges = Bridges.from_labels(labels_x, labels_y, count=args.K, seed=0)
    print(f"pools {n} x {m}, K = {len(bridges)} label-matched bridges, k = {args.k}")

    with PeakRSS() as mem_build:
        t = time.perf_counter()
        sampler = ExemplarSampler(x, y, bridges, k=args.k, temperature=0.1, route="bridge")
        t_build = time.perf_counter() - t
    with PeakRSS() as mem_sample:
        t = time.perf_counter()
        src, tgt = pairs_for_epoch(sampler, n, np.random.default_rng(0), batch_size=4096)
        t_sample = time.perf_counter() - t
    acc = match_accuracy(src, tgt, labels_x, labels_y)
    print(f"build: {t_build:.1f} s; peak RSS {mem_build.peak / 2**20:.0f} MiB (+{mem_build.delta / 2**20:.0f} MiB above the start)")
    print(f"one epoch of {n} pairs: {t_sample:.2f} s; peak RSS {mem_sample.peak / 2**20:.0f} MiB (+{mem_sample.delta / 2**20:.0f} MiB)")
    print(f"sampler state: {sampler.nbytes / 2**20:.1f} MiB; label agreement of the pairs {acc:.3f}")
    print(f"peer (Setting 1): the {n} x {m} float32 plan alone would need {n * m * 4 / 2**30:.1f} GiB "
          f"(x{n * m * 4 / max(mem_build.delta, 1):.0f} the measured extra peak of building the sampler); not run")


if __name__ == "__main__":
    main()
