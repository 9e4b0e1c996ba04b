"""Figures: each metric against the labelled fraction, generated-image grids, 2-D embeddings.

The metric figures of a run read the same way everywhere: each method keeps one colour and one marker in every figure
(:func:`method_colors`, :func:`method_markers`; the markers keep the lines apart in greyscale), a dashed grey line marks
chance wherever it is known (:func:`~neurobridge.experiments.results.chance_levels`), the y axis starts at 0 (or
includes 0, for a signed correlation) unless its label says it does not, bookkeeping (counts, seconds) is not drawn,
and a method that is not an alignment of the frozen models is tagged in the legend with a caveat under the title.
"""
from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from neurobridge._io import atomic_write

__all__ = ["plot_metrics", "metric_figures", "method_colors", "method_markers", "plot_image_grid", "plot_embedding",
           "KIND_NOTES", "MARKERS", "CHANCE_COLOR"]

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")
"""Markers in method order: filled shapes that stay apart when the figure is printed in greyscale."""

CHANCE_COLOR = "0.45"
"""The chance line's grey; the method palettes leave out tab10's and tab20's greys so no method is mistaken for it."""

KIND_NOTES = {
    "end-to-end": ("end-to-end, reference",
                   "end-to-end: trained on the raw inputs of the same labelled points, without the frozen unimodal "
                   "models; a reference, not an alignment"),
    "reference": ("reference, no bridges", "reference: uses no bridges, so it has the same value at every fraction"),
}
"""Per method kind (:func:`~neurobridge.experiments.methods.method_kind`): the tag its legend entry carries and the
caveat under the title of a figure that shows it. An end-to-end model sees the same labelled points as the bridge
methods, but learns the task directly from raw inputs and never passes through the aligned spaces; a reference
measurement uses no bridges at all. Either sits beside the alignments for scale, not as a like-for-like competitor.
Flows and regression maps fitted on the bridges are the methods under comparison and carry no tag."""

_NON_NEGATIVE = ("image_top1", "image_top5", "neural_predictivity", "ceiling", "generation_frechet",
                 "generation_class_mse", "neural_predictivity_error")
_SIGNED = ("median_site_r", "neural_predictivity_raw")
_HIGHER_IS_BETTER = ("image_top1", "image_top5", "neural_predictivity", "median_site_r", "neural_predictivity_raw")
_LOWER_IS_BETTER = ("generation_frechet", "generation_class_mse")


def _pyplot():
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, *, tight: bool = True) -> Path:
    options = {"bbox_inches": "tight"} if tight else {}
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png", **options))


def _kind(method: str) -> str | None:
    from neurobridge.experiments.methods import method_kind

    try:
        return method_kind(method)
    except ValueError:
        return None


def _method_order(methods: Iterable[str]) -> list[str]:
    """The distinct ``methods`` in the method table's order: flows (in the package's coupling order), regression maps,
    end-to-end models, references; names the table does not know last, alphabetically."""
    from neurobridge.experiments.methods import END_TO_END, REFERENCES, REGRESSION_MAPS, flow_method_names

    tables = {"flow": flow_method_names(), "map": REGRESSION_MAPS, "end-to-end": tuple(END_TO_END), "reference": REFERENCES}
    kinds = list(tables)

    def key(name: str):
        kind = _kind(name)
        if kind not in tables or name not in tables[kind]:
            return (len(kinds), 0, name)
        return (kinds.index(kind), tables[kind].index(name), name)

    return sorted(dict.fromkeys(str(m) for m in methods), key=key)


def method_colors(methods: Iterable[str]) -> dict[str, tuple]:
    """One colour per method, the same whatever order ``methods`` come in: the methods in the method table's order
    take tab10 (up to nine methods) or tab20 (its ten dark shades first, then the light ones), greys left out (grey is
    the chance line's); past eighteen methods the colours repeat and :func:`method_markers` tells the methods apart.
    Pass the result as ``colors=`` to :func:`plot_metrics` to share it across calls."""
    from matplotlib import colormaps

    order = _method_order(methods)
    if len(order) <= 9:
        palette = [c for i, c in enumerate(colormaps["tab10"].colors) if i != 7]
    else:
        tab20 = [c for i, c in enumerate(colormaps["tab20"].colors) if i not in (14, 15)]
        palette = tab20[0::2] + tab20[1::2]
    return {m: tuple(palette[i % len(palette)]) for i, m in enumerate(order)}


def method_markers(methods: Iterable[str]) -> dict[str, str]:
    """One marker per method (:data:`MARKERS`), in the order of :func:`method_colors`: with up to twelve methods every
    marker differs, and a (colour, marker) pair is unique up to 36 methods."""
    return {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(_method_order(methods))}


def _chance_label(how: str, width: int = 45) -> str:
    """``how`` on at most two lines of ``width`` characters: a long one loses its trailing explanation first."""
    if len(how) > 2 * width:
        how = re.sub(r"(: .*| \([^()]*\))$", "", how)
    return textwrap.fill(textwrap.shorten(how, 2 * width, placeholder=" …"), width)


def _seeds(part: pd.DataFrame) -> str:
    counts = part.groupby(["method", "fraction"]).size()
    lo, hi = int(counts.min()), int(counts.max())
    n = f"{lo}" if lo == hi else f"{lo}–{hi}"
    return f"mean ± sd over seeds (n = {n})"


