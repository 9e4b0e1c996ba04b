"""Benchmark (b): log-domain Sinkhorn at epsilon = 1e-3 on a mean-normalised 5,000 x 5,000 cost, to marginal error 1e-4.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_sinkhorn.py [--n 5000] [--pot-iters 60]

The cost is the bridge cost (cosine, exact min-plus) between two synthetic views of a 10-class latent (source: a
linear 32-d view; target: a tanh 24-d view), 250 paired bridges, divided by its mean. Marginal error is the L1 norm
max(|P 1 - a|_1, |P^T 1 - b|_1) for ours; POT's stopping rule uses the L2 norm of the column error, which is never
larger, so POT is stopped no later than it would be under ours.

Peers, measured in the same run:
- POT ``ot.sinkhorn(method="sinkhorn_log")``: its per-iteration time is measured on --pot-iters iterations; the
  number of iterations it needs is that of the plain Sinkhorn iteration from zero potentials, which we count with our
  solver in that configuration (no epsilon scaling, no over-relaxation: the same sequence of plans; counted with
  POT's L2 rule, checked every 10 iterations as POT does). Wall time = count x per-iteration time (extrapolated; said
  so in the output). If the count exceeds --plain-max, the extrapolation is a lower bound.
- POT ``ot.sinkhorn(method="sinkhorn_epsilon_scaling")``: it always runs at least numItermin + 1 = 101 outer
  iterations (each a stabilised Sinkhorn of up to 100 inner iterations); we time its first outer iteration in a
  forked child stopped after --pot-es-timeout seconds, and report lower bounds from it.
Same plan: the reference is our float64 solution to tol --ref-tol (1e-6), confirmed by --ref-iters further POT ``sinkhorn_log``
iterations warm-started from its potentials (POT's fixed point does not depend on the start; a full cold POT run was
out of reach here); we report max |P_ours - P_ref| and the L1 distance for our default runs (tol 1e-4).
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402

from neurobridge.couplings import bridge_cost, sinkhorn  # noqa: E402


def make_cost(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 16))
    z += 3 * np.eye(16)[rng.integers(0, 10, n)]
    x = z @ rng.normal(size=(16, 32))
    y = np.tanh(z @ rng.normal(size=(16, 24)) / 4)
    ex = rng.choice(n, 250, replace=False)
    C = bridge_cost(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), (x[ex], y[ex])).cost
    return C / C.mean()


def plain_iterations(C: torch.Tensor, eps: float, tol: float, max_iter: int) -> tuple[int, bool]:
    """Iterations plain Sinkhorn from zero potentials needs until POT's rule ||P^T 1 - b||_2 < tol, checked every
    10 iterations as POT does (our solver in plain mode records that L2 error at every iteration)."""
    res = sinkhorn(C, epsilon=eps, tol=tol, max_iter=max_iter, epsilon_scaling=False, overrelaxation=1.0, on_fail="warn")
    l2 = np.asarray(res.log["col_error_l2_history"])
    hits = np.flatnonzero(l2 < tol)
    checks = hits[(hits + 1) % 10 == 0]
    if checks.size:
        return int(checks[0]) + 1, True
    return res.n_iter, False


def _es_child(a, b, M, eps, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_epsilon_scaling", numItermax=1, stopThr=tol)


def pot_es_first_outer(a, b, M, eps, tol, timeout):
    """Wall time of POT's first epsilon-scaling outer iteration, run in a forked child; None if over ``timeout`` s."""
    import multiprocessing as mp

    proc = mp.get_context("fork").Process(target=_es_child, args=(a, b, M, eps, tol))
    t = time.perf_counter()
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--epsilon", type=float, default=1e-3)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--pot-iters", type=int, default=20)
    p.add_argument("--ref-iters", type=int, default=10)
    p.add_argument("--ref-tol", type=float, default=1e-6)
    p.add_argument("--only-plan", action="store_true", help="skip the POT timings; run ours and the plan check")
    p.add_argument("--plain-max", type=int, default=3000)
    p.add_argument("--pot-es-timeout", type=float, default=240.0)
    args = p.parse_args()
    n, eps, tol = args.n, args.epsilon, args.tol
    print(f"load average at start: {os.getloadavg()}; torch threads {torch.get_num_threads()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    C = make_cost(n)
    C64 = C.double()
    M = C64.numpy()
    a = b = np.full(n, 1.0 / n)
    print(f"cost {n} x {n}, mean 1, range [{float(C.min()):.3f}, {float(C.max()):.3f}], epsilon {eps:g}, tol {tol:g}")

    results = {}
    for label, cost in (("float32 kernel", C), ("float64 kernel", C64)):
        t = time.perf_counter()
        res = sinkhorn(cost, epsilon=eps, tol=tol)
        results[label] = (time.perf_counter() - t, res)
        print(f"ours ({label}): {results[label][0]:.2f} s, {res.n_iter} iterations over {len(res.log['stages'])} epsilon stages, "
              f"{res.log['kernel_builds']} kernel builds, marginal error {max(res.marginal_error):.2e}, converged {res.converged}")
    t_ours, ours = results["float32 kernel"]

    if args.only_plan:
        return check_plan(args, results, C64, M, a, b, eps, tol)
    # POT sinkhorn_log: per-iteration time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=args.pot_iters, stopThr=0.0)
        per_it = (time.perf_counter() - t) / args.pot_iters
    t = time.perf_counter()
    n_plain, plain_done = plain_iterations(C64, eps, tol, args.plain_max)
    t_plain_ours = time.perf_counter() - t
    t_pot_log = n_plain * per_it
    bound = "" if plain_done else " (LOWER BOUND: plain Sinkhorn had not converged at the cap)"
    print(f"POT sinkhorn_log: {per_it * 1e3:.0f} ms/iteration measured over {args.pot_iters} iterations; plain Sinkhorn needs "
          f"{'>' if not plain_done else ''}{n_plain} iterations (counted with our solver in plain mode, {t_plain_ours:.0f} s) "
          f"-> extrapolated {t_pot_log:.0f} s{bound}; ratio {t_pot_log / t_ours:.1f}x")

    # POT epsilon scaling: at least numItermin + 1 = 101 outer iterations; time the first one in a child process
    t_es = pot_es_first_outer(a, b, M, eps, tol, args.pot_es_timeout)
    if t_es is None:
        print(f"POT sinkhorn_epsilon_scaling: its first outer iteration (of at least 101 it always runs, numItermin=100) had not "
              f"finished after {args.pot_es_timeout:.0f} s (stopped) -> POT needs > {args.pot_es_timeout:.0f} s (a strict lower bound); "
              f"ratio > {args.pot_es_timeout / t_ours:.0f}x")
    else:
        print(f"POT sinkhorn_epsilon_scaling: {t_es:.1f} s for its first outer iteration (of at least 101 it always runs, "
              f"numItermin=100) -> LOWER BOUND {101 * t_es:.0f} s if later outer iterations (smaller epsilon) cost no less than "
              f"the first; strict lower bound {t_es:.1f} s; ratios >= {101 * t_es / t_ours:.1f}x and >= {t_es / t_ours:.1f}x")

    check_plan(args, results, C64, M, a, b, eps, tol)


def check_plan(args, results, C64, M, a, b, eps, tol):
    # same plan: our float64 solution to a tight tolerance, checked by POT sinkhorn_log warm-started from it
    tight = sinkhorn(C64, epsilon=eps, tol=args.ref_tol, max_iter=50_000, on_fail="warn")
    f, g = tight.f.numpy(), tight.g.numpy()
    warm = (f / eps + np.log(a), g / eps + np.log(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        P_ref = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", warmstart=warm, stopThr=0.0, numItermax=args.ref_iters)
        t_ref = time.perf_counter() - t
    err_ref = max(np.abs(P_ref.sum(1) - a).sum(), np.abs(P_ref.sum(0) - b).sum())
    P_tight = tight.plan_numpy()
    print(f"reference plan: ours in float64 to tol {args.ref_tol:g} ({tight.n_iter} iterations, {tight.log['seconds']:.0f} s, "
          f"marginal error {max(tight.marginal_error):.1e}), then {args.ref_iters} further POT sinkhorn_log "
          f"iterations from its potentials ({t_ref:.0f} s): L1 marginal error {err_ref:.2e}, max |P_tight - P_pot| "
          f"{np.abs(P_tight - P_ref).max():.2e} (POT keeps the fixed point)")
    for label, (_, res) in results.items():
        P = res.plan_numpy()
        print(f"plan difference, ours ({label}, tol {tol:g}) vs reference: max |P - P_ref| = {np.abs(P - P_ref).max():.2e} "
              f"(largest entry {P_ref.max():.2e}, i.e. {np.abs(P - P_ref).max() / P_ref.max():.1e} relative); "
              f"L1 = {np.abs(P - P_ref).sum():.2e}; <C, P> {float((P * M).sum()):.6f} vs {float((P_ref * M).sum()):.6f}")

if __name__ == "__main__":
    main()
