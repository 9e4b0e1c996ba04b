r"""``coupling="auto"``: choose the coupling by repeated k-fold validation over the bridges.

**Folds.** The bridges are split into ``folds`` groups by their target point (so a held-out bridge's partner is never
a training bridge's partner: with several trials of one stimulus, all of them are held out together). Label-matched
bridges are dealt class by class (stratified k-fold), so that a class with several bridges has some in training and
some held out. The split is repeated ``repeats`` times with fresh seeded shuffles (repeated k-fold; ``"auto"``: enough
repeats for at least :data:`MIN_EVALUATIONS` scored held-out bridges, at most :data:`MAX_AUTO_REPEATS`).

**Validation problems.** For each fold every candidate is fitted on the other bridges, on validation pools, and scored
on the held-out bridges by what the user gets from it:

- paired bridges (the inductive protocol): each pool holds the training bridges' points plus a seeded random
  subsample of its unpaired points, ``validation_size`` points in all, and *never* the held-out bridges' points, on
  either side. The score is the *median per-site Pearson r* (:func:`median_site_r`) between the predicted and the true
  partners of the held-out bridges, the predictions being those the Aligner returns: the candidate's map
  (``log["point_estimate"]``: ``ridge``, ``self-training``); for a plan without a map, a ridge map fitted on the
  pool's barycentric targets (:func:`point_predictor`, a proxy of the flow's mean); for a plan-free sampler, the
  partner of the nearest training bridge;
- label-matched bridges: each pool holds its bridge points plus a seeded random subsample of its unlabelled points,
  ``label_validation_size`` points in all; with the default ``label_score="readout"`` the held-out source exemplars
  sit in no pool, and each is scored by its *readout* (:func:`readout_score`): its transported point, a
  ``k``-nearest-neighbour regression on the pairs the flow would learn from (the pool points' barycentric targets, or
  the training bridges for supervised-only), read out as the class of the nearest (cosine) class centroid of the
  training target exemplars, as the zero-shot prompt readout does; ``label_score="readout-flow"`` transports it with
  a short flow trained on the candidate's pairs (:data:`VALIDATION_FLOW`, or ``validation_flow``);
  ``label_score="class_agreement"`` is the earlier plan-level score (the plan's mass from held-out source exemplars
  to held-out target exemplars of the same class), which on the text-image experiment ranked candidates opposite to
  their flows' outcome. Only held-out bridges whose class also has a training bridge are scored: the final fit sees a
  bridge of every class, so a held-out class without one poses a different problem (discovering an unseen class). A
  fold with no such bridge is not fitted.

**Screening** (label-matched). Before validation, label spreading is dropped when the classes it spreads stray from the
bridges' class balance by more than ``collapse_threshold`` (0.2 in total variation, :func:`spreading_imbalance`): on
the text-image experiment's prompt pool, which clusters by template rather than by class, the imbalance was 0.21-0.59
and label spreading's flows read out 0.20-0.32 against bridge-OT's 0.41-0.87; on the digits pools it was at most
0.13. ``log["screened"]`` gives the reason and ``log["imbalance"]`` the value.

**No validation possible** (one bridge per class, or bridges to a single target point): the first candidate left after
screening in :data:`LABEL_FALLBACK` is fitted with a warning. That order is the candidates' record: label spreading
(digits at 1 %: 0.823 against bridge-OT's 0.594), then the paper's bridge-OT (text-image at 1 %: 0.409, where label
spreading collapses to 0.204 and is screened out), then supervised-only; for paired bridges ridge. Ties in validation
go the other way, to the paper's bridge-OT first (:data:`LABEL_CANDIDATES`), unless every candidate scored the same
on every fold (label codes as the source: each candidate reads out every held-out code), where validation says
nothing and the no-validation order decides.

During validation each candidate's OT step is solved to a marginal error of 1e-3 in at most 3,000 iterations (the
final fit uses the candidate as given).

**Choice**: the one-standard-error rule (``rule="one-se"``, the default) or a fixed margin (``rule="tolerance"``),
as :mod:`neurobridge.couplings.methods.selection` states. The winner is fitted once on all bridges and its Coupling
returned, with ``log["selection"]`` = ``{candidate: {"mean", "sd", "se", "gap", "margin", "scores", "held_out",
"seconds", "chosen"}}`` (``gap``: best mean minus this mean; ``held_out``: scored held-out bridges summed over folds)
and ``log["selected"]`` = the winner's name. This is scikit-learn's habit of
choosing defaults by validation (``RidgeCV``, ``GridSearchCV``) applied to the coupling.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import replace

import numpy as np
import torch

from .._checks import check_pool
from ..cost import distances
from ..graph import shared_graphs
from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from ._support import LABEL, PAIRED, as_coupling_error, bridge_kind, check_bridges, pool_arrays
from .bridge_ot import BridgeOT
from .geodesic import GeodesicCoupling
from .label_spreading import LabelSpreadingCoupling
from .map_refined import MapRefinedCoupling, RegressionMapCoupling
from .relation import RelationCoupling
from .selection import RULES, choose
from .self_training import RidgeCoupling, SelfTrainingCoupling, SelfTrainingKernelCoupling, barycentric_targets

__all__ = ["AutoCoupling", "SupervisedCandidate", "default_candidates", "PAIRED_CANDIDATES", "LABEL_CANDIDATES",
           "LABEL_FALLBACK", "RULES", "MIN_EVALUATIONS", "MAX_AUTO_REPEATS"]

PAIRED_CANDIDATES = ("ridge", "self-training")
"""Paired defaults, in preference order: ridge on the bridges alone (returned as it is when it wins, and kept whenever
OT self-training of the map on the unpaired pools is not better by more than the validation noise), then OT
self-training. Both predict ``E[y | x]`` directly, so validation scores the very predictions the user gets. The plan-based paired couplings of earlier versions (``map-refined``, ``regression-map``,
``bridge-ot-softmin``, ``geodesic``, ``relation``, ``bridge-ot``, ``supervised``) stay available through
``candidates``: on noisy responses their flow means fell below ridge on stimuli outside the pools (the noisy-population
benchmark, ``docs/results/neural_alignment.md``)."""
LABEL_CANDIDATES = ("bridge-ot", "label-spreading", "supervised")
"""Label-matched defaults, in preference order for ties: the paper's bridge-OT first, so that the default leaves it only
for a candidate that validates better beyond the noise (on Fashion-MNIST features -> prompt embeddings label spreading
tied bridge-OT in validation and read out 0.2 lower), then label spreading, then supervised-only.

