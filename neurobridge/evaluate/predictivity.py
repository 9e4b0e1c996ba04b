"""Brain-Score-exact neural predictivity, normalised by the internal-consistency ceiling
(:mod:`neurobridge.evaluate.ceiling`).

Reproduces, number for number, Brain-Score's ``pls`` metric and ``internal_consistency`` ceiling as used by the
MajajHong2015 benchmarks (Schrimpf et al. 2018, "Brain-Score: which artificial neural network for object
recognition is most brain-like?"; Schrimpf et al. 2020, Neuron; data: Majaj, Hong, Solomon & DiCarlo 2015,
J. Neurosci.), on plain :mod:`neurobridge.assemblies`.

Neural predictivity (:func:`neural_predictivity`)
    Splits: ``K = 10`` draws of ``StratifiedShuffleSplit(train_size=0.9, random_state=1)`` over the target's
    ``stimulus_id`` values, stratified by ``object_name`` (``ShuffleSplit`` when ``stratify_by=None``). A
    presentation belongs to the training (test) set when its ``stimulus_id`` was drawn for training (test).
    Per split ``k``: fit a regression (PLS with 25 components, ``scale=False``, by default) from source
    to target on the training presentations, predict the test presentations and take the Pearson r of each target
    neuroid ``j`` over the test presentations, :math:`r_{kj}`. Then

    .. math:: s_k = \\operatorname{median}_j r_{kj}, \\qquad r = \\frac1K \\sum_k s_k, \\qquad
              \\mathrm{SEM} = \\frac{\\operatorname{std}_k(s_k)}{\\sqrt K}

    with NaN (constant neuroids) skipped in the median and the mean, and ``ddof = 0``, as Brain-Score does.

Ceiling
    :func:`~neurobridge.evaluate.ceiling.internal_consistency` (split-half, Spearman-Brown corrected), computed from
    the trial-level neural data when no ``ceiling`` is passed.

Small test splits and negative r
    With few stimuli a test split holds few of them, and a Pearson r over ``m`` stimuli is noisy (over 2 it is
    exactly +-1). :func:`neural_predictivity` warns, and says so in ``notes``, when a split tests fewer than
    ``min_test_stimuli`` distinct stimuli (10 by default). The squared normalisations drop the sign of a negative
    raw r, so a layer whose predictions anticorrelate with the responses can outrank one with a small positive r;
    a negative raw r is warned about and flagged (``PredictivityResult.flags``). Brain-Score computes the same
    numbers and never meets either case on its 3,200 images. The spread of the per-split medians
    :math:`s_k` (min, max, sd) is kept in the result and printed in its summary.

Normalisation (``normalization=``)
    ``"r2_over_c"`` (default; Brain-Score's ``explained_variance`` since 2026): :math:`r^2 / c`;
    ``"r_over_c_squared"`` (2020-2026): :math:`(r / c)^2`; ``"r_over_c"``: :math:`r / c`; ``"raw"``: :math:`r`.
    Squared forms drop the sign of a negative ``r`` (as Brain-Score does). ``error`` is always the SEM of the raw
    ``r`` over splits: Brain-Score attaches that same raw error to ceiled scores.

Trial-level neural data (``trials=``)
    ``"average"`` (default) averages repetitions first, as Brain-Score's ``NeuralBenchmark`` does before its metric
    (the trials are still used for the ceiling). ``"presentations"`` keeps the trials and splits over
    presentations, which is what Brain-Score's metric does when handed trial-level data (its
    ``unique_split_values=False`` default): a stimulus usually has trials on both sides of a split, so this mode
    measures something easier than generalisation to new images. ``"stimuli"`` splits the sorted unique stimulus
    ids (Brain-Score's ``unique_split_values=True``) and fits/tests on all trials of each side.

Numerics
    Everything is computed in float64. Brain-Score keeps float32 recordings in float32 when it averages trials and
    correlates the halves for the ceiling, so on float32 data its per-neuroid ceiling values differ from ours by
    float32 rounding (~5e-7 on MajajHong2015); on float64 data the two agree to ~1e-12. Float32 model features (what
    networks give) reach the regression as they are, as in Brain-Score: scikit-learn fits PLS in float64 but centres
    the test features in their own float32 before predicting, and :class:`~neurobridge.evaluate._pls.NipalsPLS` does
    the same, so the predictions match to ~1e-15 instead of ~1e-8. Ridge fits float32 features in float32 on both
    sides (scikit-learn keeps the dtype), so there the two carry float32 rounding and agree to ~1e-5, not ~1e-15.
    With no more features than training stimuli, PLS is fitted from cross-products shared by all splits
    (:class:`~neurobridge.evaluate._pls.CentredMoments`): the same iterates, ~2x faster on 3,200 x 1,000. PLS with
    more components than the rank of the training features (at most the number of distinct training stimuli minus
    one) fits rounding noise in the extra components; a warning says so.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from neurobridge._validation import check_float, check_int, check_seed
from neurobridge.assemblies import (
    NEUROID,
    PRESENTATION,
    AssemblyError,
    align,
    average_repetitions,
    is_trial_level,
    select_region,
    validate,
)
from neurobridge.evaluate._pls import CentredMoments, NipalsPLS
from neurobridge.evaluate._stats import mean_and_sem, nan_median, pearson_columns
from neurobridge.evaluate.ceiling import CeilingResult, _prepare, _split_neuroid, internal_consistency

__all__ = [
    "NORMALIZATIONS",
    "REGRESSIONS",
    "BRAINSCORE_RIDGECV_ALPHAS",
    "PredictivityResult",
    "neural_predictivity",
    "neural_predictivity_by_region",
    "normalize_score",
    "ceiling_problem",
    "MIN_CEILING",
    "MIN_TEST_STIMULI",
    "split_spread",
]

NORMALIZATIONS: Mapping[str, str] = {
    "r2_over_c": "r^2 / ceiling (Brain-Score explained_variance, current)",
    "r_over_c_squared": "(r / ceiling)^2 (Brain-Score 2020 to Jan 2026)",
    "r_over_c": "r / ceiling",
    "raw": "raw Pearson r, not ceiled",
}

REGRESSIONS = ("pls", "ridge", "ridgecv", "linear")
DIRECTIONS = ("model_to_neural", "neural_to_model")
TRIAL_MODES = ("average", "presentations", "stimuli")

BRAINSCORE_RIDGECV_ALPHAS = np.concatenate(
    [
        [0.01, 0.1, 0.5, 1.0],
        np.linspace(1e1, 1e2, 4, endpoint=False),
        np.linspace(1e2, 1e3, 18, endpoint=False),
        np.linspace(1e3, 1e4, 18, endpoint=False),
        np.linspace(1e4, 1e5, 18, endpoint=False),
        np.linspace(1e5, 1e6, 18, endpoint=False),
        np.linspace(1e6, 1e7, 19),
    ]
)
"""The alpha grid of Brain-Score's ``ridge_cv_regression``: 0.01 to 1e7, denser per decade above 10."""


