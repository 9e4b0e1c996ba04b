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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.units import Experiment

__all__ = ["TEXT_IMAGE", "IMAGENET_FEATURES", "TextImageExperiment", "TEMPLATES"]

TEMPLATES = (
    "a photo of a {}.", "a picture of the number {}.", "a handwritten digit {}.", "an image showing {}.",
    "a drawing of a {}.", "a scan of the digit {}.", "the number {}.", "a blurry photo of a {}.",
)
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 256, "depth": 3}}, "steps": 600, "batch_size": 256, "lr": 2e-3}


def _image_experiment(config: RunConfig):
    from neurobridge.experiments import digits, mnist

    source = config.options.get("source", "digits")
    if source not in ("digits", "mnist"):
        raise ValueError(f"text-image: option source must be 'digits' or 'mnist'; got {source!r}")
    return digits if source == "digits" else mnist


def _image_latents(config: RunConfig):
    """(pool, pool_labels, test, test_labels, class names) from the image model of the digits or MNIST experiment."""
    context = _image_experiment(config).setup(config)
    return context.spaces.source_pool, context.data.pool_labels, context.spaces.test_source, context.data.test_labels, list(DIGIT_NAMES)


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


def _fingerprint(path) -> dict | None:
    """The path and the sha1 of the file's bytes, so that a changed file at the same path changes the units' keys."""
    import hashlib

    if not path or not Path(path).is_file():
        return None if not path else {"path": str(path)}
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "sha1": digest.hexdigest()}


@dataclass
class TextImageContext:
    pool: np.ndarray
    pool_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    target: np.ndarray
    target_labels: np.ndarray
    prototypes: np.ndarray


class TextImageExperiment(Experiment):
    """Image representations -> text embeddings of class prompts; recognition by the nearest class prompt."""

    def __init__(self, name: str):
        self.name = name

    def settings(self, config: RunConfig) -> dict:
        if self.name == "text-image":
            image = _image_experiment(config).EXPERIMENT.settings(config)
            source = {k: v for k, v in image.items() if k != "flow"}
        else:
            source = {"features": _fingerprint(config.options.get("features")), "classes": _fingerprint(config.options.get("classes")),
                      "split_seed": int(config.options.get("split_seed", 0)), "test_fraction": 0.3}
        return {"source": source, "templates": list(TEMPLATES), "flow": {**FLOW, "steps": 300} if config.quick else FLOW,
                "models": {}, "transform_samples": 8}

    def setup(self, config: RunConfig) -> TextImageContext:
        pool, pool_labels, test, test_labels, names = _image_latents(config) if self.name == "text-image" else _user_features(config)
        target, target_labels = _prompts(names)
        prototypes = np.stack([target[target_labels == c].mean(0) for c in range(len(names))])
        return TextImageContext(pool, pool_labels, test, test_labels, target, target_labels, prototypes)

    def bridges(self, context: TextImageContext, fraction: float, seed: int):
        from neurobridge.bridges import Bridges

        return Bridges.from_labels(context.pool_labels, context.target_labels, fraction, seed=seed)

    def tasks(self, context: TextImageContext, method: str, bridges) -> list[tuple]:
        from neurobridge.experiments.methods import method_kind

        if method_kind(method) == "end-to-end":
            return [("recognition", context.pool, context.pool_labels, bridges)]
        return [("recognition", context.pool, context.target, bridges)]

    def evaluate(self, context: TextImageContext, task: str, fitted, bridges, unit) -> tuple[dict, dict]:
        from neurobridge.evaluate import prototype_readout

        if fitted.kind == "end-to-end":
            return {"recognition_accuracy": float(np.mean(fitted.predict(context.test) == context.test_labels))}, {}
        if fitted.kind == "flow":
            points = np.asarray(fitted.sample(context.test, n_samples=8)).mean(1)
        else:
            points = fitted.transform(context.test)
        accuracy = prototype_readout(context.prototypes, points, prototype_labels=np.arange(len(context.prototypes)),
                                     test_labels=context.test_labels, metric="cosine").accuracy
        return {"recognition_accuracy": accuracy}, {}


TEXT_IMAGE = TextImageExperiment("text-image")
IMAGENET_FEATURES = TextImageExperiment("imagenet-features")