:data:`LABEL_FALLBACK` is the order when nothing can be validated. ``map-refined``, ``relation`` and ``regression-map`` stay available through ``candidates``:
on the digits run at 10 % labels they scored 0.59, 0.81 and 0.00 in validation against label-spreading's 0.86, and
relation alone took 15.6 of the search's 28 s (its n x m x K relation divergence). ``geodesic`` too: in the digits
(3 seeds, 1-100 % labels, both directions) and MNIST (3 seeds, 1-10 %) runs it was never chosen, scored 2-9 points
below label-spreading in validation at every fraction (the earlier tolerance rule chose it once, at 5 % on digits,
where its plan was the worse one: 0.810 against 0.921 class agreement), and took half of the search (its n x K x m min-plus and an
OT problem that, unlike label-spreading's and bridge-OT's on label codes, has no repeated columns to merge)."""


LABEL_SCORES = ("readout", "readout-flow", "class_agreement")
LABEL_FALLBACK = ("label-spreading", "bridge-ot", "supervised")
"""With one bridge per class (nothing to validate) the first of these left after screening is fitted: the candidates'
record at 1 % labels (digits: label spreading 0.823 against bridge-OT's 0.594; where label spreading collapses, as on
text prompts, the screen drops it and bridge-OT is fitted)."""

MIN_EVALUATIONS = 40
"""``repeats="auto"`` repeats the k-fold split until at least this many held-out bridges are scored per candidate."""
MAX_AUTO_REPEATS = 5
"""The most repeats ``repeats="auto"`` takes (each repeat fits every candidate ``folds`` times)."""


class SupervisedCandidate(CouplingMethod):
    """The bridges alone (:func:`neurobridge.couplings.supervised_only`): no plan, a sampler over the ``K`` pairs."""

    name = "supervised"
    kind = "sampler"
    pin_bridges = False

    def fit(self, x, y, bridges) -> Coupling:
        from ..reference import supervised_only

        return supervised_only(self._prepare(x, y, bridges)[2])


def candidate_table(*, epsilon: float | None = None, seed: int = 0) -> dict:
    """Every method ``auto`` can validate by name (``candidates=[...]``), built with ``epsilon`` and ``seed``."""
    eps = {} if epsilon is None else {"epsilon": epsilon}
    table = {
        "map-refined": lambda: MapRefinedCoupling(seed=seed, **eps),
        "map-refined-kernel": lambda: MapRefinedCoupling("kernel-ridge", seed=seed, **eps),
        "regression-map": lambda: RegressionMapCoupling(seed=seed),
        "bridge-ot": lambda: BridgeOT(cost="exact", **eps),
        "bridge-ot-softmin": lambda: BridgeOT(cost="softmin", **eps),
        "geodesic": lambda: GeodesicCoupling(**eps),
        "label-spreading": lambda: LabelSpreadingCoupling(**eps),
        "relation": lambda: RelationCoupling(**eps),
        "supervised": lambda: SupervisedCandidate(),
        "self-training": lambda: SelfTrainingCoupling(seed=seed, **eps),
        "self-training-kernel": lambda: SelfTrainingKernelCoupling(seed=seed, **eps),
        "ridge": lambda: RidgeCoupling(seed=seed),
    }
    return {name: build() for name, build in table.items()}


def default_candidates(kind: str, *, epsilon: float | None = None, seed: int = 0) -> dict:
    """The candidate methods for ``kind`` (``"paired"`` or ``"label"``), in preference order for ties."""
    table = candidate_table(epsilon=epsilon, seed=seed)
    return {name: table[name] for name in (PAIRED_CANDIDATES if kind == PAIRED else LABEL_CANDIDATES)}


def _subsample(n: int, keep: np.ndarray, size: int, rng: np.random.Generator, exclude=None) -> np.ndarray:
    """Positions ``keep`` plus a seeded random subsample of the others (never ``exclude``), ``size`` in all."""
    keep = np.unique(keep)
    others = np.setdiff1d(np.arange(n), keep if exclude is None else np.union1d(keep, exclude))
    extra = max(0, size - keep.size)
    if extra < others.size:
        others = np.sort(rng.choice(others, size=extra, replace=False))
    return np.union1d(keep, others)


def _plan_rows(coupling: Coupling, rows: np.ndarray) -> np.ndarray | None:
    if coupling.plan is None:
        return None
    P = coupling.plan
    if isinstance(P, torch.Tensor):
        return P[torch.as_tensor(rows)].detach().cpu().double().numpy()
    return np.asarray(P, dtype=np.float64)[rows]


def median_site_r(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Median over target dimensions (sites) of the Pearson r between predicted and true points. A site whose true
    values are constant has no r and is left out (a silent model unit); a constant prediction of a varying site
    scores 0. NaN when no site varies."""
    p = predicted - predicted.mean(0)
    t = truth - truth.mean(0)
    pp, tt = (p * p).sum(0), (t * t).sum(0)
    varies = tt > 1e-12 * max(float(tt.max(initial=0.0)), 1e-300)
    if not varies.any():
        return float("nan")
    denom = np.sqrt(pp * tt)[varies]
    r = np.where(denom > 0, (p * t).sum(0)[varies] / np.where(denom > 0, denom, 1.0), 0.0)
    return float(np.median(r))


