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

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.results import ResultStore

__all__ = ["ImageLabelData", "Spaces", "FLOW_METHODS", "run_image_label", "runner_for"]

FLOW_METHODS = {"bridge-ot": "bridge-ot", "minibatch-bridge-ot": "minibatch-bridge-ot", "exemplar": "exemplar", "supervised-flow": "supervised"}
MAP_METHODS = {"ridge": "ridge", "pls": "pls", "procrustes": "procrustes"}


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


def build_spaces(data: ImageLabelData, config: RunConfig, model_configs: dict, model_seed: int = 0) -> Spaces:
    from neurobridge.models import get_or_train

    progress = config.progress
    image_vae = get_or_train("image_vae", data.unimodal_images, model_configs.get("image_vae"), model_seed, device=config.device, progress=progress)
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


READOUT_SAMPLES = 16


def _vote(aligner, spaces: Spaces) -> tuple[np.ndarray, np.ndarray]:
    """Class with the highest mean decoded probability over ``READOUT_SAMPLES`` draws of ``p(y | x)``,
    ``p(c | x) = E_{y ~ p(y | x)} softmax(decoder(y))_c``, and the mean of those draws (for the embedding figure)."""
    samples = np.asarray(aligner.sample(spaces.test_source, n_samples=READOUT_SAMPLES))
    logits = np.asarray(spaces.label_vae.decode(samples.reshape(-1, samples.shape[-1])))
    logits = logits.reshape(samples.shape[0], READOUT_SAMPLES, -1)
    logits -= logits.max(-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(-1, keepdims=True)
    return spaces.label_vae.classes_[probs.mean(1).argmax(1)], samples.mean(1)


def _flow_unit(method: str, bridges, spaces: Spaces, data: ImageLabelData, seed: int, flow: dict, device: str) -> tuple[dict, dict]:
    from neurobridge.align import Aligner
    from neurobridge.couplings import match_accuracy

    metrics = {}
    start = time.perf_counter()
    forward = Aligner(FLOW_METHODS[method], seed=seed, device=device, progress=False, **flow).fit(spaces.source_pool, spaces.target_pool, bridges)
    predicted, transported = _vote(forward, spaces)
    metrics["recognition_accuracy"] = float(np.mean(predicted == data.test_labels))
    src, tgt = forward.sampler_.sample(2048, np.random.default_rng(seed))
    metrics["coupling_match_accuracy"] = float(match_accuracy(src, tgt, data.pool_labels, spaces.target_pool_labels))
    backward = Aligner(FLOW_METHODS[method], seed=seed, device=device, progress=False, **flow).fit(spaces.target_pool, spaces.source_pool, _reverse(bridges))
    latents = backward.transform(spaces.test_target)
    images = np.asarray(spaces.image_vae.decode(latents))
    metrics.update(_generation(images, data.test_labels, spaces, data))
    metrics["fit_seconds"] = time.perf_counter() - start
    return metrics, {"images": images, "transported": transported}


def _map_unit(method: str, bridges, spaces: Spaces, data: ImageLabelData) -> tuple[dict, dict]:
    from neurobridge.baselines import RegressionMap

    start = time.perf_counter()
    bs, bt = bridges.source_index, bridges.target_index
    kwargs = {"n_components": min(10, len(bs) - 1, spaces.source_pool.shape[1], spaces.target_pool.shape[1])} if method == "pls" else {}
    forward = RegressionMap(MAP_METHODS[method], **kwargs).fit(spaces.source_pool[bs], spaces.target_pool[bt])
    metrics = {"recognition_accuracy": float(np.mean(spaces.label_vae.predict(forward.transform(spaces.test_source)) == data.test_labels))}
    backward = RegressionMap(MAP_METHODS[method], **kwargs).fit(spaces.target_pool[bt], spaces.source_pool[bs])
    images = np.asarray(spaces.image_vae.decode(backward.transform(spaces.test_target)))
    metrics.update(_generation(images, data.test_labels, spaces, data))
    metrics["fit_seconds"] = time.perf_counter() - start
    return metrics, {"images": images}


def _e2e_unit(method: str, bridges, spaces: Spaces, data: ImageLabelData, seed: int, device: str, configs: dict) -> tuple[dict, dict]:
    from neurobridge.baselines import FusedVAE, SupervisedClassifier

    start = time.perf_counter()
    labelled = np.asarray(bridges.source_index)
    extras = {}
    if method == "e2e-logreg":
        n = len(data.pool_images)
        model = SupervisedClassifier("logistic", seed=seed).fit(data.pool_images.reshape(n, -1), data.pool_labels, labelled=labelled)
        metrics = {"recognition_accuracy": model.score(data.test_images.reshape(len(data.test_images), -1), data.test_labels).accuracy}
    elif method == "e2e-cnn":
        model = SupervisedClassifier("cnn", seed=seed, device=device, config=configs.get("cnn")).fit(data.pool_images, data.pool_labels, labelled=labelled)
        metrics = {"recognition_accuracy": model.score(data.test_images, data.test_labels).accuracy}
    else:
        model = FusedVAE(seed=seed, device=device, **configs.get("fused_vae", {})).fit(data.pool_images, data.pool_labels, labelled=labelled)
        metrics = {"recognition_accuracy": model.score(data.test_images, data.test_labels).accuracy}
        images = np.asarray(model.generate(data.test_labels))
        metrics.update(_generation(images, data.test_labels, spaces, data))
        extras["images"] = images
    metrics["fit_seconds"] = time.perf_counter() - start
    return metrics, extras


def run_image_label(config: RunConfig, store: ResultStore, data: ImageLabelData, *, model_configs: dict, flow: dict) -> None:
    """Run every (fraction, seed, method) unit not yet in ``store``; figures for the first seed go to ``out/figures``."""
    from neurobridge.bridges import Bridges
    from neurobridge.experiments.plots import plot_embedding, plot_image_grid

    spaces = build_spaces(data, config, model_configs, int(config.options.get("model_seed", 0)))
    units = config.units()
    bar = tqdm(units, desc=config.experiment, disable=not config.progress)
    for fraction, seed, method in bar:
        if not store.claim(method, fraction, seed):
            continue
        bar.set_postfix_str(f"{method} f={fraction:g} seed={seed}")
        bridges = Bridges.from_labels(data.pool_labels, spaces.target_pool_labels, fraction, seed=seed)
        if method in FLOW_METHODS:
            metrics, extras = _flow_unit(method, bridges, spaces, data, seed, flow, config.device)
        elif method in MAP_METHODS:
            metrics, extras = _map_unit(method, bridges, spaces, data)
        else:
            metrics, extras = _e2e_unit(method, bridges, spaces, data, seed, config.device, model_configs)
        metrics["n_bridges"] = len(bridges)
        store.add(method, fraction, seed, metrics)
        if seed == config.seeds[0] and "images" in extras:
            figures = config.out / "figures"
            plot_image_grid(extras["images"], data.test_labels, figures / f"{config.experiment}_generated_{method}_f{fraction:g}.png",
                            title=f"{config.experiment}: {method}, labelled fraction {fraction:g}")
            if "transported" in extras:
                plot_embedding(extras["transported"], spaces.test_target, data.test_labels, data.test_labels,
                               figures / f"{config.experiment}_embedding_{method}_f{fraction:g}.png",
                               title=f"{method}, f={fraction:g}: transported test images (x) vs label codes (dots)")


def runner_for(setup):
    """``run`` and ``prepare`` functions for an experiment whose ``setup(config)`` returns
    ``(data, model_configs, flow)``."""

    def run(config: RunConfig, store: ResultStore) -> None:
        data, model_configs, flow = setup(config)
        run_image_label(config, store, data, model_configs=model_configs, flow=flow)

    def prepare(config: RunConfig) -> None:
        """Train (or find in the cache) the reference models before parallel workers start."""
        data, model_configs, _ = setup(config)
        build_spaces(data, config, model_configs, int(config.options.get("model_seed", 0)))

    return run, prepare