@dataclass(frozen=True, repr=False)
class PredictivityResult:
    """Cross-validated predictivity.

    ``raw``: mean over splits of the median Pearson r; ``ceiling``: the ceiling used (None if none);
    ``score``: ``raw`` normalised by ``normalization``; ``error``: SEM of the raw r over splits (Brain-Score
    convention); ``values``: Pearson r per split and target neuroid (``split x neuroid``, neuroid coords kept);
    ``per_split``: the per-split medians :math:`s_k`; ``spread``: their min, max and sd (``ddof=0``, so
    ``error = sd / sqrt(n_splits)``); ``test_stimuli``: the number of distinct test stimuli of each split;
    ``flags``: ``"negative_r"`` when the raw r is below 0, ``"small_test_split"`` when a split tests fewer than
    ``min_test_stimuli`` stimuli (each also explained in ``notes``).
    """

    raw: float
    ceiling: float | None
    score: float
    error: float
    values: xr.DataArray
    normalization: str
    regression: str
    direction: str
    trials: str
    n_splits: int
    ceiling_result: CeilingResult | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    test_stimuli: tuple[int, ...] = field(default_factory=tuple)
    min_test_stimuli: int = 10

    @property
    def per_split(self) -> np.ndarray:
        return nan_median(self.values.values, axis=1)

    @property
    def spread(self) -> dict[str, float]:
        """Min, max and sd (``ddof=0``) of the per-split median r :math:`s_k`, NaN splits skipped."""
        return split_spread(self.per_split)

    @property
    def negative_r(self) -> bool:
        return bool(self.raw < 0)

    @property
    def flags(self) -> tuple[str, ...]:
        """``"negative_r"`` and/or ``"small_test_split"`` (see the class docstring); empty when neither applies."""
        out = []
        if self.negative_r:
            out.append("negative_r")
        if self.test_stimuli and min(self.test_stimuli) < self.min_test_stimuli:
            out.append("small_test_split")
        return tuple(out)

    def __float__(self) -> float:
        return float(self.score)

    def __repr__(self) -> str:
        ceiling = "none" if self.ceiling is None else f"{self.ceiling:.4f}"
        text = (
            f"PredictivityResult(score={self.score:.4f} [normalization='{self.normalization}': "
            f"{NORMALIZATIONS[self.normalization]}], raw r={self.raw:+.4f} +/- {self.error:.4f} SEM over "
            f"{self.n_splits} splits{describe_spread(self.per_split, self.test_stimuli)}, ceiling={ceiling}, "
            f"regression='{self.regression}', direction='{self.direction}', {self.values.sizes[NEUROID]} target "
            f"neuroids{describe_flags(self.flags)})"
        )
        if self.notes:
            text += "\n  note: " + "\n  note: ".join(self.notes)
        return text


