"""Figures: each metric against the labelled fraction, generated-image grids, 2-D embeddings."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from neurobridge._io import atomic_write

__all__ = ["plot_metrics", "plot_image_grid", "plot_embedding"]


def _pyplot():
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, *, tight: bool = True) -> Path:
    options = {"bbox_inches": "tight"} if tight else {}
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png", **options))


def plot_metrics(table: pd.DataFrame, out: str | os.PathLike, *, metrics: Sequence[str] | None = None) -> list[Path]:
    """One PNG per (experiment, metric): mean ± sd over seeds against the labelled fraction, one line per method."""
    plt = _pyplot()
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    paths = []
    for (experiment, metric), part in table.groupby(["experiment", "metric"]):
        if metrics is not None and metric not in metrics:
            continue
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        fig.subplots_adjust(left=0.1, right=0.72, bottom=0.13, top=0.9)
        for method, rows in part.groupby("method"):
            stats = rows.groupby("fraction")["value"].agg(["mean", "std"]).reset_index()
            ax.errorbar(stats["fraction"], stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=2, label=method)
        fractions = np.sort(part["fraction"].unique())
        if len(fractions) > 1 and fractions.min() > 0:
            ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(fractions))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{f:g}" for f in fractions]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("labelled fraction")
        ax.set_ylabel(metric)
        ax.set_title(f"{experiment}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        paths.append(_save(fig, Path(out) / f"{experiment}_{metric}.png", tight=False))
        plt.close(fig)
    return paths


def plot_image_grid(images: np.ndarray, labels: np.ndarray, path: str | os.PathLike, *, per_class: int = 8, title: str = "") -> Path:
    """A grid with one row per class and ``per_class`` generated images in each row (one mosaic image, so drawing
    costs one ``imshow`` rather than one axes per image)."""
    plt = _pyplot()
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    classes = np.unique(labels)
    h, w = images.shape[1], images.shape[2]
    pad = max(1, h // 8)
    mosaic = np.ones((len(classes) * (h + pad) - pad, per_class * (w + pad) - pad), dtype=np.float32)
    for r, c in enumerate(classes):
        for k, i in enumerate(np.flatnonzero(labels == c)[:per_class]):
            mosaic[r * (h + pad): r * (h + pad) + h, k * (w + pad): k * (w + pad) + w] = np.clip(images[i], 0, 1)
    fig, ax = plt.subplots(figsize=(per_class * 0.7, len(classes) * 0.7))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([r * (h + pad) + h / 2 for r in range(len(classes))], [str(c) for c in classes], fontsize=8)
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)
    path = _save(fig, Path(path))
    plt.close(fig)
    return path


def plot_embedding(transported: np.ndarray, target: np.ndarray, labels_transported, labels_target, path: str | os.PathLike, *, title: str = "") -> Path:
    """PCA of the target space (fit on the true target points): true targets as dots, transported points as crosses."""
    from sklearn.decomposition import PCA

    plt = _pyplot()
    pca = PCA(n_components=2, random_state=0).fit(target)
    a, b = pca.transform(target), pca.transform(transported)
    fig, ax = plt.subplots(figsize=(5, 4))
    classes = np.unique(np.concatenate([np.asarray(labels_target), np.asarray(labels_transported)]))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for k, c in enumerate(classes):
        color = cmap(k % cmap.N)
        ax.scatter(*b[np.asarray(labels_transported) == c].T, s=14, color=color, marker="x", alpha=0.6, label=str(c))
        ax.scatter(*a[np.asarray(labels_target) == c].T, s=60, color=color, edgecolors="black", linewidths=0.6, zorder=3)
    ax.set_title(title or "transported (x) vs true target (dots), PCA of target")
    ax.legend(fontsize=6, ncol=2, markerscale=1.2)
    path = _save(fig, Path(path))
    plt.close(fig)
    return path
