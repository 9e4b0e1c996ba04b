"""``neurobridge run text-image`` and ``imagenet-features``: image representations -> text embeddings of class prompts.

The offline stand-in for the paper's ImageNet experiment (ViT features -> all-MiniLM-L6-v2 embeddings of
"a photo of a {class}"). Source: image latents of the digits (default) or MNIST image VAE (``--option source=mnist``),
or, for ``imagenet-features``, the user's own features (``--option features=PATH`` (.npz/.npy/.nc with labels) and
``--option classes=PATH`` (one class name per line, line i naming label i)). Target pool: the text embeddings of
every class name in several prompt templates. Bridges pair labelled source points with a prompt of their class.
Recognition: transport test points into the text space and take the nearest class prompt (cosine to the mean of the
class's template embeddings), the zero-shot readout of CLIP (Radford et al. 2021).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.results import ResultStore

__all__ = ["run", "prepare", "TEMPLATES"]

TEMPLATES = (
    "a photo of a {}.", "a picture of the number {}.", "a handwritten digit {}.", "an image showing {}.",
    "a drawing of a {}.", "a scan of the digit {}.", "the number {}.", "a blurry photo of a {}.",
)
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 256, "depth": 3}}, "steps": 600, "batch_size": 256, "lr": 2e-3}


def _image_latents(config: RunConfig):
    """(pool, pool_labels, test, test_labels, class names) from the image VAE of the digits or MNIST experiment."""
    from neurobridge.experiments import digits, mnist
    from neurobridge.experiments.image_label import build_spaces

    source = config.options.get("source", "digits")
    if source not in ("digits", "mnist"):
        raise ValueError(f"text-image: option source must be 'digits' or 'mnist'; got {source!r}")
    module = digits if source == "digits" else mnist
    data, model_configs, _ = module._setup(config)
    spaces = build_spaces(data, config, model_configs, int(config.options.get("model_seed", 0)))
    return spaces.source_pool, data.pool_labels, spaces.test_source, data.test_labels, list(DIGIT_NAMES)


def _user_features(config: RunConfig):
    from sklearn.model_selection import train_test_split

    from neurobridge.datasets import load_features

    features, classes = config.options.get("features"), config.options.get("classes")
    if not features or not classes:
        raise ValueError("imagenet-features needs --option features=PATH (.npz/.npy/.nc with labels) and --option classes=PATH (one class name per line)")
    assembly = load_features(features)
    if "label" not in assembly.coords:
        raise ValueError(f"imagenet-features: {features} has no labels; store them under 'labels' in the .npz (or a 'label' coord)")
    names = [line.strip() for line in Path(classes).read_text().splitlines() if line.strip()]
    labels = assembly.coords["label"].values.astype(int)
    if labels.min() < 0 or labels.max() >= len(names):
        raise ValueError(f"imagenet-features: labels run from {labels.min()} to {labels.max()} but {classes} names {len(names)} classes")
    values = assembly.values.astype(np.float32)
    train, test = train_test_split(np.arange(len(labels)), test_size=0.3, stratify=labels, random_state=int(config.options.get("split_seed", 0)))
    return values[train], labels[train], values[test], labels[test], names


def _prompts(names):
    from neurobridge.text import class_prompt_embeddings

    prompts = class_prompt_embeddings(names, templates=TEMPLATES)
    return prompts.values.astype(np.float32), prompts.coords["label"].values


def prepare(config: RunConfig) -> None:
    _image_latents(config) if config.experiment == "text-image" else _user_features(config)
    _prompts(DIGIT_NAMES)


def run(config: RunConfig, store: ResultStore) -> None:
    from neurobridge.align import Aligner
    from neurobridge.baselines import RegressionMap, SupervisedClassifier
    from neurobridge.bridges import Bridges
    from neurobridge.evaluate import prototype_readout

    pool, pool_labels, test, test_labels, names = _image_latents(config) if config.experiment == "text-image" else _user_features(config)
    target, target_labels = _prompts(names)
    prototypes = np.stack([target[target_labels == c].mean(0) for c in range(len(names))])
    proto_labels = np.arange(len(names))

    def recognise(points) -> float:
        return prototype_readout(prototypes, points, prototype_labels=proto_labels, test_labels=test_labels, metric="cosine").accuracy

    flow = {**FLOW, "steps": 300} if config.quick else FLOW
    for fraction, seed, method in tqdm(config.units(), desc=config.experiment, disable=not config.progress):
        if not store.claim(method, fraction, seed):
            continue
        start = time.perf_counter()
        bridges = Bridges.from_labels(pool_labels, target_labels, fraction, seed=seed)
        bs, bt = bridges.source_index, bridges.target_index
        if method in ("bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow"):
            coupling = "supervised" if method == "supervised-flow" else method
            aligner = Aligner(coupling, seed=seed, device=config.device, progress=False, **flow).fit(pool, target, bridges)
            samples = np.asarray(aligner.sample(test, n_samples=8))
            accuracy = recognise(samples.mean(1))
        elif method in ("ridge", "procrustes"):
            accuracy = recognise(RegressionMap(method).fit(pool[bs], target[bt]).transform(test))
        else:
            accuracy = SupervisedClassifier("logistic", seed=seed).fit(pool, pool_labels, labelled=bs).score(test, test_labels).accuracy
        store.add(method, fraction, seed, {"recognition_accuracy": accuracy, "n_bridges": len(bridges), "fit_seconds": time.perf_counter() - start})
