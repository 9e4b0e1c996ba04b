"""Benchmark: neurobridge's neural predictivity against brainscore_vision's own ``pls`` metric on the same data.

A MajajHong2015-sized synthetic problem (Majaj et al. 2015 public set: 3,200 images of 64 objects, 256 sites; a
4,096-unit model layer): features and responses share a 40-d latent signal, seeded. Both sides run the PLS-25
metric with 10 stratified splits (Schrimpf et al. 2018) on identical NetCDF inputs, each in its own process:
neurobridge here (``--side ours``), Brain-Score in its environment (``scripts/brainscore_reference.py``). Wall time is
measured inside each process around the metric call only (data loading excluded); peak memory is that process's
maximum resident set size. Both processes get the same BLAS thread count (``--threads``, default 1). The per-split, per-neuroid correlations of the two are compared.

    python benchmarks/bench_predictivity.py                # full size (Brain-Score's side takes ~15-20 min)
    python benchmarks/bench_predictivity.py --quick        # 640 stimuli, 1,024 features: a smoke run
    python benchmarks/bench_predictivity.py --json out.json

Brain-Score's environment: ``NEUROBRIDGE_BS_VENV`` (default ``<repo>/.venv-bs``, built by
``scripts/make_brainscore_env.sh``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_problem(n_objects: int, per_object: int, n_features: int, n_neuroids: int, seed: int = 0):
    """Model features and repetition-averaged responses driven by one shared 40-d latent."""
    from neurobridge.assemblies import make_assembly

    rng = np.random.default_rng(seed)
    n = n_objects * per_object
    ids = np.array([f"stim{i:05d}" for i in range(n)])
    objects = np.repeat([f"object{k:02d}" for k in range(n_objects)], per_object)
    latent = rng.standard_normal((n, 40))
    features = latent @ rng.standard_normal((40, n_features)) / np.sqrt(40) + rng.standard_normal((n, n_features))
    responses = latent @ rng.standard_normal((40, n_neuroids)) / np.sqrt(40) + 1.5 * rng.standard_normal((n, n_neuroids))
    order = rng.permutation(n)
    model = make_assembly(features, stimulus_id=ids, presentation={"object_name": objects}, name="model")
    neural = make_assembly(responses[order], stimulus_id=ids[order], presentation={"object_name": objects[order]},
                           neuroid={"region": np.full(n_neuroids, "IT")}, name="neural")
    return model, neural


def run_ours(folder: Path, out: Path) -> None:
    from neurobridge.assemblies import read_netcdf
    from neurobridge.evaluate import neural_predictivity

    model, neural = read_netcdf(folder / "model.nc"), read_netcdf(folder / "neural.nc")
    start = time.perf_counter()
    result = neural_predictivity(model, neural, ceiling=None, regression="pls", stratify_by="object_name")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    np.savez(out, raw=result.raw, error=result.error, values=result.values.values, metric_seconds=seconds, peak_rss_mb=peak)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="640 stimuli x 1,024 features instead of 3,200 x 4,096")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for both sides (default 1: equal footing, no contention)")
    parser.add_argument("--side", choices=("ours",), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side == "ours":
        run_ours(args.folder, args.out)
        return 0

    from neurobridge.assemblies import align, write_netcdf

    sizes = dict(n_objects=64, per_object=10 if args.quick else 50, n_features=1024 if args.quick else 4096, n_neuroids=256)
    bs_python = Path(os.environ.get("NEUROBRIDGE_BS_VENV", ROOT / ".venv-bs")) / "bin" / "python"
    if not bs_python.exists():
        sys.exit(f"no Brain-Score environment at {bs_python.parent.parent}; run scripts/make_brainscore_env.sh")
    with tempfile.TemporaryDirectory(prefix="bench_predictivity_") as tmp:
        folder = Path(tmp)
        model, neural = make_problem(**sizes)
        _, model_aligned = align(neural, model)
        write_netcdf(model_aligned, folder / "model.nc")
        write_netcdf(neural, folder / "neural.nc")
        del model, neural, model_aligned
        threads = str(args.threads)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        subprocess.run([sys.executable, __file__, "--side", "ours", "--folder", str(folder), "--out", str(folder / "ours.npz")],
                       check=True, env=env)
        env.update(BS_INSTALL_DEPENDENCIES="no", AWS_EC2_METADATA_DISABLED="true")
        subprocess.run([str(bs_python), str(ROOT / "scripts" / "brainscore_reference.py"), "--input", str(folder),
                        "--output", str(folder / "bs.npz")], check=True, env=env, stdout=subprocess.DEVNULL)
        ours, bs = dict(np.load(folder / "ours.npz")), dict(np.load(folder / "bs.npz"))
    figures = {
        "problem": {**sizes, "n_stimuli": sizes["n_objects"] * sizes["per_object"], "n_splits": 10, "n_components": 25},
        "blas_threads": args.threads,
        "neurobridge_seconds": float(ours["metric_seconds"]),
        "brainscore_seconds": float(bs["metric_seconds"]),
        "speedup": float(bs["metric_seconds"] / ours["metric_seconds"]),
        "neurobridge_peak_rss_mb": float(ours["peak_rss_mb"]),
        "brainscore_peak_rss_mb": float(bs["peak_rss_mb"]),
        "raw_neurobridge": float(ours["raw"]),
        "raw_brainscore": float(bs["raw"]),
        "max_abs_diff_raw": float(abs(ours["raw"] - bs["raw"])),
        "max_abs_diff_values": float(np.nanmax(np.abs(ours["values"] - bs["values"]))),
        "brainscore_versions": [str(v) for v in bs["versions"]],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
