"""The frozen image models' own linear-probe ceilings: a logistic regression on the latent means with every label.

Run:  .venv/bin/python benchmarks/bench_frozen_models.py [--seeds 0,1,2] [--mnist-train 10000]

Digits: the split of ``neurobridge run digits`` (``load_data(split_seed=0)``: stratified, 30 % test); the image
model is trained on the unimodal training images without labels, the probe (scikit-learn ``LogisticRegression`` on
standardised latents, ``max_iter=5000``) is fitted on the training latents with their labels and scored on the test
split. Peers in the same run: the same probe on the raw pixels and on PCA-8 of the pixels. MNIST (``--mnist-train``,
needs the data folder): the conv VAE of the MNIST experiment on its first N training images, probed the same way on
the official test split (a subsample of N training images for the probe, stated in the output).
``--mnist-experiment``: the conv VAE that ``neurobridge run mnist`` itself uses (its full split: trained on the first
50,000 training images, loaded from the model cache when a run has trained it), probed on the latents of the 10,000
alignment-pool images with their labels and scored on the 10,000 test images.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def probe(train_z, train_y, test_z, test_y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    clf.fit(np.asarray(train_z, dtype=np.float64), train_y)
    return float(clf.score(np.asarray(test_z, dtype=np.float64), test_y))


def configs():
    from neurobridge.models.frozen import DIGITS_IMAGE_VAE

    return {"former default (MLP, 8-d, beta 1, 60 epochs)": {}, "DIGITS_IMAGE_VAE": DIGITS_IMAGE_VAE}


def digits(names, seed=0):
    from sklearn.decomposition import PCA

    from neurobridge.experiments.digits import load_data
    from neurobridge.models.vae import train_image_vae

    data = load_data(0)
    tr, ytr, te, yte = data.unimodal_images, data.unimodal_labels, data.test_images, data.test_labels
    def flat(a):
        return a.reshape(len(a), -1)
    print(f"digits: {len(tr)} training images (no labels to the image models), {len(te)} test images")
    print(f"  pixels (64-d) probe: {probe(flat(tr), ytr, flat(te), yte):.4f}")
    pca = PCA(8, random_state=0).fit(flat(tr))
    print(f"  PCA-8 of pixels probe: {probe(pca.transform(flat(tr)), ytr, pca.transform(flat(te)), yte):.4f}")
    for name in names:
        config = configs()[name]
        t, c = time.perf_counter(), time.process_time()
        model = train_image_vae(tr, config, seed=seed, device="cpu")
        sec, cpu = time.perf_counter() - t, time.process_time() - c
        acc = probe(model.encode(tr), ytr, model.encode(te), yte)
        print(f"  image VAE {name!r} {config}, seed {seed}: probe {acc:.4f}, trained in {sec:.1f} s wall, {cpu:.1f} s CPU")


def mnist(n_train):
    from neurobridge.assemblies import unflatten_pixels
    from neurobridge.datasets import load
    from neurobridge.models.vae import train_image_vae

    train, test = load("mnist", split="train"), load("mnist", split="test")
    xtr = unflatten_pixels(train).astype(np.float32)[:n_train]
    ytr = train.coords["label"].values[:n_train]
    xte = unflatten_pixels(test).astype(np.float32)
    yte = test.coords["label"].values
    t, c = time.perf_counter(), time.process_time()
    model = train_image_vae(xtr, {"epochs": 10}, seed=0, device="cpu")
    sec, cpu = time.perf_counter() - t, time.process_time() - c
    acc = probe(model.encode(xtr), ytr, model.encode(xte), yte)
    print(f"MNIST conv VAE (the experiment's config: 'large' defaults, 10 epochs, trained on the first {n_train} training images in {sec:.0f} s wall, {cpu:.0f} s CPU): "
          f"probe {acc:.4f} on the {len(yte)} test images (probe fitted on those {n_train} training latents)")


def mnist_experiment():
    import tempfile
    from pathlib import Path

    from neurobridge.experiments import mnist as experiment
    from neurobridge.experiments.config import RunConfig

    with tempfile.TemporaryDirectory() as out:
        config = RunConfig("mnist", (0.1,), (0,), ("auto",), Path(out), device="cpu", progress=False)
        t = time.perf_counter()
        context = experiment.setup(config)
        sec = time.perf_counter() - t
    data, spaces = context.data, context.spaces
    acc = probe(spaces.source_pool, data.pool_labels, spaces.test_source, data.test_labels)
    print(f"MNIST conv VAE of `neurobridge run mnist` (trained on {len(data.unimodal_images)} images; setup {sec:.0f} s "
          f"wall, cached models are loaded): probe {acc:.4f} on the {len(data.test_labels)} test images (probe fitted on "
          f"the {len(data.pool_labels)} pool latents)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--configs", default="")
    p.add_argument("--mnist-train", type=int, default=0)
    p.add_argument("--mnist-experiment", action="store_true")
    p.add_argument("--skip-digits", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", default="0")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names = [c for c in args.configs.split(",") if c] or list(configs())
    for seed in () if args.skip_digits else (int(v) for v in args.seeds.split(",")):
        digits(names, seed)
    if args.mnist_train:
        mnist(args.mnist_train)
    if args.mnist_experiment:
        mnist_experiment()


if __name__ == "__main__":
    main()
