"""Cross-animal alignment, Chabo -> Tito IT: each map as a fraction of the noise-corrected inter-animal consistency.

Two monkeys saw the same images. The source is Chabo's IT sites, the target Tito's, both repetition-averaged per
image. Per split (inductive: the test images sit in neither pool):

- the pools hold the same pool images on both sides, the target pool in a shuffled order; ``K`` of them are the
  bridges (their pairing is known, the rest is not);
- every map is fitted on the pools and bridges, predicts Tito's responses to the test images from Chabo's;
- score: median over Tito's sites of the Pearson r over the test images (``raw``); the same made noise-free by
  Spearman's correction for attenuation with the map's own prediction reliability and Tito's split-half reliability
  on the test images (``corrected``, :func:`neurobridge.evaluate.consistency.noise_corrected`); and
  ``corrected / consistency``, where the consistency is :func:`neurobridge.evaluate.inter_animal_consistency` on the
  same split (ridge from Chabo to Tito on the same ``K`` bridges, noise-corrected).

Rows: ridge on the bridges (the package's ``BridgeRegression``, what ``auto`` returns when ridge wins), the default
``nb.Aligner()``, ridge on all pool pairs (an oracle that knows every pairing), the peers of
:mod:`neurobridge.peers` that are installed (fitted on the bridges alone), and the consistency itself.

Data: the real 25-image slice (``majajhong2015.slice25``: 58 Chabo and 110 Tito IT sites, 28 repetitions; per split
9 test images, a pool of 16, ``K = 6`` bridges; the r of a site over 9 images is very noisy, so read the slice rows
as a worked example, not a measurement), and the full-size stand-in of ``scripts/make_majaj_standin.py`` simulated
in memory (3,200 images, 28 or 51 repetitions, 58 / 110 IT sites driven by one shared latent; pool 2,000 images,
1,200 test). The stand-in also reports the noise-free truth the generator knows: ridge on the noise-free responses of
the same ``K`` bridges, and of all pool pairs.

The slice and the HvM metadata are found through ``NEUROBRIDGE_DATA_PATH`` (``../shared/data`` beside the repository
when it is unset and exists).

    python benchmarks/bench_cross_animal.py                       # slice (10 splits) and stand-in (K 6, 100; 2 seeds)
    python benchmarks/bench_cross_animal.py --markdown docs/results/cross_animal.md
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if not os.environ.get("NEUROBRIDGE_DATA_PATH") and (REPO.parent / "shared" / "data").is_dir():
    os.environ["NEUROBRIDGE_DATA_PATH"] = str(REPO.parent / "shared" / "data")


def slice_data():
    """Chabo's and Tito's IT trials on the slice as ``(n_repetitions, n_images, n_sites)`` arrays."""
    import neurobridge as nb
    from neurobridge.evaluate.consistency import trial_array

    chabo, ids_a = trial_array(nb.load("majajhong2015.slice25", region="IT", animal="Chabo", average=False))
    tito, ids_b = trial_array(nb.load("majajhong2015.slice25", region="IT", animal="Tito", average=False))
    if not np.array_equal(ids_a, ids_b):
        raise RuntimeError("the slice's two animals do not share their images")
    return chabo, tito, None


def standin_data(seed: int = 0):
    """The full-size stand-in's Chabo and Tito IT trials, and their noise-free responses (images x sites)."""
    spec = importlib.util.spec_from_file_location("make_majaj_standin", REPO / "scripts" / "make_majaj_standin.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.simulate(script._parse(["--out", "unused", "--seed", str(seed)]))
    neuroids = made["neuroids"]
    n_images = len(made["images"])
    reps = int(made["repetition"].max()) + 1
    out, truth = [], []
    for animal in ("Chabo", "Tito"):
        mask = ((neuroids["region"] == "IT") & (neuroids["animal"] == animal)).to_numpy()
        trials = np.full((reps, n_images, int(mask.sum())), np.nan, dtype=np.float32)
        trials[made["repetition"], made["order"]] = made["values"][:, mask]
        out.append(trials)
        truth.append(made["signal"][:, mask])
    return out[0], out[1], truth


def _methods():
    import neurobridge as nb
    from neurobridge import peers
    from neurobridge.couplings.methods.map_refined import BridgeRegression

    def ridge(xs, ys, bs, bt):
        return BridgeRegression("ridge").fit(xs, xs[bs], ys[bt]).predict

    def default(xs, ys, bs, bt):
        bridges = nb.Bridges.from_indices(bs, bt, n_source=len(xs), n_target=len(ys), match="stimulus_id")
        aligner = nb.Aligner(progress=False, seed=0).fit(xs.astype(np.float32), ys.astype(np.float32), bridges)

        def predict(x):
            return np.asarray(aligner.transform(x.astype(np.float32)), dtype=np.float64)

        predict.chosen = getattr(aligner.coupling_, "log", {}).get("selected")
        return predict

    table = {"ridge on the bridges": ridge, "default Aligner()": default}
    for toolbox in ("fmralign", "brainiak"):
        for name, cls in peers.available(toolbox).items():
            table[f"{toolbox} {name}"] = lambda xs, ys, bs, bt, cls=cls: cls().fit(xs[bs], ys[bt]).predict
    return table


def pools_of(pool: np.ndarray, bridges: np.ndarray, mode: str, rng: np.random.Generator):
    """Source and target pools (image positions): ``shared``, both hold every pool image; ``disjoint``, both hold
    the bridges and each half of the other pool images, so no unpaired image is seen by both animals."""
    if mode == "shared":
        return pool, pool
    rest = rng.permutation(np.setdiff1d(pool, bridges))
    half = len(rest) // 2
    return np.sort(np.concatenate([bridges, rest[:half]])), np.sort(np.concatenate([bridges, rest[half:]]))


def split_rows(chabo, tito, truth, pool, bridges, test, seed: int, methods, pools: str = "shared") -> list[dict]:
    """Fit every method on one split and score it; ``pool``, ``bridges``, ``test``: image positions."""
    from neurobridge.couplings.methods.map_refined import BridgeRegression
    from neurobridge.evaluate import inter_animal_consistency
    from neurobridge.evaluate._stats import pearson_columns
    from neurobridge.evaluate.consistency import _nanmean, map_reliability, noise_corrected, split_half_reliability

    a_mean, b_mean = _nanmean(chabo.astype(np.float64)), _nanmean(tito.astype(np.float64))
    rng = np.random.default_rng([seed, len(bridges)])
    source_pool, target_pool = pools_of(pool, bridges, pools, rng)
    shuffle = rng.permutation(len(target_pool))
    xs, ys = a_mean[source_pool], b_mean[target_pool][shuffle]
    in_source = {int(image): i for i, image in enumerate(source_pool)}
    in_target = {int(image): i for i, image in enumerate(target_pool[shuffle])}
    bs = np.array([in_source[int(b)] for b in bridges])
    bt = np.array([in_target[int(b)] for b in bridges])
    target_rel = split_half_reliability(tito[:, test], seed=seed)
    source_test = chabo[:, test].astype(np.float64)
    rows = []

    def score(name, predict, seconds):
        r = pearson_columns(predict(a_mean[test]), b_mean[test])
        corrected = noise_corrected(r, map_reliability(predict, source_test, seed=seed), target_rel)
        rows.append({"method": name, "raw": float(np.nanmedian(r)), "corrected": corrected, "seconds": seconds,
                     "chosen": getattr(predict, "chosen", None)})

    for name, fit in methods.items():
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predict = fit(xs, ys, bs, bt)
                score(name, predict, time.perf_counter() - t0)
        except Exception as exc:  # a peer that cannot run on this split is reported, not fatal
            rows.append({"method": name, "raw": np.nan, "corrected": np.nan, "seconds": np.nan,
                         "error": f"{type(exc).__name__}: {exc}"})
    t0 = time.perf_counter()
    oracle = BridgeRegression("ridge").fit(a_mean[pool], a_mean[pool], b_mean[pool]).predict
    score("ridge on all pool pairs (oracle)", oracle, time.perf_counter() - t0)
    consistency = inter_animal_consistency(chabo, tito, splits=[(bridges, test)], seed=seed)
    rows.append({"method": "inter-animal consistency", "raw": consistency.raw, "corrected": consistency.consistency,
                 "seconds": np.nan})
    if truth is not None:
        clean_a, clean_b = truth
        for name, fitted_on in (("noise-free truth, same K", bridges), ("noise-free truth, all pool pairs", pool)):
            predict = BridgeRegression("ridge").fit(clean_a[pool], clean_a[fitted_on], clean_b[fitted_on]).predict
            r = float(np.nanmedian(pearson_columns(predict(clean_a[test]), clean_b[test])))
            rows.append({"method": name, "raw": r, "corrected": r, "seconds": np.nan})
    for row in rows:
        row["fraction"] = row["corrected"] / consistency.consistency if consistency.consistency > 0 else np.nan
        row.update({"seed": seed, "k": len(bridges), "n_pool": len(pool), "n_test": len(test), "pools": pools,
                    "n_source_pool": len(source_pool), "n_target_pool": len(target_pool)})
    return rows


def run_slice(args, methods) -> list[dict]:
    chabo, tito, truth = slice_data()
    rows = []
    for split in range(args.slice_splits):
        order = np.random.default_rng([split, 25]).permutation(chabo.shape[1])
        test, pool = np.sort(order[:args.slice_test]), np.sort(order[args.slice_test:])
        bridges = np.sort(np.random.default_rng([split, 6]).choice(pool, size=args.slice_k, replace=False))
        for pools in args.slice_pools:
            scored = split_rows(chabo, tito, truth, pool, bridges, test, split, methods, pools)
            rows += [{**r, "data": "slice"} for r in scored]
            _progress(rows, f"slice ({pools} pools)", split)
    return rows


def run_standin(args, methods) -> list[dict]:
    chabo, tito, truth = standin_data()
    rows = []
    for seed in range(args.standin_seeds):
        order = np.random.default_rng([seed, 3200]).permutation(chabo.shape[1])
        pool, test = np.sort(order[:args.standin_pool]), np.sort(order[args.standin_pool:])
        for k in args.standin_k:
            bridges = np.sort(np.random.default_rng([seed, k]).choice(pool, size=k, replace=False))
            for pools in args.standin_pools:
                scored = split_rows(chabo, tito, truth, pool, bridges, test, seed, methods, pools)
                rows += [{**r, "data": "stand-in"} for r in scored]
                _progress(rows, f"stand-in K={k} ({pools} pools)", seed)
    return rows


def _progress(rows, label, split):
    done = [r for r in rows if r["seed"] == split][-12:]
    text = ", ".join(f"{r['method']} {r['raw']:.3f}" for r in done if np.isfinite(r["raw"]))
    print(f"{label} split {split}: {text}", file=sys.stderr, flush=True)


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and sd over splits per (data, K, method)."""
    out = []
    keys = []
    for r in rows:
        key = (r["data"], r["k"], r["pools"], r["method"])
        if key not in keys:
            keys.append(key)
    for data, k, pools, method in keys:
        group = [r for r in rows if (r["data"], r["k"], r["pools"], r["method"]) == (data, k, pools, method)]
        entry = {"data": data, "k": k, "pools": pools, "method": method, "n": len(group),
                 "n_pool": group[0]["n_pool"], "n_test": group[0]["n_test"],
                 "n_source_pool": group[0]["n_source_pool"], "n_target_pool": group[0]["n_target_pool"],
                 "errors": sorted({r["error"] for r in group if r.get("error")}),
                 "chosen": sorted({r["chosen"] for r in group if r.get("chosen")})}
        for field in ("raw", "corrected", "fraction", "seconds"):
            values = np.array([r[field] for r in group], dtype=np.float64)
            finite = values[np.isfinite(values)]
            entry[field] = float(finite.mean()) if finite.size else np.nan
            entry[field + "_sd"] = float(finite.std()) if finite.size > 1 else np.nan
        out.append(entry)
    return out


def _cell(mean, sd, digits=3):
    if not np.isfinite(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if np.isfinite(sd) else "")


def markdown(summary: list[dict], args, seconds: float) -> str:
    import neurobridge as nb

    lines = ["# Cross-animal alignment: Chabo -> Tito IT", "",
             f"Package version {getattr(nb, '__version__', '0.1.0')}. Run on {datetime.date.today().isoformat()} on a "
             f"2-core CPU machine shared with other work (load average {os.getloadavg()[0]:.1f} at the end); "
             f"the whole run took {seconds / 60:.1f} min (`python benchmarks/bench_cross_animal.py`).", "",
             "Chabo's IT sites are the source, Tito's the target, both averaged over repetitions per image. "
             "**Inductive protocol**: the test images sit in neither pool. *Shared pools*: both pools hold the same "
             "other images (the target pool shuffled), `K` of them paired (the bridges), the rest unpaired; "
             "*disjoint pools*: both hold the bridges, and each holds half of the remaining pool images, so no "
             "unpaired image was seen by both animals (an aligner cannot win by re-finding pairs). Columns: "
             "`raw`, the median over Tito's "
             "sites of the Pearson r over the test images; `corrected`, the same with Spearman's correction for "
             "attenuation, `median r / sqrt(median prediction reliability x median target reliability)`, both "
             "split-half reliabilities Spearman-Brown corrected and measured on the test images; `fraction`, "
             "`corrected` divided by the inter-animal consistency of the same split (ridge from Chabo to Tito on the "
             "same `K` bridges, noise-corrected: `neurobridge.evaluate.inter_animal_consistency`). Means ± sd over "
             "splits; seconds per fit and prediction. The peers (`pip install neurobridge[peers]`) are fitted on "
             "the bridges alone.", ""]
    for data, title in (("slice", "The real 25-image slice"), ("stand-in", "The full-size stand-in")):
        groups = [s for s in summary if s["data"] == data]
        if not groups:
            continue
        first = groups[0]
        lines += [f"## {title}", ""]
        if data == "slice":
            lines += [f"58 Chabo and 110 Tito IT sites, 28 repetitions. {first['n']} random splits: {first['n_test']} "
                      f"test images, a pool of {first['n_pool']} images, `K = {first['k']}` of them bridges. A site's "
                      "r over so few test images is very noisy (the ± is the spread over splits) and the "
                      "reliabilities on them are rough, so these rows illustrate the workflow more than they rank "
                      "the methods.", ""]
        else:
            lines += ["The stand-in of `scripts/make_majaj_standin.py`, simulated in memory (synthetic responses, not "
                      "recordings): 3,200 images, 28 or 51 repetitions, a split-half ceiling near 0.8, 58 Chabo and "
                      "110 Tito IT sites, every site a `tanh` of its own random projection of one per-image latent "
                      "shared by both animals. "
                      f"{first['n']} seed(s): pools of {first['n_pool']} images, {first['n_test']} test images. "
                      "The `noise-free truth` rows fit ridge on the generator's noise-free responses: the "
                      "consistency the noisy data estimate.", ""]
        settings = []
        for s in groups:
            if (s["k"], s["pools"]) not in settings:
                settings.append((s["k"], s["pools"]))
        for k, pools in sorted(settings, key=lambda kp: (kp[1] != "shared", kp[0])):
            block = [s for s in groups if (s["k"], s["pools"]) == (k, pools)]
            lines += [f"`K = {k}` bridges, {pools} pools ({block[0]['n_source_pool']} source and "
                      f"{block[0]['n_target_pool']} target pool images)", "",
                      "| | raw r | corrected r | fraction of consistency | seconds |", "|---|---|---|---|---|"]
            for s in block:
                name = f"**{s['method']}**" if s["method"] == "inter-animal consistency" else s["method"]
                seconds = _cell(s["seconds"], np.nan, 2) if np.isfinite(s["seconds"]) else "-"
                lines.append(f"| {name} | {_cell(s['raw'], s['raw_sd'])} | {_cell(s['corrected'], s['corrected_sd'])} "
                             f"| {_cell(s['fraction'], s['fraction_sd'], 2)} | {seconds} |")
                if s["errors"]:
                    lines.append(f"| ({s['method']}: {'; '.join(s['errors'])[:200]}) | | | | |")
            chosen = [c for s in block for c in s["chosen"]]
            lines += ["", f"The default `Aligner()` chose: {', '.join(sorted(set(chosen)))}." if chosen else "", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice-splits", type=int, default=10)
    parser.add_argument("--slice-test", type=int, default=9)
    parser.add_argument("--slice-k", type=int, default=6)
    parser.add_argument("--standin-seeds", type=int, default=2)
    parser.add_argument("--standin-pool", type=int, default=2000)
    parser.add_argument("--standin-k", type=int, nargs="+", default=[6, 100])
    parser.add_argument("--slice-pools", nargs="+", choices=("shared", "disjoint"), default=["shared"])
    parser.add_argument("--standin-pools", nargs="+", choices=("shared", "disjoint"), default=["shared", "disjoint"])
    parser.add_argument("--skip", choices=("slice", "stand-in"), default=None)
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables to this file")
    args = parser.parse_args(argv)
    if args.slice_k + 3 > 25 - args.slice_test or args.slice_test < 3:
        parser.error("--slice-test and --slice-k must leave >= 3 test images and a pool larger than K")
    start = time.perf_counter()
    methods = _methods()
    rows = []
    if args.skip != "slice":
        rows += run_slice(args, methods)
    if args.skip != "stand-in":
        rows += run_standin(args, methods)
    summary = summarise(rows)
    text = markdown(summary, args, time.perf_counter() - start)
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
