"""Noise-corrected inter-animal consistency: how well one animal's sites predict another's from ``K`` shared stimuli.

Two animals saw the same stimuli. A ridge map from animal A's sites to animal B's is fitted on ``K`` shared stimuli
(repetition-averaged responses) and predicts B's repetition-averaged responses to held-out stimuli. Per split
(``K`` fitting stimuli, a disjoint set of test stimuli, a random half split of the repetitions):

- ``r_j``: the Pearson r, over the test stimuli, between the prediction and B's response at site ``j``;
- ``rho_B_j``: the target's reliability, the Pearson r between B's two half-averages at site ``j``, Spearman-Brown
  corrected to the full repetition count, ``2 r / (1 + r)``;
- ``rho_P_j``: the prediction's reliability, the same for the map applied to A's two half-averages (the noise of
  A's responses propagates into the prediction; for a linear map Spearman-Brown holds exactly).

The split's consistency is Spearman's (1904) correction for attenuation applied to the medians over sites,

.. math:: c = \\frac{\\operatorname{median}_j r_j}{\\sqrt{\\operatorname{median}_j \\rho_{P,j} \\;
          \\operatorname{median}_j \\rho_{B,j}}}

(the corrected correlation between the noise-free prediction and the noise-free target), and the result is the mean
of ``c`` over splits. The per-site form ``r_j / sqrt(rho_P_j rho_B_j)`` is the noise-corrected inter-animal
consistency of Nayebi et al. (2023, PLoS Comput. Biol. 19:e1011506); the median-over-sites ratio used here is the
way Brain-Score divides a median raw score by a median split-half ceiling (Schrimpf et al. 2018, bioRxiv 407007),
and stays finite when single sites have near-zero reliability. The correction removes test-time noise only: a map
fitted on ``K`` noisy stimuli is itself attenuated (regression dilution), so at small ``K`` the consistency is below
the noise-free predictability, by design: it is the reference at the same ``K``.

Any other map's predictions are put on the same scale with :func:`noise_corrected` (its own prediction
reliability, the same target reliability); ``result.fraction(c_method)`` is then the share of the consistency it
reaches.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["inter_animal_consistency", "ConsistencyResult", "noise_corrected", "trial_array", "half_averages",
           "map_reliability", "split_half_reliability"]

_DEFAULT_ALPHAS = tuple(np.logspace(-2, 5, 15))


@dataclass
class ConsistencyResult:
    """Noise-corrected inter-animal consistency at ``n_shared`` shared stimuli (see the module docstring).

    ``consistency``: mean over splits of the corrected median r; ``raw``: mean over splits of the uncorrected median
    per-site r (what ridge on the shared stimuli scores); ``prediction_reliability`` and ``target_reliability``: mean
    over splits of the median Spearman-Brown corrected split-half reliabilities; ``per_split``: the corrected value
    of each split; ``splits``: the ``(shared, test)`` stimulus positions used.
    """

    consistency: float
    raw: float
    prediction_reliability: float
    target_reliability: float
    n_shared: int
    n_test: int
    per_split: np.ndarray
    splits: list = field(repr=False, default_factory=list)
    correction: str = "spearman-1904 on medians over sites"

    def fraction(self, corrected_r: float) -> float:
        """``corrected_r / consistency``: a map's noise-corrected median r as a share of the consistency."""
        if not np.isfinite(self.consistency) or self.consistency <= 0:
            return float("nan")
        return float(corrected_r) / self.consistency


def trial_array(assembly) -> tuple[np.ndarray, np.ndarray]:
    """A trial-level assembly (``stimulus_id`` and ``repetition`` coords along presentation) as an array.

    Returns ``(values, stimulus_ids)``: ``values`` has shape ``(n_repetitions, n_stimuli, n_neuroids)``, NaN where a
    stimulus was shown fewer times; stimuli are sorted by id.
    """
    for coord in ("stimulus_id", "repetition"):
        if coord not in assembly.coords:
            raise ValueError(f"trial_array: assembly has no {coord!r} coord along presentation; pass a trial-level "
                             "assembly (load with average=False)")
    ids, stimulus = np.unique(assembly.coords["stimulus_id"].values, return_inverse=True)
    reps, repetition = np.unique(assembly.coords["repetition"].values, return_inverse=True)
    data = np.asarray(assembly.transpose("presentation", "neuroid").values, dtype=np.float64)
    out = np.full((len(reps), len(ids), data.shape[1]), np.nan)
    out[repetition, stimulus] = data
    return out, ids


