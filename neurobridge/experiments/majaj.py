"""``neurobridge run majaj``: biological-to-artificial alignment on MajajHong2015.

Source: IT (``--option region=V4`` for V4) responses, one point per trial (``--option source=trials``, the default on
the slice) or per image, repetitions averaged (``source=averaged``, the default on the public data: 148,480 trials
would make the global plan a 148,480 x 3,200 matrix). Target: a model layer's
activations on the same HvM images. Offline this is a small seeded, randomly initialised CNN on 64x64 grey images
(``--option model=random-cnn``, layer ``pool``); with network access any torchvision/timm model works
(``--option model=torchvision:alexnet --option layer=features.12``). Data: the real 25-image slice
(``--option data=slice25``, default) or Brain-Score's public assembly where present (``data=public``).

Protocol (``--option protocol=inductive``, the default): per seed, a stratified (by category) share of the stimuli,
``--option test_fraction`` (0.2), is held out of both pools: neither their trials (source) nor their model activations
(target) sit in any pool, so a method is scored on stimuli it never saw. Of the remaining pool stimuli a stratified
labelled fraction are bridges: every trial of a labelled stimulus is a bridge to that stimulus' model activation.
``protocol=transductive`` is the earlier evaluation, named as such in every unit's key: the test stimuli are the
unlabelled pool stimuli, whose trials and model activations sit unpaired in the pools (an OT coupling can then find
a test stimulus's activation among the targets: retrieval, not prediction).

- ``category_accuracy``: transported test trials read out with a linear probe fitted on the model layer of the pool
  stimuli (with their categories: the model's own readout); the end-to-end baseline ``e2e-logreg`` is a decoder
  trained on the neural trials of the labelled stimuli.
- ``median_site_r``: per model unit, the Pearson r across test stimuli between the transported points (averaged over
  each stimulus's trials) and the stimulus's true model activation; the median over units.
- ``image_top1`` / ``image_top5``: is the true image's model activation the nearest (cosine) to the transported trial,
  among the test stimuli? On the slice every object appears in a single image, so object identification equals image
  identification there. A decoder trained on labelled stimuli cannot name unseen images, so ``e2e-logreg`` has none.
- ``neural_predictivity`` (method ``model-layer``, the same at every fraction and seed): Brain-Score's PLS
  predictivity of the region from the model layer, with ``neural_predictivity_raw`` and the internal-consistency
  ``ceiling`` (normalisation r^2/c, the ceiling always from the trials). With ``source=averaged`` (the default on the
  public data) it is the package's benchmark of that data and region (``majajhong2015.IT-pls`` and so on: repetitions
  averaged per image, as Brain-Score's MajajHong2015 benchmarks fit their metric, splits stratified by object); with
  ``source=trials`` (the default on the slice, whose 25 images are too few to split by image) the regression splits
  over trial-level presentations. It uses no bridges, so each process computes it once
  and every fraction and seed reports that value. PLS keeps Brain-Score's 25 components where there are at least 30
  stimuli; on the 25-image slice it uses 20, because 25 components on 25 images fit rounding noise (see
  benchmarks/README_predictivity.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.units import Experiment

__all__ = ["EXPERIMENT", "MajajExperiment", "model_layer"]

FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 256, "depth": 3}}, "steps": 800, "batch_size": 256, "lr": 2e-3}


def neural_data(config: RunConfig):
    from neurobridge.datasets import load

    variant = config.options.get("data", "slice25")
    region = config.options.get("region", "IT")
    return load(f"majajhong2015.{variant}", region=region, average=False)


def source_kind(config: RunConfig) -> str:
    """``"trials"`` or ``"averaged"``: the option, else trials on the slice and averaged images on larger data."""
    default = "trials" if config.options.get("data", "slice25") == "slice25" else "averaged"
    return str(config.options.get("source", default))


def model_layer(config: RunConfig, stimulus_ids):
    """The target model's activations on the stimuli (an assembly with category_name/object_name coords)."""
    from neurobridge.activations import load_pretrained, record_activations
    from neurobridge.datasets import load
    from neurobridge.models.random_cnn import RandomCNN

    variant = config.options.get("data", "slice25")
    spec = str(config.options.get("model", "random-cnn"))
    if spec == "random-cnn":
        images = load("hvm", variant=variant, stimulus_ids=stimulus_ids, size=64)
        return record_activations(RandomCNN(int(config.options.get("model_seed", 0))), images, [config.options.get("layer", "pool")],
                                  device=config.device, progress=False)
    source, _, name = spec.partition(":")
    model, preprocess = load_pretrained(name, source=source)
    images = load("hvm", variant=variant, stimulus_ids=stimulus_ids, size=256, mode="RGB")
    return record_activations(model, images, [config.options.get("layer", "features.12")], preprocess=preprocess, device=config.device, progress=config.progress)