def _draw_chance(ax, experiment: str, settings: Mapping | None, table: pd.DataFrame, metric: str) -> None:
    from neurobridge.experiments.results import chance_levels

    chance, how = chance_levels(experiment, settings, table, metric)
    known = {f: v for f, v in chance.items() if v is not None}
    if not known:
        return
    style = {"color": CHANCE_COLOR, "linestyle": "--", "linewidth": 1.2, "zorder": 1, "label": _chance_label(how)}
    if len(set(known.values())) == 1 and len(known) == len(chance):
        ax.axhline(next(iter(known.values())), **style)
    else:
        fractions = sorted(known)
        ax.plot(fractions, [known[f] for f in fractions], drawstyle="steps-mid", marker="_", markersize=14, **style)


def _y_axis(ax, metric: str) -> str:
    """Start the y axis at 0 for a metric that cannot be negative and include 0 for a signed one; return the y label,
    which says which way is better and, where the axis leaves 0 out (a metric this module does not know), says so."""
    lo, hi = ax.get_ylim()
    if metric.endswith("_accuracy") or metric in _NON_NEGATIVE:
        ax.set_ylim(0, hi if hi > 0 else 1)
    elif metric in _SIGNED:
        ax.set_ylim(min(lo, 0), max(hi, 0))
    label = metric
    if metric.endswith("_accuracy") or metric in _HIGHER_IS_BETTER:
        label += " (higher is better)"
    elif metric in _LOWER_IS_BETTER:
        label += " (lower is better)"
    lo, hi = ax.get_ylim()
    if lo > 0:
        label += "\n(y axis does not start at 0)"
    elif hi < 0:
        label += "\n(y axis does not reach 0)"
    return label


def metric_figures(table: pd.DataFrame, *, metrics: Sequence[str] | None = None, settings: Mapping | None = None,
                   colors: Mapping[str, object] | None = None,
                   markers: Mapping[str, str] | None = None) -> Iterator[tuple[str, str, object]]:
    """``(experiment, metric, figure)`` per (experiment, metric) of ``table`` (long format, see
    :data:`~neurobridge.experiments.results.COLUMNS`): mean ± sd over seeds against the labelled fraction, one line
    per method. The caller closes each figure. Bookkeeping (``n_*`` counts, ``*_seconds`` times, see
    :func:`~neurobridge.experiments.results.is_bookkeeping`) is never drawn, even when ``metrics`` names it.

    ``settings``: the parsed ``run.json`` (experiment name -> its settings), from which the chance levels come;
    without it, only the chance levels the experiment's name or the results tell are drawn. ``colors``/``markers``: method -> colour
    or marker, shared by every figure (default :func:`method_colors` and :func:`method_markers` of the table's methods;
    given ``colors`` alone, the markers follow its methods' order); a method missing from either is a ValueError."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    from neurobridge.experiments.results import is_bookkeeping

    plt = _pyplot()
    colors = dict(colors) if colors is not None else method_colors(table["method"].unique())
    markers = dict(markers) if markers is not None else method_markers(list(colors))
    missing = sorted(set(table["method"].astype(str)) - (set(colors) & set(markers)))
    if missing:
        raise ValueError(f"no colour or marker for method{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         "build colors= (and markers=) from every method of the run, e.g. with method_colors")
    recorded = settings if isinstance(settings, Mapping) else {}
    for (experiment, metric), part in table.groupby(["experiment", "metric"]):
        if is_bookkeeping(metric) or (metrics is not None and metric not in metrics):
            continue
        kinds = {m: _kind(m) for m in part["method"].unique()}
        caveats = [KIND_NOTES[k][1] for k in KIND_NOTES if k in kinds.values()]
        lines = [line for caveat in caveats for line in textwrap.wrap(caveat, 100)]
        fig, ax = plt.subplots(figsize=(8.5, 4.0 + 0.15 * len(lines)))
        fig.subplots_adjust(left=0.1, right=0.64, bottom=0.13, top=0.9 - 0.035 * len(lines))
        for method in _method_order(part["method"].unique()):
            rows = part[part["method"] == method]
            stats = rows.groupby("fraction")["value"].agg(["mean", "std"]).reset_index()
            tag = KIND_NOTES.get(kinds[method], (None,))[0]
            ax.errorbar(stats["fraction"], stats["mean"], yerr=stats["std"].fillna(0), color=colors[method],
                        marker=markers[method], capsize=2, label=f"{method} ({tag})" if tag else method, zorder=2)
        _draw_chance(ax, experiment, recorded.get(experiment), table, metric)
        fractions = np.sort(part["fraction"].unique())
        log = len(fractions) > 1 and fractions.min() > 0
        if log:
            ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(fractions))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{f:g}" for f in fractions]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("labelled fraction (log scale)" if log else "labelled fraction")
        ax.set_ylabel(_y_axis(ax, metric))
        ax.set_title(f"{experiment}: {metric}", pad=6 + 9 * len(lines))
        if lines:
            ax.text(0.5, 1.015, "\n".join(lines), transform=ax.transAxes, ha="center", va="bottom", fontsize=7,
                    color="0.25")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title=_seeds(part), title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0)
        yield experiment, metric, fig


def plot_metrics(table: pd.DataFrame, out: str | os.PathLike, *, metrics: Sequence[str] | None = None,
                 settings: Mapping | None = None, colors: Mapping[str, object] | None = None,
                 markers: Mapping[str, str] | None = None) -> list[Path]:
    """One PNG per (experiment, metric), ``OUT/EXPERIMENT_METRIC.png``, as :func:`metric_figures` draws it (one
    colour and marker per method across all of them, chance lines from ``settings``, the parsed ``run.json``);
    bookkeeping columns get no figure. Returns the paths written."""
    plt = _pyplot()
    paths = []
    for experiment, metric, fig in metric_figures(table, metrics=metrics, settings=settings, colors=colors,
                                                  markers=markers):
        try:
            paths.append(_save(fig, Path(out) / f"{experiment}_{metric}.png", tight=False))
        finally:
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
