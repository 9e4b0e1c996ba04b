"""Decoding performance against the number of recorded sites (the site-count analysis of Majaj et al. 2015).

Majaj, Hong, Solomon & DiCarlo (2015, J. Neurosci. 35:13402) ask how well a linear read-out of ``n`` IT (or V4)
sites recognises objects, and how that grows with ``n``. :func:`decoding_curve` repeats, for every ``n`` in
``n_sites`` and every draw ``r = 1..repeats``:

1. draw ``n`` sites uniformly without replacement (a seeded :class:`numpy.random.Generator`);
2. cross-validate a classifier of ``label`` on those columns: every row is predicted once, by a classifier fitted on
   the other folds (the same folds for every draw, so the spread over draws is the spread over site samples);
3. from the pooled predictions, the accuracy :math:`\\frac1N \\sum_i [\\hat y_i = y_i]` and the sensitivity

   .. math:: d' = \\frac1C \\sum_c \\left( Z(H_c) - Z(F_c) \\right), \\qquad
             H_c = P(\\hat y = c \\mid y = c), \\quad F_c = P(\\hat y = c \\mid y \\ne c),

   ``Z`` the standard normal quantile, each rate clipped to :math:`[\\tfrac{1}{2N}, 1 - \\tfrac{1}{2N}]` with
   ``N`` the number of rows it is estimated from (the usual correction for rates of 0 and 1; Macmillan &
   Creelman 2005). This is the one-vs-rest d' per class averaged over the ``C`` classes.

The result (:class:`DecodingCurve`) holds accuracy and d' per (``n_sites``, ``draw``) as labelled
:class:`xarray.DataArray` objects, a mean/sd table, and :meth:`DecodingCurve.plot`.

Transported points. ``Aligner.transform`` returns an assembly with the source's presentation coords (so the labels)
and the target's neuroid coords: ``decoding_curve(aligner.transform(model_features), label=...)`` decodes "the model
aligned to IT" exactly as ``decoding_curve(it, label=...)`` decodes IT, and :func:`plot_decoding_curves` draws both.

Data. On the 25-image slice most objects have one image, so decode ``category_name`` from single trials
(``average=False`` data, 700 rows): the folds then share images, which measures trial-to-trial decodability. On the
public data (3,200 images, 64 objects x 50 images) decode ``object_name`` or ``category_name`` from
repetition-averaged responses with ``groups=None`` (each image once), as Majaj et al. did.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, AssemblyError, select_time_bin, validate

__all__ = ["CLASSIFIERS", "DecodingCurve", "decoding_curve", "dprime", "plot_decoding_curves"]

CLASSIFIERS = ("logistic", "linear-svm", "nearest-centroid")


@dataclass(frozen=True, repr=False)
class DecodingCurve:
    """Cross-validated decoding of ``label`` from ``n`` randomly drawn sites.

    ``accuracy`` and ``dprime``: dims ``n_sites x draw``; ``sites``: the drawn site indices (``n_sites x draw x
    site``, -1 padded); ``chance``: the accuracy of always guessing the most frequent class.
    """

    accuracy: xr.DataArray
    dprime: xr.DataArray
    sites: xr.DataArray
    label: str
    classifier: str
    n_classes: int
    n_rows: int
    chance: float
    cv: str
    seed: int

    def to_dataframe(self) -> pd.DataFrame:
        """Mean and sd over draws per site count: columns n_sites, accuracy_mean, accuracy_sd, dprime_mean, dprime_sd."""
        return pd.DataFrame(
            {
                "n_sites": self.accuracy.coords["n_sites"].values,
                "accuracy_mean": self.accuracy.mean("draw").values,
                "accuracy_sd": self.accuracy.std("draw", ddof=1).values if self.accuracy.sizes["draw"] > 1 else 0.0,
                "dprime_mean": self.dprime.mean("draw").values,
                "dprime_sd": self.dprime.std("draw", ddof=1).values if self.dprime.sizes["draw"] > 1 else 0.0,
            }
        )

    def to_dataset(self) -> xr.Dataset:
        """Accuracy and d' per draw as one labelled :class:`xarray.Dataset` (settings in ``attrs``)."""
        return xr.Dataset(
            {"accuracy": self.accuracy, "dprime": self.dprime},
            attrs={"label": self.label, "classifier": self.classifier, "n_classes": self.n_classes,
                   "n_rows": self.n_rows, "chance": self.chance, "cv": self.cv, "seed": self.seed},
        )

    def plot(self, ax=None, *, metric: str = "accuracy", name: str | None = None):
        """Mean +/- sd over draws against the number of sites (log x); returns the figure."""
        return plot_decoding_curves({name or self.label: self}, ax=ax, metric=metric)

    def __repr__(self) -> str:
        table = self.to_dataframe()
        last = table.iloc[-1]
        return (
            f"DecodingCurve(label={self.label!r}, {self.n_classes} classes, {self.n_rows} rows, classifier="
            f"{self.classifier!r}, cv={self.cv}, {self.accuracy.sizes['draw']} draws per site count; at "
            f"{int(last.n_sites)} sites accuracy {last.accuracy_mean:.3f} +/- {last.accuracy_sd:.3f} (chance "
            f"{self.chance:.3f}), d' {last.dprime_mean:.2f})"
        )