def reference_benchmark(config: RunConfig) -> str:
    """The name of the :mod:`neurobridge.benchmarks` benchmark of the run's data and region (PLS)."""
    variant = config.options.get("data", "slice25")
    prefix = "majajhong2015" if variant == "public" else f"majajhong2015.{variant}"
    return f"{prefix}.{config.options.get('region', 'IT')}-pls"


def _labelled_stimuli(stimuli, categories, fraction: float, seed) -> np.ndarray:
    """A seeded fraction of the stimuli, stratified by category, at least one stimulus in all."""
    rng = np.random.default_rng(seed)
    chosen = []
    for category in np.unique(categories):
        members = stimuli[categories == category]
        take = int(round(fraction * len(members)))
        chosen.extend(rng.choice(members, size=take, replace=False).tolist())
    if not chosen:
        chosen = [rng.choice(stimuli)]
    if len(chosen) >= len(stimuli):
        chosen = chosen[:-1]
    return np.array(sorted(chosen))


def _identification(points: np.ndarray, model: np.ndarray, true_rows: np.ndarray) -> tuple[float, float]:
    a = points / np.linalg.norm(points, axis=1, keepdims=True).clip(1e-12)
    b = model / np.linalg.norm(model, axis=1, keepdims=True).clip(1e-12)
    rank = (a @ b.T).argsort(1)[:, ::-1]
    hits = rank == true_rows[:, None]
    return float(hits[:, :1].any(1).mean()), float(hits[:, :5].any(1).mean())


def _reference(context) -> dict:
    """The ``model-layer`` row: the run's benchmark on the model layer, or on trial-level data (``benchmark`` None)
    PLS predictivity split over presentations (see the module docstring)."""
    if context.benchmark is not None:
        from neurobridge import benchmarks

        result = benchmarks.load(context.benchmark)(context.model)
    else:
        from neurobridge.evaluate import neural_predictivity

        result = neural_predictivity(context.model, context.neural, trials="presentations",
                                     n_components=min(25, len(context.stimuli) - 5))
    return {"neural_predictivity": result.score, "neural_predictivity_raw": result.raw, "ceiling": float(result.ceiling),
            "neural_predictivity_error": result.error}


def protocol(config: RunConfig) -> str:
    """``"inductive"`` (default: test stimuli in neither pool) or ``"transductive"`` (test stimuli unpaired in the pools)."""
    value = str(config.options.get("protocol", "inductive"))
    if value not in ("inductive", "transductive"):
        raise ValueError(f"majaj: option protocol must be 'inductive' or 'transductive'; got {value!r}")
    return value


def test_fraction(config: RunConfig) -> float:
    value = float(config.options.get("test_fraction", 0.2))
    if not 0 < value < 1:
        raise ValueError(f"majaj: option test_fraction must lie in (0, 1) (the share of stimuli held out of both pools); got {value}")
    return value


@dataclass
class MajajSplit:
    """One (fraction, seed)'s pools and bridges: ``bridges`` index the pool rows ``source_rows`` (trials) and
    ``target_rows`` (stimuli); ``labelled`` and ``test`` are stimulus ids."""

    bridges: object
    source_rows: np.ndarray
    target_rows: np.ndarray
    labelled: np.ndarray
    test: np.ndarray

    def __len__(self) -> int:
        return len(self.bridges)


@dataclass
class MajajContext:
    """Trial-level responses ``x``, the model layer ``y`` (one row per stimulus) and what the metrics need."""

    neural: object
    model: object
    x: np.ndarray
    y: np.ndarray
    stimuli: np.ndarray
    categories: np.ndarray
    trial_stimulus: np.ndarray
    trial_row: np.ndarray
    trial_category: np.ndarray
    probe: object
    benchmark: str | None = None
    reference: dict | None = None
    protocol: str = "inductive"
    test_fraction: float = 0.2
    probes: dict | None = None

    def probe_for(self, rows: np.ndarray):
        """The model's own category readout, a linear probe fitted on the model layer of the stimuli ``rows``."""
        from neurobridge.evaluate import LinearProbe

        key = tuple(int(r) for r in rows)
        self.probes = self.probes if self.probes is not None else {}
        if key not in self.probes:
            self.probes[key] = LinearProbe().fit(self.y[rows], self.categories[rows])
        return self.probes[key]


