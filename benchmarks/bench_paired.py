"""Issue 11's targets: the couplings beyond the paper against ridge and the paper's bridge-OT, on small problems.

Run:  NEUROBRIDGE_DATA_PATH=../shared/data .venv/bin/python benchmarks/bench_paired.py [--seeds 0,1,2] [--no-aligner]
      [--flow-steps 300] [--only mnist-paired,digits-paired,mnist-heldout,majaj,digits-label,mnist-label]

Paired problems (5 % bridges, every bridge a pair of views of one stimulus; target pool shuffled):
- ``mnist-paired``: 2,000 MNIST training images; source = PCA-50 of the pixels (fitted on those images), target =
  a seeded random two-layer CNN's pooled features (512-d) of the same images;
- ``digits-paired``: the 1,797 sklearn digits; source = PCA-20 of the pixels, target = a seeded random CNN (8x8 input);
- ``majaj``: MajajHong2015 slice, IT trial responses (700 trials, 25 images) against the seeded random CNN layer of
  the majaj experiment on the same images; the bridges are every trial of the labelled images (a stratified fraction
  of the 25 images, at least one), test points the trials of the other images (identification among all 25).
Metrics on the non-bridge source points: ``partner`` (top-1 partner retrieval: the plan row's argmax, or the target
nearest the predicted point, is the true partner), ``label`` (the label of that partner equals the source's label).
``aligner`` is the default :class:`~neurobridge.Aligner` (``Aligner(seed=seed)``: coupling ``"auto"``, the
``"small"`` flow trained 2,000 steps on the plan with the bridges pinned; ``transform`` = mean of 8 draws), read out
the same way (the target nearest the transported point); ``auto`` is then that Aligner's own plan (unless
``--no-aligner``: ``AutoCoupling(seed=seed)`` alone). With ``--flow-steps`` also a short MLP
:class:`~neurobridge.flows.ConditionalFlow` trained on the plans (mean of 4 draws), as measured before.
``mnist-heldout`` (opt-in through ``--only``): the mnist-paired construction on 2,500 images; everything is fitted on
2,000 of them and ``transform`` maps the 500 others, never seen (retrieval among their 500 targets), beside ridge on
the bridges and the map-refined coupling's refined map (ridge refitted on the bridges plus the plan's confident pairs).

Label-matched problems (label-matched bridges at 1 %, 5 %, 10 %): ``digits-label`` (source PCA-16 of the pixels,
target noisy one-hot label codes, N(0, 0.1^2) noise, the issue's prototype setting) and ``mnist-label`` (2,000 MNIST
images, PCA-32; not tuned on). Metric: the plan's class agreement ``sum_ij P_ij [l_i = l_j]`` over all points (NaN
when auto chose the plan-free supervised-only candidate), and a
logistic regression trained on the bridges' source points (accuracy on the other source points).

Methods: ``auto`` (:class:`~neurobridge.couplings.methods.AutoCoupling`, defaults), ``bridge-ot`` (the paper's exact
min-plus cost, cosine, epsilon 1e-2, as ``Aligner(coupling="bridge-ot")``), ``ridge`` (the package's
``RegressionMap("ridge")``, alpha 1, as the experiments fit it) and ``ridge-cv`` (penalty by leave-one-out CV), and for
label-matched data ``geodesic`` and ``label-spreading``. Prints one Markdown table per problem (mean +- sd over seeds).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

torch.set_num_threads(1)

from neurobridge.bridges import Bridges  # noqa: E402
from neurobridge.couplings import bridge_cost, plan_match_accuracy, solve  # noqa: E402
from neurobridge.couplings.methods import AutoCoupling, GeodesicCoupling, LabelSpreadingCoupling  # noqa: E402
from neurobridge.couplings.methods.map_refined import BridgeRegression  # noqa: E402


def random_cnn_features(images: np.ndarray, side: int, seed: int) -> np.ndarray:
    """A seeded random two-layer ReLU CNN, average-pooled to 4x4 (32 channels): a second 'model' of the images."""
    g = torch.Generator().manual_seed(seed)
    conv1 = torch.nn.Conv2d(1, 16, 5, stride=2 if side > 8 else 1, padding=2)
    conv2 = torch.nn.Conv2d(16, 32, 3, stride=2 if side > 8 else 1, padding=1)
    with torch.no_grad():
        for p in list(conv1.parameters()) + list(conv2.parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        t = torch.tensor(images, dtype=torch.float32).reshape(-1, 1, side, side)
        out = torch.nn.functional.adaptive_avg_pool2d(torch.relu(conv2(torch.relu(conv1(t)))), 4).flatten(1)
    return out.double().numpy()


def pca(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(k, random_state=seed).fit_transform(x)


def paired_problem(name: str, seed: int):
    import neurobridge as nb

    if name == "mnist-paired":
        imgs = nb.load("mnist", split="train", n=2000, seed=0)
        pixels, labels, side, k = imgs.values.astype(np.float64), imgs.coords["label"].values, 28, 50
    else:
        imgs = nb.load("digits")
        pixels, labels, side, k = imgs.values.astype(np.float64), imgs.coords["label"].values, 8, 20
    x = pca(pixels, k)
    y_ordered = random_cnn_features(pixels, side, seed=1)
    n = len(x)
    order = np.random.default_rng(100 + seed).permutation(n)
    partner = np.argsort(order)
    y, ylab = y_ordered[order], labels[order]
    stim = np.array([f"s{i}" for i in range(n)])
    bridges = Bridges.sample(stim, stim[order], fraction=0.05, match="stimulus_id", seed=seed)
    bridges = Bridges.from_indices(bridges.source_index, bridges.target_index, labels[bridges.source_index], n_source=n, n_target=n,
                                   match="stimulus_id")
    return x, y, labels, ylab, partner, bridges


def majaj_problem(fraction: float, seed: int):
    from neurobridge.experiments.config import RunConfig  # noqa: F401  (the experiment's own data and model layer)
    from neurobridge.experiments.majaj import _labelled_stimuli, model_layer, neural_data

    class _Cfg:
        options = {}
        device = "cpu"
        progress = False

    neural = neural_data(_Cfg)
    stimuli = np.array(list(dict.fromkeys(neural.coords["stimulus_id"].values)))
    model = model_layer(_Cfg, stimuli)
    x, y = neural.values.astype(np.float64), model.values.astype(np.float64)
    row_of = {s: i for i, s in enumerate(stimuli)}
    trial_row = np.array([row_of[s] for s in neural.coords["stimulus_id"].values])
    categories = np.array([neural.coords["category_name"].values[np.flatnonzero(trial_row == r)[0]] for r in range(len(stimuli))])
    labelled = _labelled_stimuli(stimuli, categories, fraction, seed)
    bt = np.flatnonzero(np.isin(neural.coords["stimulus_id"].values, labelled))
    bridges = Bridges.from_indices(bt, trial_row[bt], categories[trial_row[bt]], n_source=len(x), n_target=len(y), match="stimulus_id")
    return x, y, categories[trial_row], categories, trial_row, bridges


def nearest(points: np.ndarray, pool: np.ndarray, metric: str = "sqeuclidean") -> np.ndarray:
    if metric == "cosine":
        a = points / np.linalg.norm(points, axis=1, keepdims=True).clip(1e-12)
        b = pool / np.linalg.norm(pool, axis=1, keepdims=True).clip(1e-12)
        return (a @ b.T).argmax(1)
    d = (points**2).sum(1)[:, None] + (pool**2).sum(1)[None, :] - 2 * points @ pool.T
    return d.argmin(1)


def bridge_ot(x, y, bridges):
    cost = bridge_cost(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32), bridges, metric="cosine")
    return solve(cost.cost, epsilon=1e-2, tol=1e-4)


def short_flow(x, y, coupling, bridges, test, steps: int, seed: int) -> np.ndarray:
    from neurobridge.couplings import PinnedBridges
    from neurobridge.flows import ConditionalFlow

    sampler = PinnedBridges(coupling.pair_sampler(), bridges)
    flow = ConditionalFlow("mlp", network_kwargs={"width": 256, "depth": 3}, steps=steps, batch_size=256, lr=2e-3, device="cpu",
                           seed=seed, progress=False).fit(x.astype(np.float32), y.astype(np.float32), sampler=sampler)
    return np.asarray(flow.transport(x[test].astype(np.float32), n_samples=4, steps=16).mean, dtype=np.float64)


def default_aligner(x, y, bridges, seed: int):
    """The default :class:`~neurobridge.Aligner` (coupling ``"auto"``, the ``"small"`` flow, 2,000 steps, ``transform``
    = mean of 8 draws), on the CPU with one torch thread."""
    from neurobridge import Aligner

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Aligner(seed=seed, device="cpu", progress=False).fit(x.astype(np.float32), y.astype(np.float32), bridges)


def run_paired(name: str, seed: int, flow_steps: int, fraction: float = 0.05, aligner: bool = True) -> dict:
    if name == "majaj":
        x, y, xlab, ylab, partner, bridges = majaj_problem(fraction, seed)
        metric = "cosine"
    else:
        x, y, xlab, ylab, partner, bridges = paired_problem(name, seed)
        metric = "sqeuclidean"
    test = np.setdiff1d(np.arange(len(x)), bridges.source_index)
    out = {}

    def score(guess, key):
        out[f"{key}/partner"] = float(np.mean(guess == partner[test]))
        out[f"{key}/label"] = float(np.mean(ylab[guess] == xlab[test]))

    from neurobridge.baselines import RegressionMap

    xb, yb = x[bridges.source_index], y[bridges.target_index]
    score(nearest(np.asarray(RegressionMap("ridge").fit(xb, yb).transform(x[test])), y, metric), "ridge")
    score(nearest(BridgeRegression("ridge").fit(x, xb, yb).predict(x[test]), y, metric), "ridge-cv")
    t0 = time.perf_counter()
    if aligner:
        fitted = default_aligner(x, y, bridges, seed)
        auto = fitted.coupling_
        out["auto/seconds"], out["aligner/seconds"] = fitted.timings_["coupling"], fitted.fit_seconds_
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auto = AutoCoupling(seed=seed).fit(x, y, bridges)
        out["auto/seconds"] = time.perf_counter() - t0
    out["auto/choice"] = auto.log["selected"]
    if auto.plan is not None:
        score(auto.plan_numpy()[test].argmax(1), "auto")
    else:
        out["auto/partner"] = out["auto/label"] = float("nan")
    if aligner:
        score(nearest(np.asarray(fitted.transform(x[test].astype(np.float32)), dtype=np.float64), y, metric), "aligner")
    paper = bridge_ot(x, y, bridges)
    score(paper.plan_numpy()[test].argmax(1), "bridge-ot")
    if flow_steps and name != "majaj":
        for key, coupling in (("auto+flow", auto), ("bridge-ot+flow", paper)):
            score(nearest(short_flow(x, y, coupling, bridges, test, flow_steps, seed), y, metric), key)
    return out


def run_heldout(seed: int, n_pool: int = 2000, n_new: int = 500) -> dict:
    """``mnist-heldout``: the ``mnist-paired`` construction on ``n_pool + n_new`` images; the Aligner and the maps are
    fitted on the pools (``n_pool`` images, 5 % paired bridges), then ``transform`` the ``n_new`` images it never saw.
    Metrics on the new images: partner retrieval and label agreement among the ``n_new`` new targets."""
    from sklearn.decomposition import PCA

    import neurobridge as nb
    from neurobridge.baselines import RegressionMap

    imgs = nb.load("mnist", split="train", n=n_pool + n_new, seed=0)
    pixels, labels = imgs.values.astype(np.float64), imgs.coords["label"].values
    rng = np.random.default_rng(200 + seed)
    order = rng.permutation(len(pixels))
    pool, new = order[:n_pool], order[n_pool:]
    pca_fit = PCA(50, random_state=0).fit(pixels[pool])
    features = random_cnn_features(pixels, 28, seed=1)
    x, x_new = pca_fit.transform(pixels[pool]), pca_fit.transform(pixels[new])
    shuffle = rng.permutation(n_pool)
    y, y_new = features[pool][shuffle], features[new]
    stim = np.array([f"s{i}" for i in range(n_pool)])
    sampled = Bridges.sample(stim, stim[shuffle], fraction=0.05, match="stimulus_id", seed=seed)
    bridges = Bridges.from_indices(sampled.source_index, sampled.target_index, labels[pool][sampled.source_index], n_source=n_pool,
                                   n_target=n_pool, match="stimulus_id")
    out = {}

    def score(points, key):
        guess = nearest(np.asarray(points, dtype=np.float64), y_new)
        out[f"{key}/partner"] = float(np.mean(guess == np.arange(n_new)))
        out[f"{key}/label"] = float(np.mean(labels[new][guess] == labels[new]))

    xb, yb = x[bridges.source_index], y[bridges.target_index]
    score(RegressionMap("ridge").fit(xb, yb).transform(x_new), "ridge")
    score(BridgeRegression("ridge").fit(x, xb, yb).predict(x_new), "ridge-cv")
    fitted = default_aligner(x, y, bridges, seed)
    out["auto/choice"] = fitted.coupling_.log["selected"]
    refined = fitted.coupling_.log.get("map")
    if refined is not None:
        score(refined.predict(x_new), "refined-map")
    score(fitted.transform(x_new.astype(np.float32)), "aligner")
    return out


def label_problem(name: str, fraction: float, seed: int):
    import neurobridge as nb

    if name == "digits-label":
        imgs = nb.load("digits")
        k = 16
    else:
        imgs = nb.load("mnist", split="train", n=2000, seed=0)
        k = 32
    labels = imgs.coords["label"].values
    x = pca(imgs.values.astype(np.float64), k)
    y = np.eye(10)[labels] + 0.1 * np.random.default_rng(seed).standard_normal((len(labels), 10))
    bridges = Bridges.from_labels(labels, labels, fraction, seed=seed)
    return x, y, labels, bridges


def run_label(name: str, fraction: float, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    x, y, labels, bridges = label_problem(name, fraction, seed)
    test = np.setdiff1d(np.arange(len(x)), bridges.source_index)
    out = {}
    clf = LogisticRegression(max_iter=2000).fit(x[bridges.source_index], labels[bridges.source_index])
    out["logreg/accuracy"] = float(np.mean(clf.predict(x[test]) == labels[test]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["bridge-ot/class"] = plan_match_accuracy(bridge_ot(x, y, bridges).plan, labels, labels)
        out["geodesic/class"] = plan_match_accuracy(GeodesicCoupling().fit(x, y, bridges).plan, labels, labels)
        out["label-spreading/class"] = plan_match_accuracy(LabelSpreadingCoupling().fit(x, y, bridges).plan, labels, labels)
        t0 = time.perf_counter()
        auto = AutoCoupling(seed=seed).fit(x, y, bridges)
    out["auto/seconds"] = time.perf_counter() - t0
    out["auto/class"] = plan_match_accuracy(auto.plan, labels, labels) if auto.plan is not None else float("nan")
    out["auto/choice"] = auto.log["selected"]
    return out


def table(title: str, rows: dict[str, list[dict]]) -> str:
    keys = [k for k in next(iter(rows.values()))[0] if not k.endswith("choice")]
    lines = [f"### {title}", "", "| setting | " + " | ".join(keys) + " | auto's choice |", "|---" * (len(keys) + 2) + "|"]
    for setting, runs in rows.items():
        cells = []
        for k in keys:
            v = np.array([r[k] for r in runs], dtype=float)
            cells.append(f"{v.mean():.3f}" + (f" ± {v.std():.3f}" if len(v) > 1 else ""))
        choices = ", ".join(str(r.get("auto/choice")) for r in runs)
        lines.append(f"| {setting} | " + " | ".join(cells) + f" | {choices} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--flow-steps", type=int, default=0, help="also a short MLP flow on the plans (0: none)")
    parser.add_argument("--no-aligner", action="store_true", help="plans only: skip the default Aligner's flow")
    parser.add_argument("--only", default="mnist-paired,digits-paired,majaj,digits-label,mnist-label")
    parser.add_argument("--majaj-fractions", default="0.05,0.2,0.4")
    parser.add_argument("--label-fractions", default="0.01,0.05,0.1")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    only = args.only.split(",")
    start = time.perf_counter()
    for name in ("mnist-paired", "digits-paired"):
        if name in only:
            print(table(f"{name} (5 % paired bridges)", {"0.05": [run_paired(name, s, args.flow_steps, aligner=not args.no_aligner) for s in seeds]}), flush=True)
    if "mnist-heldout" in only:
        print(table("mnist-heldout (5 % paired bridges; new images, retrieval among the new targets)", {"0.05": [run_heldout(s) for s in seeds]}), flush=True)
    if "majaj" in only:
        rows = {f: [run_paired("majaj", s, 0, float(f), aligner=not args.no_aligner) for s in seeds] for f in args.majaj_fractions.split(",")}
        print(table("majaj slice, IT trials -> random-CNN layer (fraction of the 25 images labelled)", rows), flush=True)
    for name in ("digits-label", "mnist-label"):
        if name in only:
            rows = {f: [run_label(name, float(f), s) for s in seeds] for f in args.label_fractions.split(",")}
            print(table(f"{name} (label-matched bridges)", rows), flush=True)
    print(f"\ntotal {time.perf_counter() - start:.0f} s, torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