def half_averages(trials: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Average two random halves of the repetitions: ``trials`` is ``(n_repetitions, n_stimuli, n_sites)``."""
    order = rng.permutation(trials.shape[0])
    half = trials.shape[0] // 2
    return _nanmean(trials[order[:half]]), _nanmean(trials[order[half:2 * half]])


def noise_corrected(r_sites, prediction_reliability, target_reliability) -> float:
    """Spearman's correction for attenuation on medians: ``median r / sqrt(median rho_P * median rho_B)``.

    NaN when either median reliability is not positive (the correction is undefined there).
    """
    r = float(np.nanmedian(np.asarray(r_sites, dtype=np.float64)))
    rp = float(np.nanmedian(np.asarray(prediction_reliability, dtype=np.float64)))
    rb = float(np.nanmedian(np.asarray(target_reliability, dtype=np.float64)))
    if not (rp > 0 and rb > 0):
        return float("nan")
    return r / np.sqrt(rp * rb)


def inter_animal_consistency(
    source,
    target,
    *,
    n_shared: int | None = None,
    n_test: int | None = None,
    n_splits: int = 10,
    splits: Sequence[tuple[Sequence[int], Sequence[int]]] | None = None,
    alphas: Sequence[float] | None = None,
    seed: int = 0,
) -> ConsistencyResult:
    """Noise-corrected consistency of ``target``'s sites predicted from ``source``'s by ridge on shared stimuli.

    Parameters
    ----------
    source, target : trial-level responses of the two animals to the same stimuli: arrays of shape
        ``(n_repetitions, n_stimuli, n_sites)`` (NaN for a missing repetition; stimuli in the same order on both
        sides) or trial-level assemblies (``stimulus_id`` and ``repetition`` coords; matched by ``stimulus_id``).
    n_shared : the number ``K`` of shared stimuli the map is fitted on (drawn at random per split).
    n_test : test stimuli per split, drawn from the rest (default: all the rest).
    n_splits : random splits (ignored when ``splits`` is given).
    splits : explicit ``(shared, test)`` stimulus positions, e.g. the splits an alignment was scored on; then
        ``n_shared``/``n_test`` must be None or match.
    alphas : ridge penalties for ``RidgeCV`` (leave-one-out over the shared stimuli; source sites z-scored on them).
    seed : the splits and the repetition halves.

    Returns
    -------
    ConsistencyResult (see the module docstring for the maths and the references).
    """
    a, b = _as_pair(source, target)
    n_stimuli = a.shape[1]
    rng = np.random.default_rng(seed)
    splits = _splits(n_stimuli, n_shared, n_test, n_splits, splits, rng)
    fit = _ridge(alphas)
    a_mean, b_mean = _nanmean(a), _nanmean(b)
    corrected, raw, rel_p, rel_b = [], [], [], []
    for shared, test in splits:
        predict = fit(a_mean[shared], b_mean[shared])
        a1, a2 = half_averages(a[:, test], rng)
        b1, b2 = half_averages(b[:, test], rng)
        r = _pearson_columns(predict(a_mean[test]), b_mean[test])
        rho_p = _spearman_brown(_pearson_columns(predict(a1), predict(a2)))
        rho_b = _spearman_brown(_pearson_columns(b1, b2))
        corrected.append(noise_corrected(r, rho_p, rho_b))
        raw.append(float(np.nanmedian(r)))
        rel_p.append(float(np.nanmedian(rho_p)))
        rel_b.append(float(np.nanmedian(rho_b)))
    per_split = np.asarray(corrected)
    return ConsistencyResult(consistency=float(np.nanmean(per_split)) if np.isfinite(per_split).any() else float("nan"),
                             raw=float(np.mean(raw)), prediction_reliability=float(np.mean(rel_p)),
                             target_reliability=float(np.mean(rel_b)), n_shared=len(splits[0][0]),
                             n_test=len(splits[0][1]), per_split=per_split, splits=splits)


def split_half_reliability(trials: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per-site Spearman-Brown corrected split-half reliability of ``trials`` (``(n_repetitions, n_stimuli, n_sites)``)
    over its stimuli: ``2 r / (1 + r)``, ``r`` the Pearson r between two random half-averages."""
    h1, h2 = half_averages(np.asarray(trials, dtype=np.float64), np.random.default_rng(seed))
    return _spearman_brown(_pearson_columns(h1, h2))


def map_reliability(predict: Callable[[np.ndarray], np.ndarray], source_trials: np.ndarray,
                    seed: int = 0) -> np.ndarray:
    """Per-site Spearman-Brown corrected split-half reliability of ``predict`` applied to two half-averages."""
    a1, a2 = half_averages(np.asarray(source_trials, dtype=np.float64), np.random.default_rng(seed))
    p1, p2 = (np.asarray(predict(half), dtype=np.float64) for half in (a1, a2))
    return _spearman_brown(_pearson_columns(p1, p2))


def _as_pair(source, target) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(source, "coords") != hasattr(target, "coords"):
        raise TypeError("inter_animal_consistency: source and target must both be arrays or both be assemblies")
    if hasattr(source, "coords"):
        a, ids_a = trial_array(source)
        b, ids_b = trial_array(target)
        common = np.intersect1d(ids_a, ids_b)
        if len(common) < 4:
            raise ValueError(f"inter_animal_consistency: source and target share {len(common)} stimulus_id values; "
                             "at least 4 are needed (the same stimuli seen by both animals)")
        a = a[:, np.searchsorted(ids_a, common)]
        b = b[:, np.searchsorted(ids_b, common)]
    else:
        a, b = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    for name, x in (("source", a), ("target", b)):
        if x.ndim != 3:
            raise ValueError(f"inter_animal_consistency: {name} must have shape (n_repetitions, n_stimuli, n_sites); "
                             f"got shape {x.shape}")
        if x.shape[0] < 2:
            raise ValueError(f"inter_animal_consistency: {name} has {x.shape[0]} repetition(s); the split-half "
                             "reliabilities need at least 2 (pass trial-level responses, not averages)")
        if np.isnan(_nanmean(x)).any():
            raise ValueError(f"inter_animal_consistency: {name} has a stimulus and site with no finite repetition")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"inter_animal_consistency: source has {a.shape[1]} stimuli and target {b.shape[1]}; "
                         "both animals must have seen the same stimuli, in the same order")
    return a, b