def point_predictor(coupling: Coupling, Xv: np.ndarray, Yv: np.ndarray, src_train: np.ndarray, tgt_train: np.ndarray):
    """What the Aligner would predict with for new source points: the coupling's map (``log["point_estimate"]``), or,
    for a plan without one, a ridge map fitted on the pool's barycentric targets with the bridges pinned (a proxy of
    the flow's mean: the plan's ``E[y | x]`` at every pool point, extended to new points linearly); ``None`` for a
    coupling with neither (plan-free samplers: the nearest training bridge's partner is used)."""
    predictor = coupling.log.get("point_estimate")
    if predictor is not None or coupling.plan is None:
        return predictor
    from .map_refined import BridgeRegression

    targets = barycentric_targets(coupling.plan, Yv)
    targets[src_train] = Yv[tgt_train]
    return BridgeRegression("ridge").fit(Xv, Xv, targets)


def prediction_score(coupling: Coupling, Xv, Yv, src_train, tgt_train, x_held, y_held) -> float:
    """Paired validation: the median per-site Pearson r between the predicted and the true partners of the held-out
    bridges, whose points sat in neither validation pool (the inductive protocol)."""
    predictor = point_predictor(coupling, Xv, Yv, src_train, tgt_train)
    if predictor is None:
        predicted = Yv[tgt_train][_nearest(x_held, Xv[src_train])]
    else:
        predicted = np.asarray(predictor.predict(np.asarray(x_held, dtype=np.float64)), dtype=np.float64)
    return median_site_r(predicted, np.asarray(y_held, dtype=np.float64))