MIN_TEST_STIMULI = 10
"""Fewer distinct stimuli than this in a test split gives a warning and the ``"small_test_split"`` flag."""


def split_spread(per_split) -> dict[str, float]:
    """``{"min", "max", "sd"}`` of per-split values, NaN skipped, ``sd`` with ``ddof=0`` (NaN when all are NaN)."""
    values = np.asarray(per_split, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"min": math.nan, "max": math.nan, "sd": math.nan}
    return {"min": float(values.min()), "max": float(values.max()), "sd": float(values.std())}


def describe_spread(per_split, test_stimuli: Sequence[int] = ()) -> str:
    """``", per-split r -0.150 .. +0.110 (sd 0.080), 3 test stimuli per split"`` for a printed summary."""
    spread = split_spread(per_split)
    text = f", per-split r {spread['min']:+.3f} .. {spread['max']:+.3f} (sd {spread['sd']:.3f})"
    if len(test_stimuli):
        low, high = min(test_stimuli), max(test_stimuli)
        text += f", {low if low == high else f'{low}-{high}'} test stimuli per split"
    return text


def describe_flags(flags: Sequence[str]) -> str:
    """``", FLAGS: NEGATIVE RAW r"`` etc. for a printed summary; empty without flags."""
    words = {"negative_r": "NEGATIVE RAW r (the squared score hides the sign)", "small_test_split": "SMALL TEST SPLITS"}
    return f", FLAGS: {'; '.join(words.get(f, f) for f in flags)}" if flags else ""


MIN_CEILING = 0.1
"""Below this noise ceiling a normalised score is reported as NaN: a split-half consistency this low is mostly noise,
and dividing by it would multiply that noise into the score (e.g. a ceiling of 0.01 turns r = 0.1 into 1.0)."""


