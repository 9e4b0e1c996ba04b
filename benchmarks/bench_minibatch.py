"""Benchmark: the minibatch bridge coupling per training step, new solvers against today's, on the digits spaces.

Run:  .venv/bin/python benchmarks/bench_minibatch.py [--steps 60] [--fractions 0.1,1.0] [--batch 256]

The spaces are those of ``neurobridge run digits`` (image-VAE latents of the alignment pool -> label-VAE latents of
the target pool, the experiment's split and cached reference models), bridges ``Bridges.from_labels`` at each
fraction (seed 0). Each variant draws ``--steps`` batches of ``--batch`` pairs with the same generator seed and
reports the mean seconds per step and the class agreement of the drawn pairs (the fraction of pairs whose source
and target share a label: the plan quality that matters to the flow). "today" is the sampler before this change:
uncompressed ``B x K x B`` min-plus and the log-domain Sinkhorn at epsilon 1e-2, tol 1e-4 (the Aligner's
defaults); ratios are against it, measured in the same run. The backward direction (labels -> images, as the
experiment's generation flow) is measured the same way.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

VARIANTS = {
    "today: sinkhorn eps 1e-2, uncompressed": dict(solver="sinkhorn", compress=False, epsilon=1e-2, solver_kwargs={"tol": 1e-4}),
    "sinkhorn eps 1e-2, compressed cost": dict(solver="sinkhorn", compress=True, epsilon=1e-2, solver_kwargs={"tol": 1e-4}),
    "emd (network simplex), compressed cost [default]": dict(solver="emd", compress=True),
    "emd, uncompressed": dict(solver="emd", compress=False),
    "emd, class-level cost": dict(solver="emd", mode="class"),
}


def spaces():
    from neurobridge.experiments.digits import load_data
    from neurobridge.models import get_or_train

    data = load_data(0)
    image_vae = get_or_train("image_vae", data.unimodal_images, None, 0, device="cpu")
    label_vae = get_or_train("label_vae", data.unimodal_labels, None, 0, device="cpu")
    rng = np.random.default_rng(0)
    target_labels = rng.choice(data.unimodal_labels, size=len(data.pool_labels), replace=False)
    x = np.asarray(image_vae.encode(data.pool_images), dtype=np.float32)
    y = np.asarray(label_vae.encode(target_labels), dtype=np.float32)
    return x, np.asarray(data.pool_labels), y, np.asarray(target_labels)


def run(x, y, lx, ly, bridges, kwargs, steps, batch):
    from neurobridge.couplings import MinibatchBridgeSampler

    t = time.perf_counter()
    sampler = MinibatchBridgeSampler(x, y, bridges, **kwargs)
    setup = time.perf_counter() - t
    rng = np.random.default_rng(0)
    agree, t = [], time.perf_counter()
    for _ in range(steps):
        i, j = sampler.sample(batch, rng)
        agree.append(np.mean(lx[i] == ly[j]))
    return setup, (time.perf_counter() - t) / steps, float(np.mean(agree))


def unit_times(x, lx, y, ly, fraction=0.1):
    """Wall time of one digits flow unit's two fits (images -> labels and back, the experiment's FLOW settings) for
    the minibatch coupling and, as the peer, the global bridge-ot coupling, same run."""
    from neurobridge.align import Aligner
    from neurobridge.bridges import Bridges
    from neurobridge.experiments.digits import FLOW

    bridges = Bridges.from_labels(lx, ly, fraction, seed=0)
    back = Bridges.from_labels(ly, lx, fraction, seed=0)
    out = {}
    for coupling in ("minibatch-bridge-ot", "bridge-ot"):
        t = time.perf_counter()
        Aligner(coupling, seed=0, device="cpu", progress=False, **FLOW).fit(x, y, bridges)
        Aligner(coupling, seed=0, device="cpu", progress=False, **FLOW).fit(y, x, back)
        out[coupling] = time.perf_counter() - t
    print(f"\none digits unit's two flow fits at fraction {fraction}: minibatch-bridge-ot {out['minibatch-bridge-ot']:.1f} s, "
          f"bridge-ot {out['bridge-ot']:.1f} s (ratio {out['minibatch-bridge-ot'] / out['bridge-ot']:.2f})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--fractions", default="0.1,1.0")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--unit", action="store_true", help="also time one digits unit's flow fits against bridge-ot")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import ot  # noqa: F401  (imported before timing: the first emd call would otherwise pay for it)

    from neurobridge.bridges import Bridges

    print(f"load average at start: {os.getloadavg()}; torch threads {torch.get_num_threads()}; {args.steps} steps of {args.batch} pairs")
    x, lx, y, ly = spaces()
    for direction in ("images -> labels", "labels -> images"):
        src, tgt, ls, lt = (x, y, lx, ly) if direction.startswith("images") else (y, x, ly, lx)
        for f in (float(v) for v in args.fractions.split(",")):
            bridges = Bridges.from_labels(ls, lt, f, seed=0)
            print(f"\n{direction}, fraction {f} ({len(bridges)} bridges), pool {len(src)} -> {len(tgt)}")
            base = None
            for name, kw in VARIANTS.items():
                setup, per_step, agree = run(src, tgt, ls, lt, bridges, kw, args.steps, args.batch)
                base = base or per_step
                print(f"  {name:50s} setup {setup * 1e3:7.1f} ms, {per_step * 1e3:8.2f} ms/step "
                      f"(x{base / per_step:6.1f} vs today), class agreement {agree:.4f}")
            print(f"  (one digits flow trains 600 steps; x2 directions: today's {2 * 600 * base:.0f} s of coupling per unit)")
    if args.unit:
        unit_times(x, lx, y, ly)


if __name__ == "__main__":
    main()