def _class_centroids(points: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = np.unique(labels)
    return classes, np.stack([points[labels == c].mean(0) for c in classes])


def _nearest_class(points: np.ndarray, classes: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The class whose centroid is nearest in cosine distance (the zero-shot prototype readout; Radford et al. 2021)."""
    a = points / np.linalg.norm(points, axis=1, keepdims=True).clip(1e-12)
    b = centroids / np.linalg.norm(centroids, axis=1, keepdims=True).clip(1e-12)
    return classes[(a @ b.T).argmax(1)]


READOUT_NEIGHBOURS = 5
"""``k`` of the k-nearest-neighbour regression that stands in for the flow in ``label_score="readout"``."""


def readout_score(coupling: Coupling, Xv, Yv, train, labels_train, x_held, labels_held, flow: dict | None = None,
                  seed: int = 0) -> float:
    r"""Label-matched validation on the outcome: the share of held-out source exemplars, which sat in no validation
    pool, whose transported point is read out as their class by the nearest (cosine) class centroid of the training
    target exemplars (the zero-shot prototype readout).

    The transported point stands in for the flow's: without ``flow``, a ``k``-nearest-neighbour regression
    (:data:`READOUT_NEIGHBOURS`, Euclidean in the source space) on the pairs the flow would learn from, each pool point
    with its barycentric target :math:`\bar y_i = \sum_j P_{ij} y_j / \sum_j P_{ij}` (training bridges pinned to
    their partners), or for a plan-free candidate (supervised-only) the training bridges' own pairs; with ``flow``
    (ConditionalFlow keywords) the mean of a short flow trained on the candidate's pairs. Like the flow, the regression
    carries many noisy pool pairs or a few exact ones to points it never saw; on the text-image and digits experiments
    its ranking of the candidates agreed with their full flows' test accuracy at 5, 10 and 20 % labels (the plan-level
    class agreement and the barycentric point of a pooled exemplar, which cannot see that difference, did not).
    """
    src_t, tgt_t = train
    classes, centroids = _class_centroids(Yv[tgt_t], labels_train)
    if flow is not None:
        from ...bridges import Bridges
        from ...flows import ConditionalFlow
        from ..sampling import PinnedBridges

        sampler = coupling.pair_sampler()
        if coupling.log.get("pin_bridges", True) and coupling.plan is not None:
            sampler = PinnedBridges(sampler, Bridges.from_indices(src_t, tgt_t, labels_train, n_source=len(Xv), n_target=len(Yv)))
        model = ConditionalFlow(**{"seed": seed, "progress": False, **flow}).fit(Xv.astype(np.float32), Yv.astype(np.float32), sampler=sampler)
        points = np.asarray(model.transport(np.asarray(x_held, dtype=np.float32), n_samples=4, steps=8, seed=seed).mean,
                            dtype=np.float64)
    else:
        if coupling.plan is None:
            xs, ys = Xv[src_t], Yv[tgt_t]
        else:
            xs = Xv
            ys = barycentric_targets(coupling.plan, Yv)
            ys[src_t] = Yv[tgt_t]
        d = distances(torch.as_tensor(np.asarray(x_held, dtype=np.float64)), torch.as_tensor(xs), "sqeuclidean")
        k = min(READOUT_NEIGHBOURS, len(xs))
        nearest = torch.topk(d, k, dim=1, largest=False).indices.numpy()
        points = ys[nearest].mean(1)
    return float(np.mean(_nearest_class(points, classes, centroids) == labels_held))


def spreading_imbalance(posteriors: list[np.ndarray], codes: np.ndarray, n_classes: int) -> float:
    r"""How far label spreading's class assignment strays from the bridges' class balance: the largest, over the pools,
    total-variation distance :math:`\tfrac12 \sum_c |\hat\pi_c - \pi_c|` between the shares of pool points whose
    posterior's argmax is class ``c`` and the shares of the bridges in class ``c``. A graph whose neighbourhoods follow
    something other than class (text prompts cluster by template, not by class) hands whole clusters to one seed and
    leaves other classes without points; its imbalance is large."""
    expected = np.bincount(codes, minlength=n_classes) / len(codes)
    worst = 0.0
    for posterior in posteriors:
        assigned = np.bincount(np.asarray(posterior).argmax(1), minlength=n_classes) / len(posterior)
        worst = max(worst, 0.5 * float(np.abs(assigned - expected).sum()))
    return worst


def neighbourhood_agreement(points: np.ndarray, index, labels, metric: str = "cosine") -> float:
    """How class-consistent a pool's neighbourhoods are on its bridges: the share of distinct bridge points whose
    nearest other distinct bridge point (in the graph's ``metric``) has the same class. NaN when no class has two
    distinct bridge points (one labelled point per class, or label codes shared by a whole class), where nothing can
    be compared."""
    index, labels = np.asarray(index), np.asarray(labels)
    distinct, first = np.unique(index, return_index=True)
    classes = labels[first]
    _, counts = np.unique(classes, return_counts=True)
    if distinct.size < 3 or not (counts >= 2).any():
        return float("nan")
    d = distances(torch.as_tensor(np.asarray(points, dtype=np.float64)[distinct]),
                  torch.as_tensor(np.asarray(points, dtype=np.float64)[distinct]), metric).numpy()
    np.fill_diagonal(d, np.inf)
    has_mate = np.isin(classes, np.unique(classes)[counts >= 2])
    return float(np.mean(classes[d.argmin(1)][has_mate] == classes[has_mate]))


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return distances(torch.as_tensor(a), torch.as_tensor(b), "sqeuclidean").argmin(1).numpy()


VALIDATION_FLOW = {"network": "mlp", "network_kwargs": {"width": 128, "depth": 2}, "steps": 150, "batch_size": 128,
                   "lr": 2e-3, "device": "cpu"}
"""The short flow of ``label_score="readout-flow"`` (overridden by ``validation_flow``)."""

_VALIDATION_SOLVER = {"tol": 1e-3, "max_iter": 3000, "on_fail": "warn"}


def _pools_for(method, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pools as ``method`` gets them: float32 for :class:`BridgeOT` (its cost is computed in the pools' dtype, and
    float64 made the min-plus about 3x slower on digits at 100 % labels for no change in the plan's class agreement),
    float64 for the others."""
    if isinstance(method, BridgeOT):
        return X.astype(np.float32), Y.astype(np.float32)
    return X, Y


def _validation_copy(method):
    """A copy of ``method`` whose OT solve is looser (marginal error 1e-3, at most 3,000 iterations, no failure) for the
    validation folds, when the method exposes ``solver_kwargs`` and leaves it at its default."""
    params = method.get_params() if callable(getattr(method, "get_params", None)) else None
    if not params or "solver_kwargs" not in params or params["solver_kwargs"] is not None:
        return method
    return type(method)(**{**params, "solver_kwargs": dict(_VALIDATION_SOLVER)})


class AutoCoupling(CouplingMethod):
    """Pick the coupling by repeated k-fold validation over the bridges (see the module docstring), then fit it on all
    bridges.

    Parameters
    ----------
    candidates : ``None`` (the defaults for the bridge kind: :data:`PAIRED_CANDIDATES` or :data:`LABEL_CANDIDATES`),
        a list of those names, or a dict ``name -> CouplingMethod``; the order is the preference order for ties.
    folds : number of validation folds ``k`` (default 3; fewer when there are fewer target groups).
    repeats : how many times the k-fold split is drawn afresh (an integer >= 1), or ``"auto"`` (default): enough for
        :data:`MIN_EVALUATIONS` scored held-out bridges, at most :data:`MAX_AUTO_REPEATS`, so repeats only where the
        bridges are few.
    rule : ``"one-se"`` (default: tie margin ``max(tolerance, SE)``, the paired standard error of the difference to
        the best candidate) or ``"tolerance"`` (tie margin ``tolerance``).
    validation_size : paired bridges: the largest pools validated in full (larger ones are validated on the bridge
        points alone, and on a seeded subsample of ``validation_size`` of their target points when the bridges reach
        more; ``log["validation_bridges"]`` says how many bridges the folds used).
    label_validation_size : label-matched bridges: points per pool in each validation problem (bridge points plus a
        random subsample). Default 2,000: on digits at 10 % labels, 400-point pools thinned the k-NN graph until
        label spreading scored below the supervised-only candidate (0.87 vs 0.90), while on the full pools it scored
        0.95, as on the whole problem.
    bridge_type : ``"auto"`` (from ``bridges.match``: ``"stimulus_id"`` is paired), ``"paired"`` or ``"label"``.
    epsilon : passed to every candidate that takes it (``None``: each candidate's own default).
    tolerance : the smallest tie margin, a difference of mean scores (default 0.02; 0 with ``rule="tolerance"``
        picks the best mean outright).
    seed : the folds and subsamples.
    label_score : label-matched validation score: ``"readout"`` (default), ``"readout-flow"`` or ``"class_agreement"``
        (see the module docstring).
    validation_flow : ConditionalFlow keywords of ``label_score="readout-flow"``'s short flow (default
        :data:`VALIDATION_FLOW`).
    consistency_threshold : the label-spreading screen's smallest neighbourhood agreement on the bridges
        (:func:`neighbourhood_agreement`, default 0.5).
    progress : a progress bar over the validation fits (the Aligner passes its own ``progress``).
    collapse_threshold : the label-spreading screen's largest class imbalance (total variation, default 0.2).
    share_graphs : build each pool's k-NN graph once, and grow each geodesic shortest-path tree once, across the
        validation folds and the final fit (:func:`neurobridge.couplings.graph.shared_graphs`; default ``True``). The
        choice and the plan are those computed without sharing; ``False`` recomputes them in every fit.
    """

    name = "auto"
    kind = "plan"

    def __init__(self, candidates=None, *, folds: int = 3, repeats="auto", rule: str = "one-se", validation_size: int = 1000,
                 bridge_type: str = "auto", label_validation_size: int = 2000, epsilon: float | None = None,
                 tolerance: float = 0.02, seed: int = 0, share_graphs: bool = True, progress: bool = False, label_score: str = "readout",
                 validation_flow: dict | None = None, collapse_threshold: float = 0.2, consistency_threshold: float = 0.5):
        self.consistency_threshold = consistency_threshold
        self.label_score = label_score
        self.validation_flow = validation_flow
        self.collapse_threshold = collapse_threshold
        self.candidates = candidates
        self.share_graphs = share_graphs
        self.progress = progress
        self.label_validation_size = label_validation_size
        self.tolerance = tolerance
        self.folds = folds
        self.repeats = repeats
        self.rule = rule
        self.validation_size = validation_size
        self.bridge_type = bridge_type
        self.epsilon = epsilon
        self.seed = seed

    def _kind(self, bridges) -> str:
        if self.bridge_type not in ("auto", PAIRED, LABEL):
            raise CouplingError(f"bridge_type must be 'auto', 'paired' or 'label'; got {self.bridge_type!r}")
        kind = bridge_kind(bridges) if self.bridge_type == "auto" else self.bridge_type
        if kind == LABEL and bridges.labels is None:
            raise CouplingError("bridge_type='label' needs bridge labels; these bridges have none")
        return kind

    def _candidates(self, kind: str) -> dict:
        if self.candidates is None:
            return default_candidates(kind, epsilon=self.epsilon, seed=self.seed)
        if isinstance(self.candidates, dict):
            out = dict(self.candidates)
        else:
            defaults = candidate_table(epsilon=self.epsilon, seed=self.seed)
            unknown = [c for c in self.candidates if c not in defaults]
            if unknown:
                raise CouplingError(f"unknown candidates {unknown}; choose among {sorted(defaults)} or pass a dict name -> CouplingMethod")
            out = {name: defaults[name] for name in self.candidates}
        if not out:
            raise CouplingError("candidates is empty; give at least one coupling method")
        for name, method in out.items():
            if not callable(getattr(method, "fit", None)):
                raise CouplingError(f"candidate {name!r} has no fit(x, y, bridges) method; got {type(method).__name__}")
        return out

    def check_params(self) -> None:
        """Every parameter, before any data is touched (types and ranges; the error names the parameter)."""
        from ..._validation import check_float, check_int, check_number, check_seed

        as_coupling_error(check_int, self.folds, "folds", low=2)
        if not (isinstance(self.repeats, str) and self.repeats == "auto"):
            if isinstance(self.repeats, str):
                raise CouplingError(f"repeats must be 'auto' or an integer >= 1; got {self.repeats!r}")
            as_coupling_error(check_int, self.repeats, "repeats", low=1)
        if self.rule not in RULES:
            raise CouplingError(f"rule must be one of {RULES} ('one-se': one-standard-error rule; 'tolerance': a fixed "
                                f"margin); got {self.rule!r}")
        as_coupling_error(check_float, self.tolerance, "tolerance", low=0.0, high=1.0, high_open=True)
        as_coupling_error(check_int, self.validation_size, "validation_size", low=2)
        as_coupling_error(check_int, self.label_validation_size, "label_validation_size", low=2)
        as_coupling_error(check_number, self.epsilon, "epsilon", low=0.0, allow_none=True)
        as_coupling_error(check_seed, self.seed)
        if self.label_score not in LABEL_SCORES:
            raise CouplingError(f"label_score must be one of {LABEL_SCORES}; got {self.label_score!r}")
        if self.validation_flow is not None and not isinstance(self.validation_flow, dict):
            raise CouplingError(f"validation_flow must be a dict of ConditionalFlow keywords or None; got {self.validation_flow!r}")
        as_coupling_error(check_float, self.collapse_threshold, "collapse_threshold", low=0.0, high=1.0)
        as_coupling_error(check_float, self.consistency_threshold, "consistency_threshold", low=0.0, high=1.0)
        if self.bridge_type not in ("auto", PAIRED, LABEL):
            raise CouplingError(f"bridge_type must be 'auto', {PAIRED!r} or {LABEL!r}; got {self.bridge_type!r}")

    def _check(self, K: int) -> int:
        self.check_params()
        return int(self.folds)

    def _strata(self, bridges, kind: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """Target group of each bridge, and the groups of each stratum (one stratum for paired bridges, one per
        class for label-matched ones)."""
        targets, group = np.unique(np.asarray(bridges.target_index), return_inverse=True)
        if kind != LABEL or bridges.labels is None:
            return group, [np.arange(targets.size)]
        first = np.zeros(targets.size, dtype=np.int64)
        first[group[::-1]] = np.arange(group.size)[::-1]
        label_of_group = np.asarray(bridges.labels)[first]
        return group, [np.flatnonzero(label_of_group == c) for c in np.unique(label_of_group)]

    def _assignments(self, bridges, kind: str, repeats: int) -> list[np.ndarray]:
        """Fold of each bridge in each of ``repeats`` seeded shuffles: within each stratum the target groups are
        shuffled and dealt round-robin into the folds, the deal continuing across strata."""
        group, strata = self._strata(bridges, kind)
        n_groups = int(group.max()) + 1
        folds = min(int(self.folds), n_groups)
        if folds < 2:
            raise CouplingError(f"auto needs bridges to at least 2 distinct target points to validate; got {n_groups}")
        rng = np.random.default_rng(self.seed)
        out = []
        for _ in range(repeats):
            fold_of_group = np.empty(n_groups, dtype=np.int64)
            offset = 0
            for members in strata:
                order = members[rng.permutation(members.size)]
                fold_of_group[order] = (offset + np.arange(members.size)) % folds
                offset += members.size
            out.append(fold_of_group[group])
        return out

    def fold_ids(self, bridges) -> np.ndarray:
        """Fold of each bridge in the first split (stratified by class for label-matched bridges)."""
        return self._assignments(bridges, self._kind(bridges), 1)[0]

    @staticmethod
    def _scored(fold: np.ndarray, f: int, labels) -> np.ndarray:
        """Held-out bridges of fold ``f`` that are scored: all of them (paired), or those whose class has a training
        bridge (label-matched)."""
        held = fold == f
        if labels is None:
            return held
        return held & np.isin(labels, labels[fold != f])

    def _n_repeats(self, first: np.ndarray, labels) -> int:
        if not isinstance(self.repeats, str):
            return int(self.repeats)
        scored = sum(int(self._scored(first, f, labels).sum()) for f in np.unique(first))
        if scored == 0:
            return 1
        return int(min(MAX_AUTO_REPEATS, max(1, math.ceil(MIN_EVALUATIONS / scored))))

    def _score(self, coupling, kind, Xv, Yv, train, held, labels_train, labels_held) -> float:
        src_h, tgt_h = held
        src_t, tgt_t = train
        rows = _plan_rows(coupling, src_h)
        cols, col_labels = np.unique(tgt_h, return_index=True)
        if kind == PAIRED:
            mapped = coupling.log.get("mapped_source") if getattr(coupling, "kind", None) == "map" or coupling.method == "regression-map" else None
            if rows is None:
                guess = cols[_nearest(Yv[tgt_t[_nearest(Xv[src_h], Xv[src_t])]], Yv[cols])]
            elif mapped is not None:
                guess = cols[_nearest(np.asarray(mapped)[src_h], Yv[cols])]
            else:
                guess = cols[rows[:, cols].argmax(1)]
            return float(np.mean(guess == tgt_h))
        col_labels = labels_held[col_labels]
        if rows is None:
            predicted = labels_train[_nearest(Xv[src_h], Xv[src_t])]
            return float(np.mean(predicted == labels_held))
        sub = rows[:, cols]
        mass = sub.sum(1)
        same = (sub * (col_labels[None, :] == labels_held[:, None])).sum(1)
        ok = mass > 0
        if not ok.any():
            return 0.0
        return float(np.mean(np.where(ok, same / np.where(ok, mass, 1.0), 0.0)))

    def _choose(self, candidates: dict, scores: dict, errors: dict, folds: int) -> tuple[str, dict]:
        """The winner and each candidate's ``mean``, ``gap``, ``se`` and ``margin`` (:func:`.selection.choose`)."""
        return choose(list(candidates), scores, errors, folds, rule=self.rule, tolerance=self.tolerance)

    def fit(self, x, y, bridges) -> Coupling:
        if not isinstance(self.share_graphs, (bool, np.bool_)):
            raise CouplingError(f"share_graphs must be True or False; got {self.share_graphs!r}")
        self.screened_, self.screening_, self.agreement_ = {}, {}, {}
        if not self.share_graphs:
            return self._with_screening(self._fit(x, y, bridges))
        with shared_graphs() as cache:
            coupling = self._fit(x, y, bridges)
        return self._with_screening(coupling).with_log(graph_builds=cache.builds, graph_reuses=cache.hits,
                                                       shortest_path_trees=cache.trees)

    def _with_screening(self, coupling: Coupling) -> Coupling:
        """``log["screened"]`` (candidates dropped before validation, with the reason) and ``log["imbalance"]``; each
        screened candidate also appears in ``log["selection"]`` with its reason under ``"screened"``."""
        selection = dict(coupling.log.get("selection") or {})
        nan = float("nan")
        for name, reason in self.screened_.items():
            selection[name] = {"mean": nan, "sd": nan, "se": nan, "gap": nan, "margin": nan, "scores": [], "held_out": 0,
                               "seconds": 0.0, "chosen": False, "screened": reason}
        return coupling.with_log(selection=selection, screened=dict(self.screened_), imbalance=dict(self.screening_),
                                 agreement=dict(self.agreement_))

    def _screen(self, candidates: dict, X, Y, bridges) -> dict:
        """Candidates dropped before validation, with the reason: label spreading on graphs whose spread classes stray
        from the bridges' class balance by more than ``collapse_threshold`` (:func:`spreading_imbalance`)."""
        method = candidates.get("label-spreading")
        if not isinstance(method, LabelSpreadingCoupling) or len(candidates) < 2:
            return {}
        from ..graph import knn_graph, label_spreading

        classes, codes = np.unique(np.asarray(bridges.labels), return_inverse=True)
        posteriors = [label_spreading(knn_graph(P, method.k, metric=method.metric), index, codes, len(classes), alpha=method.alpha,
                                      affinity=method.affinity)
                      for P, index in ((X, bridges.source_index), (Y, bridges.target_index))]
        imbalance = spreading_imbalance(posteriors, codes, len(classes))
        labels = np.asarray(bridges.labels)
        agreement = [neighbourhood_agreement(P, index, labels, method.metric)
                     for P, index in ((X, bridges.source_index), (Y, bridges.target_index))]
        self.screening_ = {"label-spreading": imbalance}
        self.agreement_ = {"source": agreement[0], "target": agreement[1]}
        if imbalance > self.collapse_threshold:
            return {"label-spreading": f"its spread classes stray from the bridges' class balance by {imbalance:.2f} "
                                       f"(total variation; more than collapse_threshold={self.collapse_threshold})"}
        low = [(side, value) for side, value in zip(("source", "target"), agreement) if value < self.consistency_threshold]
        if low:
            side, value = low[0]
            return {"label-spreading": f"the {side} pool's neighbourhoods are not class-consistent on the bridges: "
                                       f"{value:.2f} of its bridge points have a nearest bridge point of their class "
                                       f"(less than consistency_threshold={self.consistency_threshold})"}
        return {}

    def _validation_bridges(self, bridges, kind: str, n: int, m: int):
        """The bridges the folds are drawn from. Paired bridges on pools larger than ``validation_size`` are validated
        on the bridge points alone; when they reach more than ``validation_size`` target points, a seeded subsample of
        ``validation_size`` target points and all their bridges is used (each candidate is fitted once per fold on
        those points, so the search no longer grows with the number of bridges). Otherwise all bridges."""
        if kind != PAIRED or max(n, m) <= self.validation_size:
            return bridges
        ti = np.asarray(bridges.target_index)
        targets = np.unique(ti)
        if targets.size <= self.validation_size:
            return bridges
        from ...bridges import Bridges

        keep = np.random.default_rng([int(self.seed), 1]).choice(targets, size=int(self.validation_size), replace=False)
        mask = np.isin(ti, keep)
        labels = None if bridges.labels is None else np.asarray(bridges.labels)[mask]
        return Bridges.from_indices(np.asarray(bridges.source_index)[mask], ti[mask], labels, n_source=n, n_target=m,
                                    match=bridges.match)

    def _fit(self, x, y, bridges) -> Coupling:
        X, Y = pool_arrays(x, y)
        check_pool(X, "source", "cosine")
        check_pool(Y, "target", "cosine")
        bridges = check_bridges(bridges, len(X), len(Y), self.name)
        self._check(len(bridges))
        kind = self._kind(bridges)
        candidates = self._candidates(kind)
        from ...bridges import Bridges

        self.screened_ = self._screen(candidates, X, Y, bridges) if kind == LABEL else {}
        candidates = {name: method for name, method in candidates.items() if name not in self.screened_}
        all_bridges = bridges
        bridges = self._validation_bridges(bridges, kind, len(X), len(Y))
        si, ti = np.asarray(bridges.source_index), np.asarray(bridges.target_index)
        labels = None if bridges.labels is None or kind != LABEL else np.asarray(bridges.labels)
        if np.unique(ti).size < 2:
            return self._unvalidated(candidates, X, Y, all_bridges, kind, "the bridges reach a single target point, so no fold can be held out")
        first = self._assignments(bridges, kind, 1)[0]
        n_folds = int(first.max()) + 1
        repeats = self._n_repeats(first, labels)
        assignments = self._assignments(bridges, kind, repeats)
        validators = {name: _validation_copy(method) for name, method in candidates.items()}
        rng = np.random.default_rng(self.seed)
        scores = {name: [] for name in candidates}
        held_out = {name: 0 for name in candidates}
        errors: dict[str, str] = {}
        seconds = {name: 0.0 for name in candidates}
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(np.unique(fold).size for fold in assignments) * len(validators), desc="auto: validating couplings",
                   unit="fit", disable=not self.progress, leave=False)
        for fold in assignments:
            for f in np.unique(fold):
                tr, te = fold != f, self._scored(fold, f, labels)
                if not te.any():
                    bar.update(len(validators))
                    continue
                held = fold == f
                if kind == PAIRED:
                    xs = _subsample(len(X), si[tr], self.validation_size, rng, exclude=si[held])
                    ys = _subsample(len(Y), ti[tr], self.validation_size, rng, exclude=ti[held])
                elif self.label_score in ("readout", "readout-flow"):
                    xs = _subsample(len(X), si[tr], self.label_validation_size, rng, exclude=si[held])
                    ys = _subsample(len(Y), ti, self.label_validation_size, rng)
                else:
                    xs = _subsample(len(X), si, self.label_validation_size, rng)
                    ys = _subsample(len(Y), ti, self.label_validation_size, rng)
                sx, sy = np.searchsorted(xs, si).clip(0, len(xs) - 1), np.searchsorted(ys, ti)
                train_b = Bridges.from_indices(sx[tr], sy[tr], None if bridges.labels is None else np.asarray(bridges.labels)[tr],
                                               n_source=len(xs), n_target=len(ys), match=bridges.match)
                Xv, Yv = X[xs], Y[ys]
                for name, method in validators.items():
                    bar.update(1)
                    if name in errors:
                        continue
                    t0 = time.perf_counter()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            coupling = method.fit(*_pools_for(method, Xv, Yv), train_b)
                    except Exception as exc:  # a candidate that cannot run on these bridges drops out, with the reason logged
                        errors[name] = f"{type(exc).__name__}: {exc}"
                        continue
                    seconds[name] += time.perf_counter() - t0
                    if kind == PAIRED:
                        scores[name].append(prediction_score(coupling, Xv, Yv, sx[tr], sy[tr], X[si[te]], Y[ti[te]]))
                    elif self.label_score in ("readout", "readout-flow"):
                        flow = (self.validation_flow or dict(VALIDATION_FLOW)) if self.label_score == "readout-flow" else None
                        scores[name].append(readout_score(coupling, Xv, Yv, (sx[tr], sy[tr]), labels[tr], X[si[te]], labels[te],
                                                          flow=flow, seed=self.seed))
                    else:
                        scores[name].append(self._score(coupling, kind, Xv, Yv, (sx[tr], sy[tr]), (sx[te], sy[te]),
                                                        None if labels is None else labels[tr], None if labels is None else labels[te]))
                    held_out[name] += int(te.sum())
        bar.close()
        if not any(scores.values()) and not errors:
            return self._unvalidated(candidates, X, Y, all_bridges, kind, "no held-out bridge has a class with a training bridge "
                                     "(every class has a single bridge), so the folds cannot be scored")
        informative = [scores[name] for name in candidates if name not in errors and scores[name]]
        uninformative = len(informative) > 1 and all(np.array_equal(informative[0], other) for other in informative[1:])
        if uninformative and kind == LABEL and self.candidates is None:
            candidates = {name: candidates[name] for name in LABEL_FALLBACK if name in candidates}
        chosen, stats = self._choose(candidates, scores, errors, n_folds)
        nan = float("nan")
        selection = {
            name: {"mean": stats.get(name, {}).get("mean", nan), "sd": float(np.std(scores[name])) if scores[name] else nan,
                   "se": stats.get(name, {}).get("se", nan), "gap": stats.get(name, {}).get("gap", nan),
                   "margin": stats.get(name, {}).get("margin", nan), "scores": list(scores[name]), "held_out": held_out[name],
                   "seconds": seconds[name], "chosen": name == chosen, **({"error": errors[name]} if name in errors else {})}
            for name in candidates
        }
        coupling = self._final(candidates, chosen, X, Y, all_bridges)
        return coupling.with_log(selection=selection, selected=chosen, bridge_type=kind, tolerance=self.tolerance, rule=self.rule,
                                 repeats=repeats, folds=n_folds, validated=True, validation_bridges=len(bridges),
                                 score="median_site_r" if kind == PAIRED else self.label_score,
                                 pin_bridges=bool(getattr(candidates[chosen], "pin_bridges", True)))

    @staticmethod
    def _final(candidates: dict, chosen: str, X, Y, bridges) -> Coupling:
        coupling = candidates[chosen].fit(*_pools_for(candidates[chosen], X, Y), bridges)
        return replace(coupling, method=chosen) if isinstance(candidates[chosen], BridgeOT) else coupling

    def _unvalidated(self, candidates: dict, X, Y, bridges, kind: str, reason: str) -> Coupling:
        order = [name for name in LABEL_FALLBACK if name in candidates] if kind == LABEL and self.candidates is None else []
        first = (order or list(candidates))[0]
        warnings.warn(f"auto: {reason}; fitting {first!r} (the first candidate left in the no-validation order) without "
                      "validation", RuntimeWarning, stacklevel=3)
        nan = float("nan")
        selection = {name: {"mean": nan, "sd": nan, "se": nan, "gap": nan, "margin": nan, "scores": [], "held_out": 0,
                            "seconds": 0.0, "chosen": name == first} for name in candidates}
        return self._final(candidates, first, X, Y, bridges).with_log(
            selection=selection, selected=first, bridge_type=kind, score=None, tolerance=self.tolerance, rule=self.rule,
            repeats=0, folds=0, validated=False, pin_bridges=bool(getattr(candidates[first], "pin_bridges", True)))