def ceiling_problem(ceiling: float | None, min_ceiling: float = MIN_CEILING) -> str | None:
    """Why ``ceiling`` cannot normalise a score (NaN, ``<= 0`` or below ``min_ceiling``), or None when it can."""
    if ceiling is None:
        return None
    if not math.isfinite(ceiling):
        return f"the noise ceiling is {ceiling} (no neuroid gave a finite split-half correlation)"
    if ceiling <= 0:
        return f"the noise ceiling is {ceiling:.4g} <= 0: the trials of the neural data do not agree with each other"
    if ceiling < min_ceiling:
        return f"the noise ceiling {ceiling:.4g} is below min_ceiling={min_ceiling}: dividing by it would amplify noise"
    return None


def normalize_score(raw: float, ceiling: float | None, normalization: str, *, min_ceiling: float = MIN_CEILING) -> float:
    """Apply one of :data:`NORMALIZATIONS` to a raw r and a ceiling c.

    A ceiling that is NaN, ``<= 0`` or below ``min_ceiling`` gives NaN with a :class:`UserWarning` saying why; the
    raw r is not affected (keep it from the caller).
    """
    _check_choice("normalization", normalization, tuple(NORMALIZATIONS))
    if normalization == "raw":
        return float(raw)
    if ceiling is None:
        raise ValueError(f"normalization={normalization!r} needs a ceiling; pass ceiling= or normalization='raw'")
    min_ceiling = check_float(min_ceiling, "min_ceiling", low=0)
    problem = ceiling_problem(float(ceiling), min_ceiling)
    if problem is not None:
        warnings.warn(
            f"{problem}; the normalised score ({normalization}) is NaN. The raw r ({float(raw):.4g}) is kept; "
            "use normalization='raw' or a reliable ceiling",
            UserWarning,
            stacklevel=3,
        )
        return math.nan
    if normalization == "r2_over_c":
        return float(raw**2 / ceiling)
    if normalization == "r_over_c_squared":
        return float((raw / ceiling) ** 2)
    return float(raw / ceiling)