def dprime(y_true: Sequence, y_pred: Sequence, classes: Sequence | None = None) -> float:
    """One-vs-rest d' averaged over classes (module docstring): ``mean_c Z(H_c) - Z(F_c)``, rates clipped."""
    from scipy.stats import norm

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"dprime: y_true and y_pred must be 1-D of the same non-zero length; got {y_true.shape} and {y_pred.shape}")
    classes = np.unique(y_true) if classes is None else np.asarray(classes)
    if len(classes) < 2:
        raise ValueError(f"dprime: needs at least 2 classes in y_true; got {classes.tolist()}")
    values = []
    for c in classes:
        positive = y_true == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        hit = np.clip((y_pred[positive] == c).mean(), 1 / (2 * n_pos), 1 - 1 / (2 * n_pos))
        false_alarm = np.clip((y_pred[~positive] == c).mean(), 1 / (2 * n_neg), 1 - 1 / (2 * n_neg))
        values.append(norm.ppf(hit) - norm.ppf(false_alarm))
    return float(np.mean(values))


def _classifier(classifier):
    from sklearn.base import clone

    if isinstance(classifier, str):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if classifier == "logistic":
            from sklearn.linear_model import LogisticRegression

            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        if classifier == "linear-svm":
            from sklearn.svm import LinearSVC

            return make_pipeline(StandardScaler(), LinearSVC(max_iter=20000))
        if classifier == "nearest-centroid":
            from sklearn.neighbors import NearestCentroid

            return make_pipeline(StandardScaler(), NearestCentroid())
        raise ValueError(f"classifier={classifier!r} is not supported; choose one of {list(CLASSIFIERS)} or pass an sklearn classifier")
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict")):
        raise ValueError(f"classifier must be one of {list(CLASSIFIERS)} or an estimator with fit/predict; got {classifier!r}")
    return clone(classifier)


def _folds(cv, labels: np.ndarray, groups: np.ndarray | None, seed: int, label: str):
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral):
        if hasattr(cv, "split"):
            return list(cv.split(np.zeros(len(labels)), labels, groups)), repr(cv)
        raise ValueError(f"cv must be an integer number of folds >= 2 or an sklearn splitter; got {cv!r}")
    if cv < 2:
        raise ValueError(f"cv must be at least 2 folds; got {cv}")
    _, counts = np.unique(labels, return_counts=True)
    unit = "rows"
    if groups is not None:
        frame = pd.DataFrame({"label": labels, "group": groups}).drop_duplicates()
        if frame["group"].duplicated().any():
            raise AssemblyError(f"groups: some group holds rows of different {label!r} values; a group must have one label")
        counts = frame["label"].value_counts().to_numpy()
        unit = "groups"
    if counts.min() < cv:
        raise ValueError(
            f"label={label!r}: the smallest class has {counts.min()} {unit}, fewer than cv={cv} folds; lower cv, "
            "drop the rare classes, or decode a coarser label (e.g. category_name)"
        )
    if groups is None:
        splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels)), f"StratifiedKFold({cv})"
    splitter = StratifiedGroupKFold(n_splits=int(cv), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels, groups)), f"StratifiedGroupKFold({cv})"