def _splits(n_stimuli, n_shared, n_test, n_splits, splits, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    if splits is not None:
        out = []
        for shared, test in splits:
            shared, test = np.asarray(shared, dtype=int), np.asarray(test, dtype=int)
            if np.intersect1d(shared, test).size:
                raise ValueError("inter_animal_consistency: splits: a test stimulus is also a shared (fitting) "
                                 "stimulus; test stimuli must sit outside the fitted ones")
            both = np.concatenate([shared, test])
            if both.size and (both.min() < 0 or both.max() >= n_stimuli):
                raise ValueError(f"inter_animal_consistency: splits hold positions outside 0..{n_stimuli - 1}")
            if len(shared) < 2 or len(test) < 3:
                raise ValueError(f"inter_animal_consistency: each split needs >= 2 shared and >= 3 test stimuli; "
                                 f"got {len(shared)} and {len(test)}")
            if (n_shared is not None and n_shared != len(shared)) or (n_test is not None and n_test != len(test)):
                raise ValueError("inter_animal_consistency: n_shared/n_test disagree with the given splits; leave "
                                 "them None")
            out.append((shared, test))
        if not out:
            raise ValueError("inter_animal_consistency: splits is empty; pass at least one (shared, test) pair")
        return out
    if n_shared is None:
        raise ValueError("inter_animal_consistency: n_shared is required (the number K of shared stimuli the map "
                         "is fitted on), unless splits are given")
    if not isinstance(n_shared, (int, np.integer)) or n_shared < 2:
        raise ValueError(f"inter_animal_consistency: n_shared must be an integer >= 2; got {n_shared!r}")
    rest = n_stimuli - n_shared
    n_test = rest if n_test is None else n_test
    if not isinstance(n_test, (int, np.integer)) or n_test < 3 or n_test > rest:
        raise ValueError(f"inter_animal_consistency: n_test must be an integer in [3, {rest}] (the {n_stimuli} "
                         f"stimuli minus n_shared={n_shared}); got {n_test!r}. Lower n_shared or n_test")
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"inter_animal_consistency: n_splits must be a positive integer; got {n_splits!r}")
    out = []
    for _ in range(int(n_splits)):
        order = rng.permutation(n_stimuli)
        out.append((np.sort(order[:n_shared]), np.sort(order[n_shared:n_shared + n_test])))
    return out


def _ridge(alphas):
    from sklearn.linear_model import RidgeCV

    grid = np.asarray(_DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64).ravel()
    if grid.size == 0 or not (grid > 0).all():
        raise ValueError("inter_animal_consistency: alphas must be a non-empty list of positive penalties; "
                         f"got {alphas!r}")

    def fit(x, y):
        mean = x.mean(0)
        scale = np.where(x.std(0) > 1e-12, x.std(0), 1.0)
        model = RidgeCV(alphas=grid).fit((x - mean) / scale, y)
        return lambda new: model.predict((new - mean) / scale)

    return fit


def _nanmean(x: np.ndarray) -> np.ndarray:
    count = np.isfinite(x).sum(0)
    total = np.where(np.isfinite(x), x, 0.0).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(0)
    b = b - b.mean(0)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(0) / np.where(denom > 0, denom, 1.0), np.nan)


def _spearman_brown(r: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2.0 * r / (1.0 + r)