def neural_predictivity(
    model_assembly: xr.DataArray,
    neural_assembly: xr.DataArray,
    ceiling: float | CeilingResult | None = None,
    regression: str | Any = "pls",
    stratify_by: str | None = "object_name",
    normalization: str = "r2_over_c",
    *,
    direction: str = "model_to_neural",
    trials: str = "average",
    n_splits: int = 10,
    train_size: float = 0.9,
    test_size: float | None = None,
    random_state: int = 1,
    n_components: int = 25,
    pls_backend: str = "nipals",
    min_ceiling: float = MIN_CEILING,
    min_test_stimuli: int = MIN_TEST_STIMULI,
) -> PredictivityResult:
    """Cross-validated predictivity of ``neural_assembly`` from ``model_assembly``, exactly as Brain-Score.

    Both are assemblies (``presentation x neuroid``) with ``stimulus_id``; they are aligned on it
    (:func:`neurobridge.assemblies.align`; stimuli found in only one are dropped with a warning) and the splits
    follow the target's presentation order. See the module docstring for the maths.

    - ``ceiling``: a number, a :class:`CeilingResult`, or None. None with trial-level neural data computes
      :func:`internal_consistency` on it (Brain-Score's ceiling for ``model_to_neural``); None otherwise reports
      ``score = raw`` with ``normalization='raw'`` and says so in ``notes``.
    - ``regression``: ``"pls"`` (PLSRegression, ``n_components``, ``scale=False``; Brain-Score's ``pls``),
      ``"ridge"`` (``Ridge(alpha=1)``; Brain-Score's ``ridge``), ``"ridgecv"`` (``RidgeCV`` over
      :data:`BRAINSCORE_RIDGECV_ALPHAS`), ``"linear"``, or any estimator with ``fit``/``predict`` (cloned per
      split with :func:`sklearn.base.clone`).
    - ``pls_backend``: ``"nipals"`` (:class:`neurobridge.evaluate._pls.NipalsPLS`, identical numbers, much faster)
      or ``"sklearn"``.
    - ``stratify_by``: coord for ``StratifiedShuffleSplit`` (taken from the target, else the source); None for
      ``ShuffleSplit``. Like Brain-Score, a class with a single member is an error.
    - ``direction``: ``"model_to_neural"`` or ``"neural_to_model"`` (reverse predictivity, Muzellec & Kar 2025:
      neural responses predict model units, splits follow the model assembly; no ceiling unless given).
    - ``trials``: how trial-level neural data enter the regression: ``"average"``, ``"presentations"``,
      ``"stimuli"`` (module docstring).
    - ``min_ceiling``: a ceiling that is NaN, ``<= 0`` or below this gives ``score = NaN`` with a warning saying
      why (``raw`` is kept), rather than a score blown up by division by noise.
    - ``min_test_stimuli``: a split whose test side holds fewer distinct stimuli than this gives a
      :class:`UserWarning`, a note and the ``"small_test_split"`` flag (0 turns the check off). The numbers are
      unchanged: this only says how far to trust them.

    A negative raw r also warns and is flagged (``"negative_r"``): the squared normalisations drop its sign.

    Raises ``ValueError`` when every target neuroid is constant over the stimuli, or the source is: no Pearson r
    is defined then.
    """
    _check_choice("normalization", normalization, tuple(NORMALIZATIONS))
    _check_choice("direction", direction, DIRECTIONS)
    _check_choice("trials", trials, TRIAL_MODES)
    _check_choice("pls_backend", pls_backend, ("nipals", "sklearn"))
    _check_int("n_splits", n_splits, 1)
    _check_int("n_components", n_components, 1)
    _check_fraction("train_size", train_size)
    if test_size is not None:
        _check_fraction("test_size", test_size)
    check_seed(random_state, "random_state")
    min_ceiling = check_float(min_ceiling, "min_ceiling", low=0)
    min_test_stimuli = check_int(min_test_stimuli, "min_test_stimuli", low=0)
    regression_name = _regression_name(regression)
    model = _prepare(model_assembly, "model_assembly")
    neural = _prepare(neural_assembly, "neural_assembly")
    notes: list[str] = []

    trial_neural = neural if is_trial_level(neural) and "repetition" in neural.coords else None
    ceiling_value, ceiling_result = _resolve_ceiling(ceiling, trial_neural, direction, notes)
    if is_trial_level(neural) and trials == "average":
        neural = average_repetitions(neural)

    if direction == "model_to_neural":
        target, source = align(neural, model, names=("neural_assembly", "model_assembly"))
        _warn_dropped(model, neural, target)
    else:
        target, source = align(model, neural, names=("model_assembly", "neural_assembly"))
        _warn_dropped(model, neural, target)
    values, labels = _split_values(target, source, trials, stratify_by)
    splits = _make_splits(values, labels, stratify_by, n_splits, train_size, test_size, random_state)

    target_ids = target.coords["stimulus_id"].values
    X_all = np.asarray(source.values, dtype=np.float64)
    X_given = np.asarray(source.values) if source.dtype == np.float32 else X_all
    Y_all = np.asarray(target.values, dtype=np.float64)
    source_name, target_name = ("model_assembly", "neural_assembly") if direction == "model_to_neural" else ("neural_assembly", "model_assembly")
    if np.all(Y_all == Y_all[:1], axis=0).all():
        raise ValueError(
            f"every one of the {Y_all.shape[1]} neuroids of {target_name} is constant over the {Y_all.shape[0]} "
            "presentations, so no Pearson r is defined; check that the responses vary across stimuli"
        )
    if np.all(X_all == X_all[:1]):
        raise ValueError(
            f"{source_name} is constant over the {X_all.shape[0]} presentations (all {X_all.shape[1]} units), so its "
            "predictions are constant and no Pearson r is defined; check the features"
        )
    r = np.empty((len(splits), Y_all.shape[1]))
    moments = None
    test_stimuli = []
    warned_rank = False
    for k, (train_idx, test_idx) in enumerate(splits):
        train_ids, test_ids = np.unique(values[train_idx]), np.unique(values[test_idx])
        train_rows = np.flatnonzero(np.isin(target_ids, train_ids))
        test_rows = np.flatnonzero(np.isin(target_ids, test_ids))
        if len(train_rows) < 2 or len(test_rows) < 2:
            raise ValueError(
                f"split {k} has {len(train_rows)} training and {len(test_rows)} test presentations; each side needs at "
                f"least 2. Use more stimuli, or change train_size={train_size} / test_size={test_size}"
            )
        test_stimuli.append(int(len(np.unique(target_ids[test_rows]))))
        train_rows = train_rows[np.argsort(target_ids[train_rows], kind="stable")]
        if regression_name == "pls" and not warned_rank:
            warned_rank = _warn_rank(train_ids, n_components)
        estimator = _make_regression(regression, regression_name, n_components, pls_backend)
        if _use_moments(estimator, X_all.shape[1], len(train_rows), len(train_ids)):
            moments = moments or CentredMoments(X_all, Y_all, exact_means=X_given.dtype == np.float32)
            estimator.fit_moments(moments, train_rows)
        else:
            try:
                estimator.fit(X_given[train_rows], Y_all[train_rows])
            except ValueError as error:
                if regression_name == "pls" and "n_components" in str(error):
                    raise ValueError(
                        f"n_components={n_components} is larger than the number of source features "
                        f"({X_all.shape[1]}); lower n_components"
                    ) from error
                raise
        prediction = np.asarray(estimator.predict(X_given[test_rows]), dtype=np.float64).reshape(len(test_rows), -1)
        r[k] = pearson_columns(Y_all[test_rows], prediction)

    if np.isnan(r).all():
        raise ValueError(
            f"every split gave a NaN Pearson r for every neuroid of {target_name}: on each test set the responses or "
            "the predictions are constant. Use more stimuli or check the data"
        )
    per_split = nan_median(r, axis=1)
    raw, sem = mean_and_sem(per_split)
    applied = normalization
    if ceiling_value is None and normalization != "raw":
        applied = "raw"
        notes.append(f"normalization={normalization!r} was requested but no ceiling is available; score = raw r")
    if applied != "raw":
        problem = ceiling_problem(ceiling_value, min_ceiling)
        if problem is not None:
            notes.append(f"{problem}; score is NaN, raw r is kept")
    score = normalize_score(raw, ceiling_value, applied, min_ceiling=min_ceiling)
    _trust_notes(raw, score, applied, test_stimuli, min_test_stimuli, len(values), train_size, test_size, notes)
    return PredictivityResult(
        raw=raw,
        ceiling=ceiling_value,
        score=score,
        error=sem,
        values=_split_neuroid(r, target, "pearson_r"),
        normalization=applied,
        regression=regression_name,
        direction=direction,
        trials=trials,
        n_splits=len(splits),
        ceiling_result=ceiling_result,
        notes=tuple(notes),
        test_stimuli=tuple(test_stimuli),
        min_test_stimuli=min_test_stimuli,
    )


