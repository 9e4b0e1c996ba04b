"""How much of the gap between ridge on the bridges and an all-pairs oracle each method closes, on noisy neural data.

The data (:mod:`neurobridge.datasets.population`): 3,000 MNIST test images; a simulated population of 120 sites
with Poisson spike counts over 10 repetitions per image, averaged per image, at a split-half ceiling of about 0.6 or
0.9; the model is PCA-50 of the pixels. Source = the model (50-d), target = the population (120 sites), as a
Brain-Score predictivity map runs. Per seed: 2,000 images form the pools and 1,000 are held out, in neither pool
(the inductive protocol); a fraction of the pool images are bridges. ``--pools shared`` (default): both pools hold the
same 2,000 images, their pairing unknown except for the bridges; ``--pools disjoint``: the source pool holds 1,000
images and the target pool 1,000 others, plus the bridges on both sides.

Score: median over sites of the Pearson r between predicted and measured responses of the held-out images. Rows:
ridge and PLS on the bridges (the floor a user gets without neurobridge), the default ``Aligner()``, each named
coupling given with ``--couplings``, fmralign's alignments where ``neurobridge.peers`` finds it installed, and ridge
on all pool pairs (the oracle that knows every pairing). "gap" is the share of the ridge-to-oracle gap closed,
``(method - ridge) / (oracle - ridge)``; times are per fit and transform, with the ratio to ridge's in the same run.

    python benchmarks/bench_neural_alignment.py                        # 2 ceilings x 4 fractions x 3 seeds
    python benchmarks/bench_neural_alignment.py --couplings bridge-ot --fractions 0.05 --seeds 0   # the paper's method too
    python benchmarks/bench_neural_alignment.py --markdown docs/results/neural_alignment_table.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import warnings

import numpy as np


def _data(ceiling: float, seed: int, n_images: int):
    import neurobridge as nb
    from neurobridge.assemblies import average_repetitions
    from neurobridge.datasets.population import noisy_population, pca_model

    images = nb.load("mnist", split="test", n=n_images, seed=0)
    population = noisy_population(images, ceiling=ceiling, seed=seed)
    y = average_repetitions(population).values.astype(np.float32)
    x = pca_model(images).values.astype(np.float32)
    return x, y, float(population.attrs["ceiling"])


def _split(n_images: int, fraction: float, seed: int, pools: str):
    """Source pool, target pool (positions into the images), bridges (positions into each pool) and held-out images."""
    rng = np.random.default_rng([seed, int(round(fraction * 1000))])
    order = rng.permutation(n_images)
    n_pool = 2 * n_images // 3
    pool, test = order[:n_pool], order[n_pool:]
    k = max(2, int(round(fraction * n_pool)))
    if pools == "shared":
        b = rng.choice(n_pool, size=k, replace=False)
        return pool, pool, b, b, test
    paired = pool[:k]
    rest = pool[k:]
    half = len(rest) // 2
    src, tgt = np.concatenate([paired, rest[:half]]), np.concatenate([paired, rest[half:]])
    return src, tgt, np.arange(k), np.arange(k), test


def _methods(args):
    from neurobridge.couplings.methods.map_refined import BridgeRegression

    def ridge(xs, ys, bs, bt):
        return BridgeRegression("ridge").fit(xs, xs[bs], ys[bt])

    def pls(xs, ys, bs, bt):
        return BridgeRegression("pls", n_components=min(10, len(bs) - 1)).fit(xs, xs[bs], ys[bt])

    def aligner(coupling):
        def fit(xs, ys, bs, bt):
            import neurobridge as nb

            bridges = nb.Bridges.from_indices(bs, bt, n_source=len(xs), n_target=len(ys), match="stimulus_id")
            kwargs = {} if coupling is None else {"coupling": coupling}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return nb.Aligner(progress=False, seed=0, **kwargs).fit(xs, ys, bridges)
        return fit

    table = {"ridge": ridge, "pls": pls, "default": aligner(None)}
    for name in args.couplings:
        table[name] = aligner(name)
    try:
        from neurobridge import peers
    except ImportError:
        peers = None
    if peers is not None and args.peers:
        for name, build in peers.available().items():
            table[f"fmralign-{name}"] = lambda xs, ys, bs, bt, build=build: build().fit(xs[bs], ys[bt])
    return table


def run(args) -> list[dict]:
    from neurobridge.couplings.methods.auto import median_site_r
    from neurobridge.couplings.methods.map_refined import BridgeRegression

    rows = []
    methods = _methods(args)
    for ceiling in args.ceilings:
        for seed in args.seeds:
            x, y, measured = _data(ceiling, seed, args.images)
            for fraction in args.fractions:
                src, tgt, bs, bt, test = _split(args.images, fraction, seed, args.pools)
                xs, ys = x[src], y[tgt]
                truth = y[test]
                oracle_pool = src if args.pools == "shared" else np.union1d(src, tgt)
                oracle = median_site_r(BridgeRegression("ridge").fit(x[oracle_pool], x[oracle_pool], y[oracle_pool]).predict(x[test]), truth)
                base = {"ceiling": ceiling, "measured_ceiling": measured, "seed": seed, "fraction": fraction, "n_bridges": len(bs),
                        "oracle": oracle, "pools": args.pools}
                for name, fit in methods.items():
                    t0 = time.perf_counter()
                    try:
                        fitted = fit(xs, ys, bs, bt)
                        predicted = np.asarray(fitted.transform(x[test]) if hasattr(fitted, "transform") else fitted.predict(x[test]))
                        score, error = median_site_r(predicted.astype(np.float64), truth.astype(np.float64)), None
                    except Exception as exc:  # a peer or coupling that cannot run here is reported, not fatal
                        score, error = float("nan"), f"{type(exc).__name__}: {exc}"
                    seconds = time.perf_counter() - t0
                    chosen = getattr(getattr(fitted, "coupling_", None), "log", {}).get("selected") if error is None else None
                    rows.append({**base, "method": name, "r": score, "seconds": seconds, "chosen": chosen, "error": error})
                    print(f"ceiling {ceiling} seed {seed} f {fraction}: {name:<22} r {score:.3f} ({seconds:.1f} s)"
                          f"{'  chose ' + chosen if chosen else ''}{'  ' + error if error else ''}", file=sys.stderr, flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per (ceiling, fraction, method): mean and sd over seeds of r, of the gap share, of seconds; ratio to ridge."""
    out = []
    keys = sorted({(r["ceiling"], r["fraction"]) for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for ceiling, fraction in keys:
        block = [r for r in rows if r["ceiling"] == ceiling and r["fraction"] == fraction]
        seeds = sorted({r["seed"] for r in block})
        ridge = {r["seed"]: r for r in block if r["method"] == "ridge"}
        for method in methods + ["oracle"]:
            if method == "oracle":
                r_values = np.array([ridge[s]["oracle"] for s in seeds])
                seconds = np.full(len(seeds), np.nan)
                chosen = []
            else:
                mine = {r["seed"]: r for r in block if r["method"] == method}
                r_values = np.array([mine[s]["r"] for s in seeds])
                seconds = np.array([mine[s]["seconds"] for s in seeds])
                chosen = [mine[s]["chosen"] for s in seeds if mine[s]["chosen"]]
            gap = np.array([(r_values[i] - ridge[s]["r"]) / (ridge[s]["oracle"] - ridge[s]["r"]) for i, s in enumerate(seeds)])
            below = np.array([r_values[i] - ridge[s]["r"] for i, s in enumerate(seeds)])
            ridge_seconds = np.array([ridge[s]["seconds"] for s in seeds])
            out.append({"ceiling": ceiling, "fraction": fraction, "method": method, "r_mean": float(np.mean(r_values)),
                        "r_sd": float(np.std(r_values)), "gap_mean": float(np.mean(gap)), "gap_min": float(np.min(gap)),
                        "worst_vs_ridge": float(np.min(below)), "seconds": float(np.mean(seconds)),
                        "time_ratio": float(np.mean(seconds) / max(np.mean(ridge_seconds), 1e-9)),
                        "chosen": ", ".join(f"{c} x{chosen.count(c)}" for c in dict.fromkeys(chosen))})
    return out


def markdown(summary: list[dict], args, measured: dict) -> str:
    import neurobridge

    lines = [f"neurobridge {neurobridge.__version__}, run {datetime.date.today().isoformat()}, `--pools {args.pools}`, "
             f"seeds {', '.join(map(str, args.seeds))}; measured ceilings "
             + ", ".join(f"{c}: {np.mean(v):.3f}" for c, v in sorted(measured.items())) + ".", ""]
    for ceiling in sorted({s["ceiling"] for s in summary}):
        lines += [f"Ceiling {ceiling} (median per-site r on 1,000 held-out images; mean ± sd over seeds; gap: share of "
                  "the ridge-to-oracle gap closed, mean (worst seed); time per fit and transform, and its ratio to ridge's):", "",
                  "| fraction | method | median site r | gap closed | worst seed vs ridge | seconds | x ridge | chosen |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in (s for s in summary if s["ceiling"] == ceiling):
            seconds = "" if np.isnan(s["seconds"]) else f"{s['seconds']:.2f}"
            ratio = "" if np.isnan(s["seconds"]) else f"{s['time_ratio']:.0f}"
            lines.append(f"| {s['fraction']:g} | {s['method']} | {s['r_mean']:.3f} ± {s['r_sd']:.3f} | {s['gap_mean']:.2f} "
                         f"({s['gap_min']:.2f}) | {s['worst_vs_ridge']:+.3f} | {seconds} | {ratio} | {s['chosen']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ceilings", type=lambda s: [float(v) for v in s.split(",")], default=[0.6, 0.9])
    parser.add_argument("--fractions", type=lambda s: [float(v) for v in s.split(",")], default=[0.02, 0.05, 0.1, 0.2])
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1, 2])
    parser.add_argument("--couplings", type=lambda s: [v for v in s.split(",") if v], default=[],
                        help="named couplings to run beside the default (e.g. self-training,bridge-ot,map-refined)")
    parser.add_argument("--pools", choices=("shared", "disjoint"), default="shared")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--no-peers", dest="peers", action="store_false")
    parser.add_argument("--json", help="write every row to this JSON file")
    parser.add_argument("--markdown", help="write the summary tables to this Markdown file")
    args = parser.parse_args(argv)
    os.environ.setdefault("NEUROBRIDGE_DATA_PATH", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    rows = run(args)
    summary = summarise(rows)
    measured: dict = {}
    for r in rows:
        measured.setdefault(r["ceiling"], []).append(r["measured_ceiling"])
    text = markdown(summary, args, measured)
    print(text)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    if args.markdown:
        with open(args.markdown + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(args.markdown + ".tmp", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