def _check_count(argument: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def decoding_curve(
    assembly: xr.DataArray,
    *,
    label: str = "object_name",
    n_sites: Sequence[int] | None = None,
    repeats: int = 10,
    classifier: str | Any = "logistic",
    cv: int | Any = 5,
    seed: int = 0,
    groups: str | None = None,
) -> DecodingCurve:
    """Cross-validated accuracy and d' of ``label`` from ``n`` random sites, for each ``n`` in ``n_sites``.

    - ``assembly``: ``presentation x neuroid`` (recordings, model features, or ``Aligner.transform`` output) with a
      ``label`` coord along presentation; each row is one sample (average repetitions first to decode images).
    - ``n_sites``: increasing site counts (default: powers of two up to all sites, and all sites).
    - ``repeats``: random site draws per count (one draw when ``n`` is all sites).
    - ``classifier``: ``"logistic"`` (standardised features, multinomial logistic regression), ``"linear-svm"``,
      ``"nearest-centroid"``, or any sklearn classifier (cloned per fold).
    - ``cv``: number of stratified folds (shuffled with ``seed``), or an sklearn splitter.
    - ``groups``: a presentation coord (e.g. ``stimulus_id``) whose values never straddle folds.
    - ``seed``: the site draws and the folds; the same seed gives the same curve.
    """
    assembly = validate(assembly, name="assembly")
    try:
        assembly = select_time_bin(assembly)
    except AssemblyError as error:
        raise AssemblyError(f"assembly: {error}") from error
    if not isinstance(label, str) or label not in assembly.coords or assembly.coords[label].dims != (PRESENTATION,):
        available = [k for k, c in assembly.coords.items() if c.dims == (PRESENTATION,) and k != PRESENTATION]
        raise AssemblyError(f"label={label!r} is not a presentation coord of the assembly; available: {available}")
    seed = _check_count("seed", seed, 0)
    repeats = _check_count("repeats", repeats, 1)
    total = assembly.sizes[NEUROID]
    if n_sites is None:
        n_sites = sorted({min(2**k, total) for k in range(int(np.log2(total)) + 1)} | {total})
    if isinstance(n_sites, (str, bytes)) or not isinstance(n_sites, Sequence) and not isinstance(n_sites, np.ndarray):
        raise ValueError(f"n_sites must be a sequence of site counts; got {n_sites!r}")
    counts = [_check_count("n_sites entries", n, 1) for n in n_sites]
    if not counts:
        raise ValueError("n_sites is empty; give at least one site count")
    if max(counts) > total:
        raise ValueError(f"n_sites asks for {max(counts)} sites but the assembly has {total}; use counts <= {total}")
    if len(set(counts)) != len(counts):
        raise ValueError(f"n_sites has repeated counts {counts}; give each count once")
    labels = np.asarray(assembly.coords[label].values)
    classes, class_counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"label={label!r} takes a single value ({classes.tolist()}); decoding needs at least 2 classes")
    group_values = None
    if groups is not None:
        if groups not in assembly.coords or assembly.coords[groups].dims != (PRESENTATION,):
            raise AssemblyError(f"groups={groups!r} is not a presentation coord of the assembly")
        group_values = np.asarray(assembly.coords[groups].values)
    folds, cv_text = _folds(cv, labels, group_values, seed, label)
    classifier_name = classifier if isinstance(classifier, str) else type(classifier).__name__
    _classifier(classifier)

    values = np.asarray(assembly.values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = repeats
    accuracy = np.full((len(counts), draws), np.nan)
    sensitivity = np.full((len(counts), draws), np.nan)
    chosen = np.full((len(counts), draws, max(counts)), -1, dtype=np.int64)
    for i, n in enumerate(counts):
        for r in range(draws if n < total else 1):
            sites = np.sort(rng.choice(total, size=n, replace=False))
            chosen[i, r, :n] = sites
            predicted = np.empty(len(labels), dtype=labels.dtype)
            for train, test in folds:
                model = _classifier(classifier)
                model.fit(values[np.ix_(train, sites)], labels[train])
                predicted[test] = model.predict(values[np.ix_(test, sites)])
            accuracy[i, r] = float(np.mean(predicted == labels))
            sensitivity[i, r] = dprime(labels, predicted, classes)
        if n == total and draws > 1:
            accuracy[i, 1:], sensitivity[i, 1:] = accuracy[i, 0], sensitivity[i, 0]
            chosen[i, 1:] = chosen[i, 0]
    coords = {"n_sites": np.asarray(counts), "draw": np.arange(draws)}
    return DecodingCurve(
        accuracy=xr.DataArray(accuracy, dims=("n_sites", "draw"), coords=coords, name="accuracy"),
        dprime=xr.DataArray(sensitivity, dims=("n_sites", "draw"), coords=coords, name="dprime"),
        sites=xr.DataArray(chosen, dims=("n_sites", "draw", "site"), coords=coords, name="sites"),
        label=label,
        classifier=classifier_name,
        n_classes=len(classes),
        n_rows=len(labels),
        chance=float(class_counts.max() / class_counts.sum()),
        cv=cv_text,
        seed=seed,
    )


def plot_decoding_curves(curves: Mapping[str, DecodingCurve], ax=None, *, metric: str = "accuracy"):
    """Several curves on one axis (e.g. ``{"IT": it_curve, "model aligned to IT, 5 % bridges": moved_curve}``).

    Mean +/- sd over draws against the number of sites on a log axis; for accuracy, each curve's chance level as a
    dotted line. Returns the matplotlib figure.
    """
    if metric not in ("accuracy", "dprime"):
        raise ValueError(f"metric must be 'accuracy' or 'dprime'; got {metric!r}")
    if not curves or not all(isinstance(c, DecodingCurve) for c in curves.values()):
        raise ValueError("curves must be a non-empty mapping name -> DecodingCurve")
    if ax is None:
        import matplotlib.pyplot as plt  # headless machines fall back to Agg; Jupyter keeps its inline backend

        fig, ax = plt.subplots(figsize=(5, 3.6))
    else:
        fig = ax.figure
    for name, curve in curves.items():
        table = curve.to_dataframe()
        line = ax.errorbar(table.n_sites, table[f"{metric}_mean"], yerr=table[f"{metric}_sd"], marker="o", ms=3,
                           capsize=2, label=name)
        if metric == "accuracy":
            ax.axhline(curve.chance, color=line[0].get_color(), ls=":", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of sites")
    ax.set_ylabel("cross-validated accuracy" if metric == "accuracy" else "d'")
    ax.set_title(f"decoding {next(iter(curves.values())).label}")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