def _trust_notes(raw, score, normalization, test_stimuli, min_test_stimuli, n_values, train_size, test_size, notes) -> None:
    """Warn about, and note, a test split below ``min_test_stimuli`` stimuli and a negative raw r."""
    smallest = min(test_stimuli)
    if smallest < min_test_stimuli:
        text = (
            f"the smallest test split holds {smallest} stimuli, fewer than min_test_stimuli={min_test_stimuli}: a "
            f"Pearson r over {smallest} stimuli is very noisy{' (over 2 it is exactly +1 or -1)' if smallest <= 2 else ''}, "
            f"so the per-split r and the score are unreliable. Use more stimuli (there are {n_values} split values), "
            f"a larger test_size (now train_size={train_size}, test_size={test_size}), or lower min_test_stimuli to "
            "accept this"
        )
        notes.append(text)
        warnings.warn(f"neural_predictivity: {text}", UserWarning, stacklevel=3)
    if raw < 0:
        squared = normalization in ("r2_over_c", "r_over_c_squared")
        text = (
            f"the raw r is negative ({raw:+.4f}): on held-out stimuli the predictions anticorrelate with the responses"
            + (f"; normalization={normalization!r} squares the sign away (score {score:.4f}), so this score can rank "
               "above a small positive r. Compare raw r" if squared else "")
        )
        notes.append(text)
        warnings.warn(f"neural_predictivity: {text}", UserWarning, stacklevel=3)


