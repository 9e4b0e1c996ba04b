"""Benchmark: a 20-layer sweep on MajajHong2015 IT and V4 (the full-size stand-in), neurobridge against brainscore-vision.

"Which layer is IT?" is answered by scoring every layer of a model on each region's benchmark and committing one.
This benchmark times that sweep and checks its numbers against brainscore_vision's own metric in the same run.

Data. The stand-in of ``scripts/make_majaj_standin.py`` in Brain-Score's public layout: 3,200 HvM images (variations
0 and 3, the real stimulus ids), 148,480 trial-level presentations, IT 168 sites and V4 88 (synthetic responses, not
recordings), loaded through the package's own loader and benchmarks ``majajhong2015.IT-pls`` / ``majajhong2015.V4-pls``
(PLS-25, 10 splits stratified by object, ceiling = split-half internal consistency, score = r^2 / ceiling).

Model. 20 synthetic layers of 1,000 features each (Brain-Score's model-tools reduces every layer to 1,000 principal
components before the regression). Layer ``l`` at depth ``t = l / 19`` reads the stand-in's latents through its own
random weights, ``tanh(a(t) e + b(t) pose + c(t) identity)`` plus independent feature noise: image-specific content
the neurons do not carry (``e``) fades with depth (``a = (1-t)^1.5``), pose peaks mid-way (``b = exp(-((t-0.4)/0.3)^2)``)
and object identity grows (``c = t^2``). V4 sites of the stand-in weight pose more and IT sites identity, so a
V4-like layer sits before an IT-like one, as in a trained network; the numbers say nothing about any real network.

Measured, each side in its own process with the same BLAS threads (``--threads``, default 2 = this machine):

- neurobridge: every layer on both regions with ``benchmark.score_layers`` (data loading, ceilings and all 40
  scorings; the target is at most 5 minutes and 4 GiB), then ``benchmark.select_layer`` (choose on half the
  stimuli, report on the other half) for the figure;
- brainscore-vision (``load_metric('pls', stratification_coord='object_name')``, ``load_ceiling('internal_consistency')``
  and ``explained_variance`` in the environment of ``scripts/make_brainscore_env.sh``) on ``--reference-layers`` of
  the 20 layers (default 2, spread over depth; ``all`` scores all 20, some 1.5 hours): the metric call is timed alone.

The speed-up is Brain-Score's metric time over ours on the same layers and regions in this run; the Brain-Score time
of the whole sweep is extrapolated from them and printed as an estimate. Every per-split, per-site correlation, raw
r, ceiling and score of the reference layers is compared with ours.

    python benchmarks/bench_layer_sweep.py                          # full size (~15 min, most of it Brain-Score)
    python benchmarks/bench_layer_sweep.py --quick                  # 640 images, 6 layers of 256: a smoke run
    python benchmarks/bench_layer_sweep.py --json out.json --figures docs/results/figures
"""
from __future__ import annotations

import argparse
import importlib.util
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
REGIONS = ("IT", "V4")