class MajajExperiment(Experiment):
    """Trials of a recorded region -> a model layer on the same images (see the module docstring)."""

    name = "majaj"

    def settings(self, config: RunConfig) -> dict:
        return {"flow": self.flow(config), "models": {}, "transform_samples": 8, "protocol": protocol(config),
                "test_fraction": test_fraction(config),
                "data": {"variant": config.options.get("data", "slice25"), "region": config.options.get("region", "IT"),
                         "model": str(config.options.get("model", "random-cnn")), "layer": config.options.get("layer"),
                         "model_seed": int(config.options.get("model_seed", 0)), "source": source_kind(config)}}

    @staticmethod
    def flow(config: RunConfig) -> dict:
        return {**FLOW, "steps": 400} if config.quick else FLOW

    def setup(self, config: RunConfig) -> MajajContext:
        from neurobridge.assemblies import average_repetitions
        from neurobridge.evaluate import LinearProbe

        neural = neural_data(config)
        stimuli = np.array(list(dict.fromkeys(neural.coords["stimulus_id"].values)))
        model = model_layer(config, stimuli)
        _, first_trial = np.unique(neural.coords["stimulus_id"].values, return_index=True)
        first_trial = dict(zip(neural.coords["stimulus_id"].values[first_trial], first_trial))
        model = model.assign_coords(category_name=("presentation", neural.coords["category_name"].values[[first_trial[s] for s in stimuli]]))
        averaged = source_kind(config) == "averaged"
        points = average_repetitions(neural) if averaged else neural
        trial_stimulus = points.coords["stimulus_id"].values
        row_of = {s: i for i, s in enumerate(stimuli)}
        trial_row = np.array([row_of[s] for s in trial_stimulus])
        categories = model.coords["category_name"].values
        y = model.values.astype(np.float32)
        return MajajContext(neural, model, points.values.astype(np.float32), y, stimuli, categories, trial_stimulus, trial_row,
                            categories[trial_row], LinearProbe().fit(y, categories),
                            benchmark=reference_benchmark(config) if averaged else None, protocol=protocol(config),
                            test_fraction=test_fraction(config))

    def bridges(self, context: MajajContext, fraction: float, seed: int) -> MajajSplit:
        from neurobridge.bridges import Bridges

        if context.protocol == "inductive":
            test = _labelled_stimuli(context.stimuli, context.categories, context.test_fraction, [seed, 7])
        else:
            test = np.array([], dtype=context.stimuli.dtype)
        in_pool = ~np.isin(context.stimuli, test)
        pool_stimuli, pool_categories = context.stimuli[in_pool], context.categories[in_pool]
        labelled = _labelled_stimuli(pool_stimuli, pool_categories, fraction, seed)
        if context.protocol == "transductive":
            test = np.setdiff1d(context.stimuli, labelled)
        source_rows = np.flatnonzero(np.isin(context.trial_stimulus, pool_stimuli))
        target_rows = np.flatnonzero(in_pool)
        target_position = np.full(len(context.stimuli), -1)
        target_position[target_rows] = np.arange(target_rows.size)
        bridge = np.flatnonzero(np.isin(context.trial_stimulus[source_rows], labelled))
        bridges = Bridges.from_indices(bridge, target_position[context.trial_row[source_rows[bridge]]],
                                       context.trial_category[source_rows[bridge]], n_source=source_rows.size,
                                       n_target=target_rows.size, match="stimulus_id")
        return MajajSplit(bridges, source_rows, target_rows, labelled, test)

    def tasks(self, context: MajajContext, method: str, split: MajajSplit) -> list[tuple]:
        from neurobridge.experiments.methods import method_kind

        kind = method_kind(method)
        if kind == "reference":
            return [("reference", None, None, None)]
        source = context.x[split.source_rows]
        if kind == "end-to-end":
            return [("category", source, context.trial_category[split.source_rows], split.bridges)]
        return [("transport", source, context.y[split.target_rows], split.bridges)]

    def evaluate(self, context: MajajContext, task: str, fitted, split: MajajSplit, unit) -> tuple[dict, dict]:
        from neurobridge.couplings.methods.auto import median_site_r

        if task == "reference":
            if context.reference is None:
                context.reference = _reference(context)
            return dict(context.reference), {}
        test_trials = np.flatnonzero(np.isin(context.trial_stimulus, split.test))
        metrics = {"n_labelled_stimuli": len(split.labelled), "n_test_stimuli": len(split.test)}
        truth = context.trial_category[test_trials]
        if task == "category":
            metrics["category_accuracy"] = float(np.mean(fitted.predict(context.x[test_trials]) == truth))
            return metrics, {}
        if fitted.kind == "flow":
            transported = fitted.transform(context.x[test_trials], n_samples=8)
        else:
            transported = fitted.transform(context.x[test_trials])
        transported = np.asarray(transported, dtype=np.float32)
        probe = context.probe_for(split.target_rows)
        metrics["category_accuracy"] = float(np.mean(probe.predict(transported) == truth))
        test_rows = np.flatnonzero(np.isin(context.stimuli, split.test))
        position = np.full(len(context.stimuli), -1)
        position[test_rows] = np.arange(test_rows.size)
        rows = position[context.trial_row[test_trials]]
        metrics["image_top1"], metrics["image_top5"] = _identification(transported, context.y[test_rows], rows)
        per_stimulus = np.stack([transported[rows == r].mean(0) for r in range(test_rows.size)])
        metrics["median_site_r"] = median_site_r(per_stimulus.astype(np.float64), context.y[test_rows].astype(np.float64))
        return metrics, {}


EXPERIMENT = MajajExperiment()
