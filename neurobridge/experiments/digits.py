"""``neurobridge run digits``: scikit-learn's 8x8 digits, image latents <-> label latents (the embedded default).

Split (stratified, fixed ``split_seed=0``): 30 % test; the other 70 % are both the unimodal training images (no
labels are used by the image VAE) and the alignment pool whose labelled fraction gives the bridges. The label VAE and
the judging classifier see the unimodal labels, as pretrained unimodal models would. Flows use a concatenation MLP
(width 128, depth 3, 600 steps) so the full default sweep fits in about two minutes on two CPU cores.
"""
from __future__ import annotations

import numpy as np

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.image_label import ImageLabelData, runner_for

__all__ = ["run", "load_data", "FLOW", "FLOW_QUICK"]

FLOW = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 128, "depth": 3}}, "steps": 600, "batch_size": 256, "lr": 2e-3}
FLOW_QUICK = {**FLOW, "steps": 300}


def load_data(split_seed: int = 0, test_fraction: float = 0.3) -> ImageLabelData:
    from sklearn.model_selection import train_test_split

    from neurobridge.assemblies import unflatten_pixels
    from neurobridge.datasets import load

    digits = load("digits")
    images = unflatten_pixels(digits).astype(np.float32)
    labels = digits.coords["label"].values
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=split_seed)
    return ImageLabelData("digits", images[train], labels[train], images[train], labels[train], images[test], labels[test])


def _setup(config: RunConfig):
    data = load_data(int(config.options.get("split_seed", 0)))
    return data, {"cnn": {"epochs": 15}}, (FLOW_QUICK if config.quick else FLOW)


run, prepare = runner_for(_setup)
