"""Image <-> label alignment (digits, MNIST): the paper's artificial-to-artificial setting.

Two frozen unimodal models: an image VAE (source space: its latent means) and a label VAE on one-hot labels (target
space). The data are split once per experiment into

- unimodal data, which train the two VAEs and the independent classifier that judges generated images;
- the alignment pool: unpaired images (source) and, separately, label codes (target); a labelled fraction of the pool
  images are the bridges, each paired with a target point of its class;
- the test set.

Per (labelled fraction, seed) every method sees the same bridges:

- recognition (image -> label): transport test-image latents into the label space and read them out with the label
  VAE's own decoder (argmax); the end-to-end baselines classify the test images directly;
- generation (label -> image): transport label codes of the test labels into the image latent space, decode them
  with the image VAE, and judge them with the independent classifier (accuracy), the per-class MSE of class means and
  a Frechet distance in the classifier's penultimate features (vs real test images).

The reference models are trained once per experiment (``model_seed``, default 0) and cached; ``seed`` varies the
bridges, the flows and the baselines.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.units import Experiment

__all__ = ["ImageLabelData", "Spaces", "ImageLabelContext", "ImageLabelExperiment", "build_spaces", "READOUT_SAMPLES"]

READOUT_SAMPLES = 16


@dataclass
class ImageLabelData:
    """Images in [0, 1] ``(n, H, W)`` with integer labels, split into unimodal, pool and test parts."""

    name: str
    unimodal_images: np.ndarray
    unimodal_labels: np.ndarray
    pool_images: np.ndarray
    pool_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass
class Spaces:
    """The frozen reference models and the latents every method shares."""

    image_vae: object
    label_vae: object
    classifier: object
    source_pool: np.ndarray
    target_pool: np.ndarray
    target_pool_labels: np.ndarray
    test_source: np.ndarray
    test_target: np.ndarray


@dataclass
class ImageLabelContext:
    """What every unit of an image-label run shares: the data splits and the frozen spaces."""

    name: str
    data: ImageLabelData
    spaces: Spaces


def build_spaces(data: ImageLabelData, config: RunConfig, model_configs: dict, model_seed: int = 0, *,
                 image_model: str = "image_vae") -> Spaces:
    """Train (or load from the cache) the frozen image model, label VAE and judging classifier; encode the pools."""
    from neurobridge.models import get_or_train

    progress = config.progress
    image_vae = get_or_train(image_model, data.unimodal_images, model_configs.get(image_model), model_seed, device=config.device, progress=progress)
    label_vae = get_or_train("label_vae", data.unimodal_labels, model_configs.get("label_vae"), model_seed, device=config.device, progress=progress)
    classifier = get_or_train("classifier", (data.unimodal_images, data.unimodal_labels), model_configs.get("classifier"), model_seed,
                              device=config.device, progress=progress)
    rng = np.random.default_rng(model_seed)
    target_labels = rng.choice(data.unimodal_labels, size=len(data.pool_labels), replace=len(data.pool_labels) > len(data.unimodal_labels))
    return Spaces(
        image_vae=image_vae,
        label_vae=label_vae,
        classifier=classifier,
        source_pool=np.asarray(image_vae.encode(data.pool_images), dtype=np.float32),
        target_pool=np.asarray(label_vae.encode(target_labels), dtype=np.float32),
        target_pool_labels=np.asarray(target_labels),
        test_source=np.asarray(image_vae.encode(data.test_images), dtype=np.float32),
        test_target=np.asarray(label_vae.encode(data.test_labels), dtype=np.float32),
    )


def _reverse(bridges):
    from neurobridge.bridges import Bridges

    return Bridges.from_indices(bridges.target_index, bridges.source_index, bridges.labels,
                                n_source=bridges.n_target, n_target=bridges.n_source, match=bridges.match)


def _generation(images, labels, spaces: Spaces, data: ImageLabelData) -> dict:
    from neurobridge.evaluate import generation_metrics

    result = generation_metrics(np.clip(images, 0.0, 1.0), labels, spaces.classifier, data.test_images, data.test_labels)
    return {"generation_accuracy": result.accuracy, "generation_class_mse": result.mse, "generation_frechet": result.frechet_distance}


def _vote(method, spaces: Spaces) -> tuple[np.ndarray, np.ndarray]:
    """Class with the highest mean decoded probability over ``READOUT_SAMPLES`` draws of ``p(y | x)``,
    ``p(c | x) = E_{y ~ p(y | x)} softmax(decoder(y))_c``, and the mean of those draws (for the embedding figure)."""
    samples = np.asarray(method.sample(spaces.test_source, n_samples=READOUT_SAMPLES))
    logits = np.asarray(spaces.label_vae.decode(samples.reshape(-1, samples.shape[-1])))
    logits = logits.reshape(samples.shape[0], READOUT_SAMPLES, -1)
    logits -= logits.max(-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(-1, keepdims=True)
    return spaces.label_vae.classes_[probs.mean(1).argmax(1)], samples.mean(1)


def _pair_sampler(aligner):
    """The sampler of (source, target) pairs the flow trained on, or None where the coupling gives none."""
    sampler = getattr(aligner, "sampler_", None)
    if sampler is not None:
        return sampler
    coupling = getattr(aligner, "coupling_", None)
    return coupling.pair_sampler() if hasattr(coupling, "pair_sampler") else None


class ImageLabelExperiment(Experiment):
    """Image <-> label alignment on one data set: ``load_data(config)`` gives the splits, ``models(config)`` the
    reference-model (and end-to-end baseline) settings, ``flow(config)`` the flow settings, and ``image_model`` the
    kind of frozen image model (:func:`neurobridge.models.get_or_train`)."""

    def __init__(self, name: str, *, load_data: Callable[[RunConfig], ImageLabelData], models: Callable[[RunConfig], dict],
                 flow: Callable[[RunConfig], dict], image_model: str = "image_vae", data_settings: Callable[[RunConfig], dict] | None = None):
        self.name = name
        self.load_data = load_data
        self.models = models
        self.flow = flow
        self.image_model = image_model
        self.data_settings = data_settings or (lambda config: {})

    def settings(self, config: RunConfig) -> dict:
        from neurobridge import models

        kinds = (self.image_model, "label_vae", "classifier")
        defaults = {kind: getattr(models, f"{kind.upper()}_DEFAULTS", None) for kind in kinds}
        return {"data": {"name": self.name, **self.data_settings(config)}, "image_model": self.image_model,
                "model_defaults": defaults,
                "model_seed": int(config.options.get("model_seed", 0)), "models": self.models(config),
                "flow": self.flow(config), "readout_samples": READOUT_SAMPLES}

    def setup(self, config: RunConfig) -> ImageLabelContext:
        data = self.load_data(config)
        spaces = build_spaces(data, config, self.models(config), int(config.options.get("model_seed", 0)), image_model=self.image_model)
        return ImageLabelContext(config.experiment, data, spaces)

    def bridges(self, context: ImageLabelContext, fraction: float, seed: int):
        from neurobridge.bridges import Bridges

        return Bridges.from_labels(context.data.pool_labels, context.spaces.target_pool_labels, fraction, seed=seed)

    def tasks(self, context: ImageLabelContext, method: str, bridges) -> list[tuple]:
        from neurobridge.experiments.methods import method_kind

        spaces, data = context.spaces, context.data
        if method_kind(method) == "end-to-end":
            return [("recognition", data.pool_images, data.pool_labels, bridges)]
        return [("recognition", spaces.source_pool, spaces.target_pool, bridges),
                ("generation", spaces.target_pool, spaces.source_pool, _reverse(bridges))]

    def evaluate(self, context: ImageLabelContext, task: str, fitted, bridges, unit) -> tuple[dict, dict]:
        from neurobridge.couplings import match_accuracy
        from neurobridge.experiments.plots import plot_embedding, plot_image_grid

        spaces, data = context.spaces, context.data
        prefix = f"{context.name}_{{}}_{unit.method}_f{unit.fraction:g}.png"
        metrics, figures, images = {}, {}, None
        if task == "recognition" and fitted.kind == "flow":
            predicted, transported = _vote(fitted, spaces)
            metrics["recognition_accuracy"] = float(np.mean(predicted == data.test_labels))
            sampler = _pair_sampler(fitted.aligner_)
            if sampler is not None:
                src, tgt = sampler.sample(2048, np.random.default_rng(unit.seed))
                metrics["coupling_match_accuracy"] = float(match_accuracy(src, tgt, data.pool_labels, spaces.target_pool_labels))
            figures[prefix.format("embedding")] = lambda path: plot_embedding(
                transported, spaces.test_target, data.test_labels, data.test_labels, path,
                title=f"{unit.method}, f={unit.fraction:g}: transported test images (x) vs label codes (dots)")
        elif task == "recognition" and fitted.kind == "map":
            predicted = spaces.label_vae.predict(fitted.transform(spaces.test_source))
            metrics["recognition_accuracy"] = float(np.mean(predicted == data.test_labels))
        elif task == "recognition":
            metrics["recognition_accuracy"] = float(np.mean(fitted.predict(data.test_images) == data.test_labels))
            if fitted.generates:
                images = fitted.generate(data.test_labels)
        else:
            images = np.asarray(spaces.image_vae.decode(fitted.transform(spaces.test_target)))
        if images is not None:
            metrics.update(_generation(images, data.test_labels, spaces, data))
            figures[prefix.format("generated")] = lambda path: plot_image_grid(
                images, data.test_labels, path, title=f"{context.name}: {unit.method}, labelled fraction {unit.fraction:g}")
        return metrics, figures
