"""CPU time of the flows of one ``neurobridge run digits`` unit, old commit against this checkout, in the same run.

    python benchmarks/bench_flow_step.py [--old REF] [--rounds 3] [--steps 600]

A digits unit of a flow method fits two flows with the digits settings (:data:`neurobridge.experiments.digits.FLOW`:
concatenation MLP, width 128, depth 3, 600 steps of 256 pairs, lr 5e-3) through :class:`neurobridge.Aligner`:
recognition (the 32-d image latent -> the 4-d label latent) and generation (the reverse), then transports the test
set: 540 points x 16 draws for the recognition read-out (``READOUT_SAMPLES``) and 540 x 1 for generation. This script
does the same on pools of the digits shapes (1,257 pool points, 10 % label-matched bridges, the ``supervised``
coupling so that no coupling time enters) in a fresh process per measurement, alternating the code of ``--old``
(default: the commit this work started from, cloned into a temporary folder) and of this checkout, ``--rounds``
times each. It prints the median CPU seconds (``time.process_time``, one torch thread) of the flow fits and of the
transport for both, the ratio new / old, and whether both produced the same numbers (a SHA-256 of the trained
weights, the loss history and the transported samples of both directions). The ratio, not the seconds, is the
result: the machine is shared, so ``uptime``'s load is printed before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD = "99a03c7"

WORKER = r"""
import hashlib, json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from neurobridge import Aligner
from neurobridge.bridges import Bridges
from neurobridge.experiments.digits import FLOW

steps = int(sys.argv[1])
rng = np.random.default_rng(0)
n, n_test, d_image, d_label = 1257, 540, 32, 4
labels = rng.integers(0, 10, size=n)
target_labels = rng.permutation(labels)
centres = rng.normal(size=(10, d_image)), rng.normal(size=(10, d_label))
image = (centres[0][labels] + 0.5 * rng.normal(size=(n, d_image))).astype(np.float32)
label = (centres[1][target_labels] + 0.3 * rng.normal(size=(n, d_label))).astype(np.float32)
test_image = (centres[0][labels[:n_test]] + 0.5 * rng.normal(size=(n_test, d_image))).astype(np.float32)
test_label = (centres[1][labels[:n_test]] + 0.3 * rng.normal(size=(n_test, d_label))).astype(np.float32)
bridges = Bridges.from_labels(labels, target_labels, 0.1, seed=0)
reverse = Bridges.from_indices(bridges.target_index, bridges.source_index, bridges.labels,
                               n_source=bridges.n_target, n_target=bridges.n_source, match=bridges.match)
settings = {**FLOW, "steps": steps}
digest, out = hashlib.sha256(), {"fit": 0.0, "transport": 0.0}
Aligner("supervised", seed=0, device="cpu", progress=False, **{**settings, "steps": 3}).fit(image, label, bridges)
for source, target, tb, test, draws in ((image, label, bridges, test_image, 16), (label, image, reverse, test_label, 1)):
    start = time.process_time()
    aligner = Aligner("supervised", seed=0, device="cpu", progress=False, **settings).fit(source, target, tb)
    out["fit"] += time.process_time() - start
    start = time.process_time()
    samples = aligner.sample(test, n_samples=draws)
    out["transport"] += time.process_time() - start
    for key, value in sorted(aligner.flow_.module_.state_dict().items()):
        digest.update(key.encode()); digest.update(value.cpu().numpy().tobytes())
    digest.update(json.dumps(aligner.flow_.history_["loss"]).encode())
    digest.update(np.ascontiguousarray(samples).tobytes())
out["sha256"] = digest.hexdigest()
print(json.dumps(out))
"""


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _measure(code: Path, steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", WORKER, str(steps)], cwd=code, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the measurement with the code in {code} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=OLD, help=f"git ref of the old code (default {OLD}, before this work)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=600, help="flow steps per fit (the digits run: 600)")
    args = parser.parse_args()
    print(f"load before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench_flow_step_") as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(old)], check=True)
        subprocess.run(["git", "-C", str(old), "checkout", "-q", args.old], check=True)
        runs: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            runs["old"].append(_measure(old, args.steps))
            runs["new"].append(_measure(ROOT, args.steps))
    print(f"load after:  {_load()}")
    print(f"one digits flow unit (2 fits x {args.steps} steps, transport 540 x 16 + 540 x 1), CPU seconds, "
          f"median of {args.rounds} rounds; old = {args.old}, new = {ROOT}")
    print(f"{'part':10s} {'old':>8s} {'new':>8s} {'new/old':>8s}   rounds old | new")
    for part in ("fit", "transport"):
        old_s = statistics.median(r[part] for r in runs["old"])
        new_s = statistics.median(r[part] for r in runs["new"])
        spread = " ".join(f"{r[part]:.2f}" for r in runs["old"]) + " | " + " ".join(f"{r[part]:.2f}" for r in runs["new"])
        print(f"{part:10s} {old_s:8.2f} {new_s:8.2f} {new_s / old_s:8.3f}   {spread}")
    hashes = {r["sha256"] for rs in runs.values() for r in rs}
    print("same weights, losses and transported samples (old and new, every round): " + ("yes" if len(hashes) == 1 else f"NO ({len(hashes)} distinct)"))


if __name__ == "__main__":
    main()
