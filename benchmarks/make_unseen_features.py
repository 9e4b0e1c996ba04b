"""Features files for label-matched problems the package was not tuned on, for ``neurobridge run imagenet-features``.

Writes, for each data set, ``OUT/<name>.npz`` (``features``: PCA-50 of the pixels of 3,000 seeded test images,
``labels``) and ``OUT/<name>_classes.txt`` (one class name per line):

- ``fashion``: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), read from the IDX files of Debian's
  ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``) or ``--fashion DIR``;
- ``mnist``: MNIST's test images through the package's own loader (the data search path).

Then, for example::

    neurobridge run imagenet-features --option features=OUT/fashion.npz --option classes=OUT/fashion_classes.txt \\
        --fractions 0.01,0.05,0.1,0.2 --methods auto,bridge-ot,ridge,e2e-logreg,supervised-flow --out results/fashion
"""
from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import numpy as np

FASHION = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _idx(path: Path) -> np.ndarray:
    """An IDX array (LeCun's format: magic with the dtype code and rank, big-endian sizes, then the data)."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} values")
    return data.reshape(shape)


def _pca_features(pixels: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    rows = np.sort(np.random.default_rng(seed).choice(len(pixels), size=n, replace=False))
    x = pixels[rows].reshape(n, -1).astype(np.float32) / 255.0
    return PCA(n_components=50, random_state=seed).fit_transform(x).astype(np.float32), labels[rows].astype(np.int64)


def _write(out: Path, name: str, features: np.ndarray, labels: np.ndarray, classes) -> None:
    tmp = out / f".{name}.npz.tmp.npz"
    np.savez(tmp, features=features, labels=labels)
    os.replace(tmp, out / f"{name}.npz")
    (out / f"{name}_classes.txt").write_text("\n".join(classes) + "\n")
    print(f"{out / (name + '.npz')}: {features.shape[0]} images x {features.shape[1]} features, {len(classes)} classes")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fashion", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    images, labels = args.fashion / "t10k-images-idx3-ubyte.gz", args.fashion / "t10k-labels-idx1-ubyte.gz"
    if images.is_file() and labels.is_file():
        _write(args.out, "fashion", *_pca_features(_idx(images), _idx(labels), args.n, args.seed), FASHION)
    else:
        print(f"no Fashion-MNIST IDX files in {args.fashion} (apt-get install dataset-fashion-mnist, or --fashion DIR)")
    import neurobridge as nb

    mnist = nb.load("mnist", split="test")
    _write(args.out, "mnist", *_pca_features(mnist.values.reshape(len(mnist), 28, 28) * (255.0 if mnist.values.max() <= 1 else 1.0),
                                              mnist.coords["label"].values, args.n, args.seed), DIGITS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
