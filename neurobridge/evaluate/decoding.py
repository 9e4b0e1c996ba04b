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

Folds hold out whole stimuli. By default (``groups="stimulus_id"``) no stimulus has rows in both a training and a
test fold, so the accuracy measures generalisation to new images. With trial-level data and ``groups=None`` the
trials of one image sit on both sides, and the accuracy measures trial-to-trial decodability of images already seen
(on the 25-image slice, IT 0.79 / V4 0.67 against 0.56 / 0.40 with whole images held out); the result names the
protocol that ran (``DecodingCurve.protocol``). When every stimulus has one row (repetition-averaged data) the two
coincide and plain ``StratifiedKFold`` folds are used.

Data. On the public data (3,200 images, 64 objects x 50 images) decode ``object_name`` or ``category_name`` from
repetition-averaged responses, as Majaj et al. did. On the 25-image slice most objects have one image and one
category (``Tables``) has one: decode ``category_name`` from single trials without that category, with ``cv`` at
most the smallest category's image count.

Time. :func:`decoding_over_time` decodes each ``time_bin`` separately with the same folds and the same sites (the
sliding-estimator idea of MNE-Python's ``SlidingEstimator``, King & Dehaene 2014), in parallel over ``n_jobs``.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, AssemblyError, select_time_bin, validate

__all__ = ["CLASSIFIERS", "DecodingCurve", "TimeDecoding", "decoding_curve", "decoding_over_time", "dprime", "plot_decoding_curves"]

CLASSIFIERS = ("logistic", "linear-svm", "nearest-centroid")


@dataclass(frozen=True, repr=False)
class DecodingCurve:
    """Cross-validated decoding of ``label`` from ``n`` randomly drawn sites.

    ``accuracy`` and ``dprime``: dims ``n_sites x draw``; ``sites``: the drawn site indices (``n_sites x draw x
    site``, -1 padded); ``chance``: the accuracy of always guessing the most frequent class; ``groups``: the coord
    whose values never straddle folds (None: trial-level folds); ``protocol``: that choice in words.
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
    groups: str | None = "stimulus_id"
    protocol: str = ""

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
                   "n_rows": self.n_rows, "chance": self.chance, "cv": self.cv, "seed": self.seed,
                   "groups": str(self.groups), "protocol": self.protocol},
        )

    def plot(self, ax=None, *, metric: str = "accuracy", name: str | None = None):
        """Mean +/- sd over draws against the number of sites (log x); returns the figure."""
        return plot_decoding_curves({name or self.label: self}, ax=ax, metric=metric)

    def __repr__(self) -> str:
        table = self.to_dataframe()
        last = table.iloc[-1]
        return (
            f"DecodingCurve(label={self.label!r}, {self.n_classes} classes, {self.n_rows} rows, classifier="
            f"{self.classifier!r}, cv={self.cv}, {self.protocol}, {self.accuracy.sizes['draw']} draws per site count; at "
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


def _folds(cv, labels: np.ndarray, groups: np.ndarray | None, seed: int, label: str, group_name: str | None = None):
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral):
        if hasattr(cv, "split"):
            return list(cv.split(np.zeros(len(labels)), labels, groups)), repr(cv)
        raise ValueError(f"cv must be an integer number of folds >= 2 or an sklearn splitter; got {cv!r}")
    if cv < 2:
        raise ValueError(f"cv must be at least 2 folds; got {cv}")
    classes, counts = np.unique(labels, return_counts=True)
    unit = "rows"
    if groups is not None:
        frame = pd.DataFrame({"label": labels, "group": groups}).drop_duplicates()
        if frame["group"].duplicated().any():
            raise AssemblyError(f"groups: some group holds rows of different {label!r} values; a group must have one label")
        if len(frame) == len(labels):
            groups = None
        else:
            per_class = frame["label"].value_counts()
            classes, counts = per_class.index.to_numpy(), per_class.to_numpy()
            unit = f"distinct {group_name} values" if group_name else "groups"
    if counts.min() < cv:
        rare = [str(c) for c, n in zip(classes, counts) if n < cv]
        options = []
        if len(classes) - len(rare) >= 2:
            options.append(f"drop the classes with fewer than {cv} {unit} ({rare[:6]}{', ...' if len(rare) > 6 else ''})")
        if counts.min() >= 2:
            options.append(f"lower cv to {int(counts.min())}")
        options.append("decode a coarser label" + (" (e.g. category_name)" if label != "category_name" else ""))
        if groups is not None:
            options.append(
                "pass groups=None for trial-level folds (trials of one stimulus then sit in both training and test "
                "folds: that measures trial-to-trial decodability, not generalisation to new stimuli)"
            )
        raise ValueError(
            f"label={label!r}: the smallest class has {counts.min()} {unit}, fewer than cv={cv} folds. Options that "
            f"work: {'; '.join(options)}"
        )
    if groups is None:
        splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels)), f"StratifiedKFold({cv})"
    splitter = StratifiedGroupKFold(n_splits=int(cv), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels, groups)), f"StratifiedGroupKFold({cv})"


def _decode(values, labels, sites, folds, classifier, classes) -> tuple[float, float]:
    """Accuracy and d' of the pooled out-of-fold predictions from the columns ``sites``."""
    predicted = _predict(values, labels, sites, folds, classifier)
    return float(np.mean(predicted == labels)), dprime(labels, predicted, classes)


def _check_jobs(n_jobs) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be None, -1 (all cores) or a positive integer; got {n_jobs!r}")
    return int(n_jobs)


def _parallel(n_jobs, tasks: list) -> list:
    if n_jobs in (None, 1) or len(tasks) < 2:
        return [_decode(*task) for task in tasks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(_decode)(*task) for task in tasks)


def _check_count(argument: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _labels_and_folds(assembly, label: str, groups, cv, seed: int):
    """The labels (none missing, at least two classes), their classes and counts, and the cross-validation folds
    (grouped by ``groups`` when given)."""
    labels = np.asarray(assembly.coords[label].values)
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(f"label={label!r} is missing (NaN or None) for {int(missing.sum())} of {labels.size} presentations "
                         f"(e.g. position {int(np.flatnonzero(missing)[0])}); drop them first, e.g. "
                         f"assembly.isel(presentation=~assembly.coords[{label!r}].isnull().values)")
    classes, class_counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"label={label!r} takes a single value ({classes.tolist()}); decoding needs at least 2 classes")
    group_values = None
    if groups is not None:
        if groups not in assembly.coords or assembly.coords[groups].dims != (PRESENTATION,):
            raise AssemblyError(f"groups={groups!r} is not a presentation coord of the assembly")
        group_values = np.asarray(assembly.coords[groups].values)
    folds, cv_text = _folds(cv, labels, group_values, seed, label, groups)
    return labels, classes, class_counts, folds, cv_text


def decoding_curve(
    assembly: xr.DataArray,
    *,
    label: str = "object_name",
    n_sites: Sequence[int] | None = None,
    repeats: int = 10,
    classifier: str | Any = "logistic",
    cv: int | Any = 5,
    seed: int = 0,
    groups: str | None = "stimulus_id",
    n_jobs: int | None = 1,
) -> DecodingCurve:
    """Cross-validated accuracy and d' of ``label`` from ``n`` random sites, for each ``n`` in ``n_sites``.

    - ``assembly``: ``presentation x neuroid`` (recordings, model features, or ``Aligner.transform`` output) with a
      ``label`` coord along presentation; each row is one sample (average repetitions first to decode images).
    - ``n_sites``: increasing site counts (default: powers of two up to all sites, and all sites).
    - ``repeats``: random site draws per count (one draw when ``n`` is all sites).
    - ``classifier``: ``"logistic"`` (standardised features, multinomial logistic regression), ``"linear-svm"``,
      ``"nearest-centroid"``, or any sklearn classifier (cloned per fold).
    - ``cv``: number of stratified folds (shuffled with ``seed``), or an sklearn splitter.
    - ``groups``: a presentation coord whose values never straddle folds: ``"stimulus_id"`` (default) holds out
      whole stimuli, so the accuracy is generalisation to new stimuli; ``None`` gives trial-level folds (trials of
      one stimulus on both sides: trial-to-trial decodability), and the result's ``protocol`` says so.
    - ``seed``: the site draws and the folds; the same seed gives the same curve.
    - ``n_jobs``: processes for the (site count, draw) fits (joblib; -1 all cores). The draws are made before the
      fits, so the numbers do not depend on ``n_jobs``.
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
    n_jobs = _check_jobs(n_jobs)
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
    labels, classes, class_counts, folds, cv_text = _labels_and_folds(assembly, label, groups, cv, seed)
    protocol = _protocol(groups, assembly.coords["stimulus_id"].values, cv)
    classifier_name = classifier if isinstance(classifier, str) else type(classifier).__name__
    _classifier(classifier)

    values = np.asarray(assembly.values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = repeats
    chosen = np.full((len(counts), draws, max(counts)), -1, dtype=np.int64)
    jobs = []
    for i, n in enumerate(counts):
        for r in range(draws if n < total else 1):
            sites = np.sort(rng.choice(total, size=n, replace=False))
            chosen[i, r, :n] = sites
            jobs.append((i, r, sites))
    scores = _parallel(n_jobs, [(values, labels, sites, folds, classifier, classes) for _, _, sites in jobs])
    accuracy = np.full((len(counts), draws), np.nan)
    sensitivity = np.full((len(counts), draws), np.nan)
    for (i, r, _), (acc, dp) in zip(jobs, scores):
        accuracy[i, r], sensitivity[i, r] = acc, dp
    for i, n in enumerate(counts):
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
        groups=groups,
        protocol=protocol,
    )


TRIAL_LEVEL = "trial-level folds (groups=None): rows of one stimulus may sit in training and test folds"


def _protocol(groups: str | None, stimulus_ids, cv) -> str:
    if not isinstance(cv, numbers.Integral) and hasattr(cv, "split"):
        return f"folds from the given splitter, groups={groups!r}"
    if groups is None:
        if len(pd.unique(np.asarray(stimulus_ids))) == len(stimulus_ids):
            return "one row per stimulus (groups=None): folds hold out whole stimuli"
        return TRIAL_LEVEL
    return f"held-out stimuli (groups={groups!r}): no {groups} value in both training and test folds"


@dataclass(frozen=True, repr=False)
class TimeDecoding:
    """Cross-validated decoding of ``label`` in each time bin (:func:`decoding_over_time`).

    ``accuracy`` and ``dprime``: dims ``time_bin`` (with the assembly's ``time_bin_start``/``time_bin_end`` coords);
    ``fold_accuracy``: ``time_bin x fold``, the accuracy of each test fold (its spread is the spread over folds);
    ``chance``: the accuracy of always guessing the most frequent class; ``protocol``: held-out stimuli or
    trial-level folds, as in :class:`DecodingCurve`.
    """

    accuracy: xr.DataArray
    dprime: xr.DataArray
    fold_accuracy: xr.DataArray
    label: str
    classifier: str
    n_classes: int
    n_rows: int
    n_sites: int
    chance: float
    cv: str
    seed: int
    groups: str | None
    protocol: str

    def to_dataframe(self) -> pd.DataFrame:
        """One row per time bin: its coords, accuracy, the sd of the fold accuracies, d' and chance."""
        frame = {k: c.values for k, c in self.accuracy.coords.items() if c.dims == ("time_bin",)}
        frame.update(accuracy=self.accuracy.values, fold_sd=self.fold_accuracy.std("fold", ddof=1).values,
                     dprime=self.dprime.values, chance=self.chance)
        return pd.DataFrame(frame)

    def plot(self, ax=None, *, name: str | None = None):
        """Accuracy +/- sd over folds against time (bin start, or bin index), chance labelled, y axis from 0."""
        if ax is None:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.4))
        else:
            fig = ax.figure
        coords = self.accuracy.coords
        x = coords["time_bin_start"].values if "time_bin_start" in coords else np.arange(self.accuracy.sizes["time_bin"])
        sd = self.fold_accuracy.std("fold", ddof=1).values
        ax.errorbar(x, self.accuracy.values, yerr=sd, marker="o", ms=3, capsize=2, label=name or self.label)
        ax.axhline(self.chance, color="grey", ls=":", lw=1, label=f"chance ({self.chance:.2f}, majority class)")
        ax.set_ylim(0, 1)
        ax.set_xlabel("time bin start (ms)" if "time_bin_start" in coords else "time bin")
        ax.set_ylabel("cross-validated accuracy")
        ax.set_title(f"decoding {self.label} over time ({self.n_sites} sites)\n{self.protocol}", fontsize=8)
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        best = int(np.nanargmax(self.accuracy.values))
        return (
            f"TimeDecoding(label={self.label!r}, {self.accuracy.sizes['time_bin']} time bins, {self.n_sites} sites, "
            f"{self.n_rows} rows, cv={self.cv}, {self.protocol}; peak accuracy {self.accuracy.values[best]:.3f} in bin "
            f"{best} (chance {self.chance:.3f}))"
        )