def neural_predictivity_by_region(
    model_assembly: xr.DataArray,
    neural_assembly: xr.DataArray,
    regions: Sequence[str] | None = None,
    ceilings: Mapping[str, float | CeilingResult] | None = None,
    **kwargs,
) -> dict[str, PredictivityResult]:
    """:func:`neural_predictivity` for each value of the neural ``region`` coord (all regions by default).

    ``ceilings`` maps region -> ceiling; missing regions get ``ceiling=None`` (computed from trial-level data).
    """
    neural = validate(neural_assembly, name="neural_assembly", allow_nan=True, require=("region",))
    if regions is None:
        regions = list(dict.fromkeys(neural.coords["region"].values.tolist()))
    ceilings = dict(ceilings or {})
    return {
        region: neural_predictivity(model_assembly, select_region(neural, region), ceiling=ceilings.get(region), **kwargs)
        for region in regions
    }


def _check_choice(argument: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{argument}={value!r} is not supported; choose one of {list(choices)}")


def _check_int(argument: str, value, minimum: int) -> None:
    check_int(value, argument, low=minimum)


def _check_fraction(argument: str, value) -> None:
    check_float(value, argument, low=0, high=1, low_open=True, high_open=True)


def _regression_name(regression) -> str:
    if isinstance(regression, str):
        _check_choice("regression", regression, REGRESSIONS)
        return regression
    if not (hasattr(regression, "fit") and hasattr(regression, "predict")):
        raise ValueError(f"regression must be one of {list(REGRESSIONS)} or an estimator with fit/predict; got {regression!r}")
    return type(regression).__name__


def _use_moments(estimator, n_features: int, n_train: int, n_train_stimuli: int) -> bool:
    """Fit PLS from cross-products shared by all splits (:class:`CentredMoments`) when that is cheaper (no more
    features than training rows) and the components stay within the rank of the training features (beyond it
    they fit rounding noise, which only the row-wise computation reproduces as closely as it can)."""
    return (isinstance(estimator, NipalsPLS) and n_features <= n_train
            and estimator.n_components <= min(n_features, n_train_stimuli - 1))


def _make_regression(regression, name: str, n_components: int, pls_backend: str):
    from sklearn.linear_model import LinearRegression, Ridge, RidgeCV

    if not isinstance(regression, str):
        from sklearn.base import clone

        try:
            return clone(regression)
        except TypeError:
            return regression
    if name == "pls":
        if pls_backend == "sklearn":
            from sklearn.cross_decomposition import PLSRegression

            return PLSRegression(n_components=n_components, scale=False)
        return NipalsPLS(n_components=n_components)
    if name == "ridge":
        return Ridge(alpha=1.0)
    if name == "ridgecv":
        return RidgeCV(alphas=BRAINSCORE_RIDGECV_ALPHAS)
    return LinearRegression()


def _resolve_ceiling(ceiling, trial_neural, direction: str, notes: list[str]):
    if isinstance(ceiling, CeilingResult):
        return float(ceiling.raw), ceiling
    if ceiling is not None:
        if isinstance(ceiling, (bool, np.bool_)) or not isinstance(ceiling, numbers.Real):
            raise TypeError(f"ceiling must be a number, a CeilingResult or None; got {ceiling!r} ({type(ceiling).__name__})")
        if not math.isfinite(ceiling):
            raise ValueError(f"ceiling must be a finite number, a CeilingResult or None; got {ceiling!r}")
        return float(ceiling), None
    if direction == "neural_to_model":
        notes.append("no ceiling for direction='neural_to_model' unless one is passed; score = raw r")
        return None, None
    if trial_neural is None:
        notes.append("neural assembly is not trial-level (no repeated stimulus_id with 'repetition'); no ceiling computed")
        return None, None
    result = internal_consistency(trial_neural)
    return float(result.raw), result


def _warn_dropped(model: xr.DataArray, neural: xr.DataArray, target: xr.DataArray) -> None:
    kept = set(target.coords["stimulus_id"].values.tolist())
    lost_model = len(set(model.coords["stimulus_id"].values.tolist()) - kept)
    lost_neural = len(set(neural.coords["stimulus_id"].values.tolist()) - kept)
    if lost_model or lost_neural:
        warnings.warn(
            f"neural_predictivity: {lost_model} stimuli of model_assembly and {lost_neural} of neural_assembly have no "
            "partner in the other assembly and were dropped (Brain-Score would refuse); pass matching stimulus sets "
            "to silence this",
            UserWarning,
            stacklevel=3,
        )


def _split_values(target: xr.DataArray, source: xr.DataArray, trials: str, stratify_by: str | None):
    """The values ``StratifiedShuffleSplit`` sees (Brain-Score's ``extract_coord``) and their class labels."""
    ids = target.coords["stimulus_id"].values
    labels = None
    if stratify_by is not None:
        holder = target if stratify_by in target.coords else source if stratify_by in source.coords else None
        if holder is None or holder.coords[stratify_by].dims != (PRESENTATION,):
            raise AssemblyError(
                f"stratify_by={stratify_by!r}: neither assembly has this coord along presentation; add it (e.g. join "
                "the stimulus labels) or pass stratify_by=None for unstratified ShuffleSplit"
            )
        labels = holder.coords[stratify_by].values
    if trials == "stimuli" and is_trial_level(target):
        ids, first = np.unique(ids, return_index=True)
        labels = labels[first] if labels is not None else None
    return ids, labels


def _make_splits(values, labels, stratify_by, n_splits, train_size, test_size, random_state):
    if labels is None:
        splitter = ShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=test_size, random_state=random_state)
        return list(splitter.split(np.zeros(len(values))))
    splitter = StratifiedShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=test_size, random_state=random_state)
    try:
        return list(splitter.split(np.zeros(len(values)), labels))
    except ValueError as error:
        _, counts = np.unique(labels, return_counts=True)
        raise ValueError(
            f"stratify_by={stratify_by!r}: StratifiedShuffleSplit (as in Brain-Score, which fails here too) cannot "
            f"split {len(values)} values over {len(counts)} classes (smallest class: {counts.min()} members) with "
            f"train_size={train_size}: {error}. Pass stratify_by=None, use more stimuli per class, or for "
            "trial-level data trials='presentations'"
        ) from error


def _warn_rank(train_ids, n_components: int) -> bool:
    if len(train_ids) - 1 >= n_components:
        return False
    warnings.warn(
        f"PLS with n_components={n_components} on {len(train_ids)} distinct training stimuli: the features have rank "
        f"<= {len(train_ids) - 1}, so the components beyond it are fitted to rounding noise and the scores depend on "
        "floating-point details (Brain-Score computes them the same way, and is equally irreproducible there); use "
        f"n_components <= {len(train_ids) - 1} or more stimuli",
        UserWarning,
        stacklevel=3,
    )
    return True