def _standin_module():
    spec = importlib.util.spec_from_file_location("make_majaj_standin", ROOT / "scripts" / "make_majaj_standin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def depth_profile(t: float) -> tuple[float, float, float]:
    """Weights of image-specific content, pose and identity at depth ``t`` in [0, 1] (module docstring)."""
    return (1 - t) ** 1.5, float(np.exp(-(((t - 0.4) / 0.3) ** 2))), t**2


def make_layers(identity: np.ndarray, pose: np.ndarray, *, n_layers: int, width: int, seed: int = 0):
    """``(features, layer_names)``: ``n_images x (n_layers * width)`` float32 activations and one name per column."""
    rng = np.random.default_rng(seed)
    n = identity.shape[0]
    parts = [rng.standard_normal((n, 32)), pose, identity]
    parts = [(p - p.mean(0)) / p.std(0) for p in parts]
    features = np.empty((n, n_layers * width), dtype=np.float32)
    names = []
    for layer in range(n_layers):
        weights = depth_profile(layer / max(n_layers - 1, 1))
        drive = sum(w * p @ rng.standard_normal((p.shape[1], width)) / np.sqrt(p.shape[1]) for w, p in zip(weights, parts))
        drive /= np.sqrt(sum(w**2 for w in weights))
        features[:, layer * width:(layer + 1) * width] = np.tanh(drive + 0.5 * rng.standard_normal((n, width)))
        names += [f"layer{layer + 1:02d}"] * width
    return features, np.array(names)


def write_problem(folder: Path, *, quick: bool, n_layers: int, width: int) -> dict:
    """Write the stand-in (its loader files and manifest) and the model's layers (``layers.nc``) into ``folder``."""
    from neurobridge.assemblies import make_assembly, write_netcdf

    module = _standin_module()
    argv = ["--out", str(folder / "standin"), "--image-size", "32"]
    if quick:
        argv += ["--images", "640", "--objects", "16", "--reps", "6,10"]
    args = module._parse(argv)
    made = module.simulate(args)
    module.make_standin(args)
    images = made["images"]
    features, names = make_layers(made["identity"], made["pose"], n_layers=n_layers, width=width)
    layers = make_assembly(features, stimulus_id=images["stimulus_id"].to_numpy(),
                           presentation={"object_name": images["object_name"].to_numpy()},
                           neuroid={"layer": names}, name="layers")
    write_netcdf(layers, folder / "layers.nc")
    return {"n_images": len(images), "n_layers": n_layers, "width": width,
            "sites": {region: int((made["neuroids"]["region"] == region).sum()) for region in REGIONS},
            "presentations": int(len(made["order"]))}


def _standin_env(folder: Path, threads: int) -> dict:
    standin = folder / "standin"
    shared = os.environ["NEUROBRIDGE_DATA_PATH"]
    t = str(threads)
    return {**os.environ, "NEUROBRIDGE_MANIFESTS": str(standin / "manifests"),
            "NEUROBRIDGE_DATA_PATH": os.pathsep.join([str(standin), shared]), "NEUROBRIDGE_HOME": str(folder / "home"),
            "NEUROBRIDGE_OFFLINE": "1", "OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t, "MKL_NUM_THREADS": t}


def run_ours(folder: Path, out: Path) -> None:
    """The sweep as a user runs it: load both benchmarks, score every layer, then commit one per region."""
    import neurobridge as nb
    from neurobridge.assemblies import read_netcdf, write_netcdf

    layers = read_netcdf(folder / "layers.nc")
    start = time.perf_counter()
    sweeps, seconds = {}, {}
    for region in REGIONS:
        benchmark = nb.benchmarks.load(f"majajhong2015.{region}-pls")
        begin = time.perf_counter()
        benchmark.ceiling  # noqa: B018 (the ceiling is computed once and timed apart from the layers)
        seconds[f"{region}/ceiling"] = time.perf_counter() - begin
        scores = {}
        for name in dict.fromkeys(layers.coords["layer"].values.astype(str)):
            begin = time.perf_counter()
            scores[name] = benchmark.score_layers(layers, layers=[name])[name]
            seconds[f"{region}/{name}"] = time.perf_counter() - begin
        sweeps[region] = (benchmark, scores)
    sweep_seconds = time.perf_counter() - start
    peak_sweep = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    result = {"sweep_seconds": sweep_seconds, "peak_rss_mb": peak_sweep, "seconds": seconds, "regions": {}}
    for region, (benchmark, scores) in sweeps.items():
        begin = time.perf_counter()
        selection = benchmark.select_layer(layers, seed=0)
        select_seconds = time.perf_counter() - begin
        neural = benchmark.neural_assembly(average=True)
        write_netcdf(neural, folder / f"neural_{region}.nc")
        result["regions"][region] = {
            "select_seconds": select_seconds,
            "selected": selection.selected,
            "selected_report_score": selection.result.score,
            "selected_report_raw": selection.result.raw,
            "split_wins": selection.split_wins,
            "layers": {name: {"raw": r.raw, "score": r.score, "ceiling": r.ceiling, "error": r.error,
                              "per_split": r.per_split.tolist(), "flags": list(r.flags)} for name, r in scores.items()},
            "selection_raw": {name: selection.selection[name].raw for name in scores},
            "report_raw": {name: selection.report[name].raw for name in scores},
        }
        values = {name: r.values.transpose("split", "neuroid") for name, r in scores.items()}
        ids = neural.coords["neuroid_id"].values
        np.savez(folder / f"values_{region}.npz",
                 **{name: v.values[:, _order(v, ids)] for name, v in values.items()})
    result["peak_rss_mb_with_selection"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out.write_text(json.dumps(result))


def _order(values, ids) -> np.ndarray:
    position = {nid: i for i, nid in enumerate(values.coords["neuroid_id"].values.tolist())}
    return np.array([position[nid] for nid in ids])


def run_reference(folder: Path, names: list[str], bs_python: Path, threads: int) -> dict:
    """brainscore_vision's metric on each reference layer and region; its ceiling once per region."""
    from neurobridge.assemblies import read_netcdf, write_netcdf

    layers = read_netcdf(folder / "layers.nc")
    env = {**_standin_env(folder, threads), "BS_INSTALL_DEPENDENCIES": "no", "AWS_EC2_METADATA_DISABLED": "true"}
    out = {}
    for region in REGIONS:
        neural = read_netcdf(folder / f"neural_{region}.nc")
        order = {sid: i for i, sid in enumerate(layers.coords["stimulus_id"].values.tolist())}
        rows = np.array([order[sid] for sid in neural.coords["stimulus_id"].values.tolist()])
        for k, name in enumerate(names):
            case = folder / f"bs_{region}_{name}"
            case.mkdir()
            model = layers.isel(presentation=rows, neuroid=layers.coords["layer"].values.astype(str) == name)
            write_netcdf(model, case / "model.nc")
            write_netcdf(neural, case / "neural.nc")
            if k == 0:
                write_netcdf(_trials(region, env), case / "trials.nc")
            subprocess.run([str(bs_python), str(ROOT / "scripts" / "brainscore_reference.py"), "--input", str(case),
                            "--output", str(case / "bs.npz")], check=True, env=env, stdout=subprocess.DEVNULL)
            out[(region, name)] = dict(np.load(case / "bs.npz"))
            print(f"  brainscore-vision {region} {name}: metric {float(out[(region, name)]['metric_seconds']):.1f} s", flush=True)
    return out


def _trials(region: str, env: dict):
    """The region's trial-level recordings as the benchmark loads them (float64, sorted by stimulus id)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        import neurobridge as nb

        return nb.benchmarks.load(f"majajhong2015.{region}-pls").neural_assembly()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def reference_layers(spec: str, names: list[str]) -> list[str]:
    """``all``, or ``k``: k layers spread evenly over depth, end layers excluded where k < len(names)."""
    if spec == "all":
        return list(names)
    k = int(spec)
    if not 1 <= k <= len(names):
        raise SystemExit(f"--reference-layers: give 'all' or a count in 1..{len(names)}; got {spec!r}")
    if k == len(names):
        return list(names)
    picks = np.linspace(0, len(names) - 1, k + 2)[1:-1].round().astype(int)
    return [names[i] for i in picks]


def compare(ours: dict, folder: Path, reference: dict) -> dict:
    """Largest differences between the two sides on the reference layers, and the time ratio there."""
    diffs = {"values": 0.0, "raw": 0.0, "ceiling": 0.0, "score": 0.0, "ceiling_values": 0.0}
    ours_seconds = bs_seconds = 0.0
    for (region, name), bs in reference.items():
        mine = ours["regions"][region]["layers"][name]
        values = np.load(folder / f"values_{region}.npz")[name]
        diffs["values"] = max(diffs["values"], float(np.nanmax(np.abs(values - bs["values"]))))
        diffs["raw"] = max(diffs["raw"], abs(mine["raw"] - float(bs["raw"])))
        if "ceiling" in bs:
            diffs["ceiling"] = max(diffs["ceiling"], abs(mine["ceiling"] - float(bs["ceiling"])))
            diffs["score"] = max(diffs["score"], abs(mine["score"] - float(bs["score"])))
        ours_seconds += ours["seconds"][f"{region}/{name}"]
        bs_seconds += float(bs["metric_seconds"])
    return {"max_abs_diff": diffs, "pairs": len(reference), "neurobridge_seconds": ours_seconds,
            "brainscore_seconds": bs_seconds, "speedup": bs_seconds / ours_seconds}


def plot(figures: dict, out: Path) -> list[Path]:
    """Per-layer score with per-split spread for IT and V4 (selected layers marked), and the time per layer."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    from neurobridge._io import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    colors = {"IT": "tab:red", "V4": "tab:blue"}
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, region in zip(axes, REGIONS):
        info = figures["regions"][region]
        names = list(info["layers"])
        x = np.arange(1, len(names) + 1)
        ceiling = np.array([info["layers"][n]["ceiling"] for n in names])
        per_split = np.array([info["layers"][n]["per_split"] for n in names])
        scores = per_split**2 / ceiling[:, None]
        mean = np.array([info["layers"][n]["score"] for n in names])
        ax.fill_between(x, scores.min(1), scores.max(1), color=colors[region], alpha=0.2, label="per-split range")
        ax.plot(x, mean, marker="o", color=colors[region], label="score on all stimuli (raw r^2 / ceiling)")
        chosen = names.index(info["selected"]) + 1
        ax.axvline(chosen, color="black", ls="--", lw=1,
                   label=f"selected on half the stimuli: {info['selected']}\n(score on the other half {info['selected_report_score']:.3f})")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylim(bottom=0)
        ax.set_xticks(x[::2])
        ax.set_xlabel("layer (depth)")
        ax.set_title(f"{region} ({figures['problem']['sites'][region]} sites)")
        ax.legend(fontsize=7, loc="lower center")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Brain-Score predictivity (chance 0)")
    fig.suptitle("Layer sweep on the MajajHong2015 stand-in: synthetic responses and synthetic layers, not a real network",
                 fontsize=9)
    fig.tight_layout()
    paths.append(atomic_write(out / "layer_sweep_scores.png", lambda tmp: fig.savefig(tmp, dpi=110, format="png")))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.4))
    pairs = list(figures["reference"]["pairs_seconds"].items())
    labels = [k for k, _ in pairs]
    ours = [v["neurobridge"] for _, v in pairs]
    bs = [v["brainscore"] for _, v in pairs]
    y = np.arange(len(labels))
    ax.barh(y + 0.2, bs, height=0.4, color="tab:gray", label="brainscore-vision")
    ax.barh(y - 0.2, ours, height=0.4, color="tab:green", label="neurobridge")
    ax.set_yticks(y, labels, fontsize=8)
    for row, (a, b) in enumerate(zip(ours, bs)):
        ax.text(a, row - 0.2, f" {a:.1f} s", va="center", fontsize=7)
        ax.text(b, row + 0.2, f" {b:.1f} s", va="center", fontsize=7)
    ax.set_xlim(0, max(bs) * 1.15)
    ax.set_xlabel("seconds per layer and region, PLS-25, 10 splits")
    ax.set_title(f"Same layers, same run: {figures['reference']['speedup']:.0f}x faster, equal to "
                 f"{max(figures['reference']['max_abs_diff'].values()):.0e}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    paths.append(atomic_write(out / "layer_sweep_speed.png", lambda tmp: fig.savefig(tmp, dpi=110, format="png")))
    plt.close(fig)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="640 images, 6 layers of 256 features: a smoke run")
    parser.add_argument("--reference-layers", default="2",
                        help="layers brainscore-vision scores too: a count spread over depth (default 2) or 'all'")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both sides (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--figures", type=Path, help="write the two PNG figures into this folder")
    parser.add_argument("--side", choices=("ours",), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side == "ours":
        run_ours(args.folder, args.out)
        return 0

    bs_python = Path(os.environ.get("NEUROBRIDGE_BS_VENV", ROOT / ".venv-bs")) / "bin" / "python"
    if not bs_python.exists():
        sys.exit(f"no Brain-Score environment at {bs_python.parent.parent}; run scripts/make_brainscore_env.sh")
    n_layers, width = (6, 256) if args.quick else (20, 1000)
    os.environ.setdefault("NEUROBRIDGE_DATA_PATH", str(ROOT.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory(prefix="bench_layer_sweep_") as tmp:
        folder = Path(tmp)
        begin = time.perf_counter()
        problem = write_problem(folder, quick=args.quick, n_layers=n_layers, width=width)
        print(f"stand-in and layers written in {time.perf_counter() - begin:.0f} s: {problem}", flush=True)
        subprocess.run([sys.executable, __file__, "--side", "ours", "--folder", str(folder), "--out", str(folder / "ours.json")],
                       check=True, env=_standin_env(folder, args.threads))
        ours = json.loads((folder / "ours.json").read_text())
        print(f"neurobridge: {2 * n_layers} layer scorings in {ours['sweep_seconds']:.1f} s, peak {ours['peak_rss_mb']:.0f} MB",
              flush=True)
        names = list(ours["regions"]["IT"]["layers"])
        chosen = reference_layers(args.reference_layers, names)
        reference = run_reference(folder, chosen, bs_python, args.threads)
        summary = compare(ours, folder, reference)
        versions = [str(v) for v in next(iter(reference.values()))["versions"]]
        bs_ceiling = {region: float(reference[(region, chosen[0])]["ceiling_seconds"]) for region in REGIONS}
    per_pair_bs = summary["brainscore_seconds"] / summary["pairs"]
    figures = {
        "problem": {**problem, "n_splits": 10, "n_components": 25, "regression": "pls", "stratify_by": "object_name"},
        "threads": args.threads,
        "neurobridge": {"sweep_seconds": ours["sweep_seconds"], "peak_rss_mb": ours["peak_rss_mb"],
                        "ceiling_seconds": {r: ours["seconds"][f"{r}/ceiling"] for r in REGIONS},
                        "select_layer_seconds": {r: ours["regions"][r]["select_seconds"] for r in REGIONS},
                        "peak_rss_mb_with_selection": ours["peak_rss_mb_with_selection"]},
        "targets": {"sweep_seconds_max": 300, "peak_rss_mb_max": 4096, "speedup_min": 10, "max_abs_diff_max": 1e-10},
        "reference": {**summary, "layers": chosen, "ceiling_seconds": bs_ceiling,
                      "pairs_seconds": {f"{r} {n}": {"neurobridge": ours["seconds"][f"{r}/{n}"],
                                                     "brainscore": float(reference[(r, n)]["metric_seconds"])}
                                        for r, n in reference},
                      "estimated_sweep_seconds": per_pair_bs * 2 * n_layers + sum(bs_ceiling.values())},
        "regions": ours["regions"],
        "brainscore_versions": versions,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg(),
    }
    met = {
        "sweep within 300 s": ours["sweep_seconds"] <= 300,
        "peak memory within 4 GiB": ours["peak_rss_mb"] <= 4096,
        "at least 10x brainscore-vision": summary["speedup"] >= 10,
        "equal to 1e-10": max(summary["max_abs_diff"].values()) <= 1e-10,
    }
    figures["met"] = met
    print(json.dumps({k: v for k, v in figures.items() if k != "regions"}, indent=1))
    for region in REGIONS:
        info = ours["regions"][region]
        print(f"{region}: selected {info['selected']} (score on held-out half {info['selected_report_score']:.3f}, "
              f"raw r {info['selected_report_raw']:.3f})")
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in met.items()))
    if args.json:
        from neurobridge._io import atomic_write

        text = json.dumps(figures, indent=1)
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(text))
    if args.figures:
        for path in plot(figures, args.figures):
            print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