def decoding_over_time(
    assembly: xr.DataArray,
    *,
    label: str = "object_name",
    n_sites: int | None = None,
    classifier: str | Any = "logistic",
    cv: int | Any = 5,
    seed: int = 0,
    groups: str | None = "stimulus_id",
    n_jobs: int | None = 1,
) -> TimeDecoding:
    """Decode ``label`` separately in every ``time_bin`` of a ``presentation x neuroid x time_bin`` assembly.

    The sliding-estimator analysis (MNE-Python's ``SlidingEstimator``; King & Dehaene 2014, Trends Cogn. Sci.):
    for each bin ``t`` a classifier is cross-validated on the responses in that bin alone, with the same folds
    (held-out stimuli by default, ``groups`` as in :func:`decoding_curve`) and the same sites in every bin, so the
    curve differs between bins only through the responses. ``n_sites``: a seeded draw of that many sites (default:
    all). Accuracy and d' are computed from the pooled out-of-fold predictions; ``fold_accuracy`` keeps each fold's
    accuracy. ``n_jobs`` runs the bins in parallel (joblib) without changing the numbers.
    """
    from neurobridge.assemblies import TIME_BIN

    assembly = validate(assembly, name="assembly")
    if TIME_BIN not in assembly.dims:
        raise AssemblyError("assembly has no time_bin dim; decoding_over_time needs presentation x neuroid x time_bin "
                            "data (use decoding_curve for one time window)")
    assembly = assembly.transpose(PRESENTATION, NEUROID, TIME_BIN)
    if not isinstance(label, str) or label not in assembly.coords or assembly.coords[label].dims != (PRESENTATION,):
        available = [k for k, c in assembly.coords.items() if c.dims == (PRESENTATION,) and k != PRESENTATION]
        raise AssemblyError(f"label={label!r} is not a presentation coord of the assembly; available: {available}")
    seed = _check_count("seed", seed, 0)
    n_jobs = _check_jobs(n_jobs)
    total = assembly.sizes[NEUROID]
    n_sites = total if n_sites is None else _check_count("n_sites", n_sites, 1)
    if n_sites > total:
        raise ValueError(f"n_sites={n_sites} but the assembly has {total} sites; use n_sites <= {total}")
    labels, classes, class_counts, folds, cv_text = _labels_and_folds(assembly, label, groups, cv, seed)
    _classifier(classifier)
    sites = np.sort(np.random.default_rng(seed).choice(total, size=n_sites, replace=False))
    values = np.asarray(assembly.values, dtype=np.float64)
    n_bins = assembly.sizes[TIME_BIN]
    if n_jobs in (None, 1) or n_bins < 2:
        predictions = [_predict(values[:, :, t], labels, sites, folds, classifier) for t in range(n_bins)]
    else:
        from joblib import Parallel, delayed

        predictions = Parallel(n_jobs=n_jobs)(delayed(_predict)(values[:, :, t], labels, sites, folds, classifier)
                                              for t in range(n_bins))
    accuracy = np.array([np.mean(p == labels) for p in predictions])
    sensitivity = np.array([dprime(labels, p, classes) for p in predictions])
    per_fold = np.array([[np.mean(p[test] == labels[test]) for _, test in folds] for p in predictions])
    coords = {k: (TIME_BIN, c.values) for k, c in assembly.coords.items() if c.dims == (TIME_BIN,)}
    return TimeDecoding(
        accuracy=xr.DataArray(accuracy, dims=(TIME_BIN,), coords=coords, name="accuracy"),
        dprime=xr.DataArray(sensitivity, dims=(TIME_BIN,), coords=coords, name="dprime"),
        fold_accuracy=xr.DataArray(per_fold, dims=(TIME_BIN, "fold"), coords=coords, name="fold_accuracy"),
        label=label,
        classifier=classifier if isinstance(classifier, str) else type(classifier).__name__,
        n_classes=len(classes),
        n_rows=len(labels),
        n_sites=int(n_sites),
        chance=float(class_counts.max() / class_counts.sum()),
        cv=cv_text,
        seed=seed,
        groups=groups,
        protocol=_protocol(groups, assembly.coords["stimulus_id"].values, cv),
    )


