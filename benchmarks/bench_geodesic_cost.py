"""Issue 11's cost target: the geodesic bridge cost against the plain bridge cost, measured in the same run.

Run:  .venv/bin/python benchmarks/bench_geodesic_cost.py [--n 10000] [--K 1000] [--d 64] [--threads 1]

Both costs are computed on the same random pools (n source points in R^d, m = n target points in R^d, K paired
bridges), both through the same min-plus (:func:`neurobridge.couplings.min_plus`, float32). The geodesic cost adds a
symmetric k-NN graph per pool (k = 10, exact neighbours) and K Dijkstra trees per pool (scipy); the plain cost adds
the ``n x K`` and ``K x m`` cosine distances. Prints each stage's time and the ratio geodesic / plain (target <= 2).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from neurobridge.bridges import Bridges
from neurobridge.couplings import bridge_cost
from neurobridge.couplings.graph import geodesic_distances, knn_graph
from neurobridge.couplings.methods.geodesic import geodesic_bridge_cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--K", type=int, default=1_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d)).astype(np.float32)
    y = (x @ rng.standard_normal((args.d, args.d)).astype(np.float32) + 0.1 * rng.standard_normal((args.n, args.d)).astype(np.float32))
    src = np.sort(rng.choice(args.n, args.K, replace=False))
    bridges = Bridges.from_indices(src, src, n_source=args.n, n_target=args.n, match="stimulus_id")
    t0 = time.perf_counter()
    plain = bridge_cost(torch.as_tensor(x), torch.as_tensor(y), bridges, metric="cosine").cost
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geo = geodesic_bridge_cost(x, y, bridges, k=args.k, metric="cosine").cost
    t_geo = time.perf_counter() - t0
    t0 = time.perf_counter()
    G = knn_graph(x, args.k)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    geodesic_distances(G, src)
    t_dijkstra = time.perf_counter() - t0
    assert plain.shape == geo.shape and bool(torch.isfinite(geo).all())
    print(f"n = m = {args.n}, K = {args.K}, d = {args.d}, k = {args.k}, torch threads {args.threads}")
    print(f"plain bridge cost (cosine, min-plus):   {t_plain:8.2f} s")
    print(f"geodesic bridge cost (k-NN + Dijkstra):  {t_geo:8.2f} s   (one pool: graph {t_graph:.2f} s, {args.K} Dijkstra trees {t_dijkstra:.2f} s)")
    print(f"ratio geodesic / plain: {t_geo / t_plain:.2f}  (target <= 2: {'met' if t_geo <= 2 * t_plain else 'MISSED'})")


if __name__ == "__main__":
    main()