def _predict(values, labels, sites, folds, classifier) -> np.ndarray:
    predicted = np.empty(len(labels), dtype=labels.dtype)
    for train, test in folds:
        model = _classifier(classifier)
        model.fit(values[np.ix_(train, sites)], labels[train])
        predicted[test] = model.predict(values[np.ix_(test, sites)])
    return predicted


def plot_decoding_curves(curves: Mapping[str, DecodingCurve], ax=None, *, metric: str = "accuracy"):
    """Several curves on one axis (e.g. ``{"IT": it_curve, "model aligned to IT, 5 % bridges": moved_curve}``).

    Mean +/- sd over draws against the number of sites on a log axis; for accuracy, each curve's chance level as a
    dotted, labelled line and a y axis from 0 to 1 (d' from 0 or below). A curve with trial-level folds is named in
    the title. Returns the matplotlib figure.
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
            ax.annotate(f"chance {curve.chance:.2f}", (1.0, curve.chance), xycoords=("axes fraction", "data"),
                        xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom", fontsize=7,
                        color=line[0].get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of sites")
    ax.set_ylabel("cross-validated accuracy" if metric == "accuracy" else "d'")
    if metric == "accuracy":
        ax.set_ylim(0, 1)
    else:
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    trial_level = [name for name, c in curves.items() if c.protocol == TRIAL_LEVEL]
    caveat = f"\ntrial-level folds for {', '.join(trial_level)}: images also seen in training" if trial_level else ""
    ax.set_title(f"decoding {next(iter(curves.values())).label} (dotted: chance){caveat}", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
