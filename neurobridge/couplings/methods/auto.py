r"""``coupling="auto"``: choose the coupling by k-fold validation over the bridges.

The bridges are split into ``folds`` groups by their target point (so a held-out bridge's partner is never a
training bridge's partner: with several trials of one stimulus, all of them are held out together). For each fold
every candidate is fitted on the other bridges, on validation pools that keep the search cheap, and scored on the
held-out bridges. Label-matched bridges: each pool holds its bridge points plus a seeded random subsample of its
unlabelled points, ``label_validation_size`` points in all. Paired bridges: the full pools when both hold at most
``validation_size`` points, else the bridge points alone (every source then has its partner in the target pool; a
random subsample would drop most partners, and balanced OT would have to send those sources elsewhere):

- paired bridges: *partner retrieval*, the share of held-out source exemplars whose plan row, among the held-out
  target exemplars, puts its largest entry on the true partner (for a map: whose mapped point is nearest to it).
  Restricting to the held-out targets keeps the score fair to keypoint-guided candidates, which by construction never
  send an unlabelled point to a training bridge's target;
- label-matched bridges: *class agreement*, the plan's mass from held-out source exemplars to held-out target
  exemplars of the same class, over its mass to all held-out target exemplars (a map: the class of the nearest
  held-out target exemplar).

The supervised-only candidate has no plan; it is scored as the bridges alone would predict: a held-out source point
takes the partner of its nearest training bridge (its class, or the held-out target nearest that partner). During validation each candidate's OT step is
solved to a marginal error of 1e-3 in at most 3,000 iterations (the final fit uses the candidate as given). The
earliest candidate in ``candidates`` whose mean score is within ``tolerance`` of the best wins; it is fitted once on all bridges and its
Coupling returned, with ``log["selection"]`` = ``{candidate: {"mean", "sd", "scores", "chosen"}}`` and
``log["selected"]`` = the winner's name. This is scikit-learn's habit of choosing defaults by validation
(``RidgeCV``, ``GridSearchCV``) applied to the coupling.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from ..cost import bridge_cost, distances
from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from .._checks import check_pool
from ._support import LABEL, PAIRED, as_coupling_error, bridge_kind, check_bridges, check_positive, entropic_plan, pool_arrays
from .geodesic import GeodesicCoupling
from .label_spreading import LabelSpreadingCoupling
from .map_refined import MapRefinedCoupling, RegressionMapCoupling
from .relation import RelationCoupling

__all__ = ["AutoCoupling", "BridgeCostCoupling", "SupervisedCandidate", "default_candidates", "PAIRED_CANDIDATES", "LABEL_CANDIDATES"]

PAIRED_CANDIDATES = ("map-refined", "map-refined-kernel", "regression-map", "bridge-ot-softmin", "geodesic", "relation", "bridge-ot", "supervised")
LABEL_CANDIDATES = ("label-spreading", "geodesic", "map-refined", "bridge-ot", "relation", "regression-map", "supervised")


class BridgeCostCoupling(CouplingMethod):
    """Entropic OT on the paper's bridge cost (:func:`neurobridge.couplings.bridge_cost`): ``mode="exact"`` is the
    paper's min-plus, ``"softmin"`` its smooth variant (temperature ``temperature``). A candidate of ``auto``."""

    name = "bridge-cost"
    kind = "plan"

    def __init__(self, mode: str = "exact", *, metric: str = "cosine", temperature: float = 0.05, epsilon: float = 1e-2,
                 unbalanced=None, solver_kwargs: dict | None = None):
        self.mode = mode
        self.metric = metric
        self.temperature = temperature
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.solver_kwargs = solver_kwargs

    def fit(self, x, y, bridges) -> Coupling:
        check_positive(self.epsilon, "epsilon")
        X, Y = pool_arrays(x, y)
        check_bridges(bridges, len(X), len(Y), "bridge-ot")
        cost = bridge_cost(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Y, dtype=torch.float32), bridges,
                           metric=self.metric, mode=self.mode, temperature=self.temperature)
        return entropic_plan(cost.cost, self.epsilon, self.unbalanced, self.solver_kwargs, f"bridge-ot-{self.mode}")


class SupervisedCandidate(CouplingMethod):
    """The bridges alone (:func:`neurobridge.couplings.supervised_only`): no plan, a sampler over the ``K`` pairs."""

    name = "supervised"
    kind = "sampler"
    pin_bridges = False

    def fit(self, x, y, bridges) -> Coupling:
        from ..reference import supervised_only

        X, Y = pool_arrays(x, y)
        return supervised_only(check_bridges(bridges, len(X), len(Y), self.name))


def default_candidates(kind: str, *, epsilon: float | None = None, seed: int = 0) -> dict:
    """The candidate methods for ``kind`` (``"paired"`` or ``"label"``), in preference order for ties."""
    eps = {} if epsilon is None else {"epsilon": epsilon}
    table = {
        "map-refined": lambda: MapRefinedCoupling(seed=seed, **eps),
        "map-refined-kernel": lambda: MapRefinedCoupling("kernel-ridge", seed=seed, **eps),
        "regression-map": lambda: RegressionMapCoupling(seed=seed),
        "bridge-ot": lambda: BridgeCostCoupling("exact", **eps),
        "bridge-ot-softmin": lambda: BridgeCostCoupling("softmin", **eps),
        "geodesic": lambda: GeodesicCoupling(**eps),
        "label-spreading": lambda: LabelSpreadingCoupling(**eps),
        "relation": lambda: RelationCoupling(**eps),
        "supervised": lambda: SupervisedCandidate(),
    }
    names = PAIRED_CANDIDATES if kind == PAIRED else LABEL_CANDIDATES
    return {name: table[name]() for name in names}


def _subsample(n: int, keep: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    keep = np.unique(keep)
    others = np.setdiff1d(np.arange(n), keep)
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


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return distances(torch.as_tensor(a), torch.as_tensor(b), "sqeuclidean").argmin(1).numpy()


_VALIDATION_SOLVER = {"tol": 1e-3, "max_iter": 3000, "on_fail": "warn"}


def _validation_copy(method):
    """A copy of ``method`` whose OT solve is looser (marginal error 1e-3, at most 3,000 iterations, no failure) for the
    validation folds, when the method exposes ``solver_kwargs`` and leaves it at its default."""
    params = method.get_params() if callable(getattr(method, "get_params", None)) else None
    if not params or "solver_kwargs" not in params or params["solver_kwargs"] is not None:
        return method
    return type(method)(**{**params, "solver_kwargs": dict(_VALIDATION_SOLVER)})


class AutoCoupling(CouplingMethod):
    """Pick the coupling by k-fold validation over the bridges (see the module docstring), then fit it on all bridges.

    Parameters
    ----------
    candidates : ``None`` (the defaults for the bridge kind: :data:`PAIRED_CANDIDATES` or :data:`LABEL_CANDIDATES`),
        a list of those names, or a dict ``name -> CouplingMethod``.
    folds : number of validation folds (default 3; fewer when there are fewer target groups).
    validation_size : paired bridges: the largest pools validated in full (larger ones are validated on the bridge
        points alone).
    label_validation_size : label-matched bridges: points per pool in each validation problem (bridge points plus a
        random subsample). Default 2,000: on digits at 10 % labels, 400-point pools thinned the k-NN graph until
        label spreading scored below the supervised-only candidate (0.87 vs 0.90), while on the full pools it scored
        0.95, as on the whole problem.
    bridge_type : ``"auto"`` (from ``bridges.match``: ``"stimulus_id"`` is paired), ``"paired"`` or ``"label"``.
    epsilon : passed to every candidate that takes it (``None``: each candidate's own default).
    tolerance : candidates whose mean score is within ``tolerance`` of the best count as tied, and the earliest of
        them in ``candidates`` wins (default 0.02: with a few dozen held-out bridges per fold one bridge moves a score
        by about 0.03, so smaller differences are noise; 0 picks the best mean outright).
    seed : the folds and subsamples.
    """

    name = "auto"
    kind = "plan"

    def __init__(self, candidates=None, *, folds: int = 3, validation_size: int = 400, bridge_type: str = "auto",
                 label_validation_size: int = 2000, epsilon: float | None = None, tolerance: float = 0.02, seed: int = 0):
        self.candidates = candidates
        self.label_validation_size = label_validation_size
        self.tolerance = tolerance
        self.folds = folds
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
            defaults = default_candidates(PAIRED, epsilon=self.epsilon, seed=self.seed) | default_candidates(LABEL, epsilon=self.epsilon, seed=self.seed)
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
        as_coupling_error(check_float, self.tolerance, "tolerance", low=0.0, high=1.0, high_open=True)
        as_coupling_error(check_int, self.validation_size, "validation_size", low=2)
        as_coupling_error(check_int, self.label_validation_size, "label_validation_size", low=2)
        as_coupling_error(check_number, self.epsilon, "epsilon", low=0.0, allow_none=True)
        as_coupling_error(check_seed, self.seed)
        if self.bridge_type not in ("auto", PAIRED, LABEL):
            raise CouplingError(f"bridge_type must be 'auto', {PAIRED!r} or {LABEL!r}; got {self.bridge_type!r}")

    def _check(self, K: int) -> int:
        self.check_params()
        if isinstance(self.folds, bool) or not isinstance(self.folds, (int, np.integer)) or self.folds < 2:
            raise CouplingError(f"folds must be an integer >= 2; got {self.folds!r}")
        if not 0 <= self.tolerance < 1:
            raise CouplingError(f"tolerance must lie in [0, 1) (a difference of mean validation scores); got {self.tolerance!r}")
        if isinstance(self.validation_size, bool) or not isinstance(self.validation_size, (int, np.integer)) or self.validation_size < 2:
            raise CouplingError(f"validation_size must be an integer >= 2; got {self.validation_size!r}")
        return int(self.folds)

    def fold_ids(self, bridges) -> np.ndarray:
        """Fold of each bridge: target points are shuffled (seeded) and dealt round-robin into the folds."""
        targets, group = np.unique(np.asarray(bridges.target_index), return_inverse=True)
        folds = min(int(self.folds), targets.size)
        if folds < 2:
            raise CouplingError(f"auto needs bridges to at least 2 distinct target points to validate; got {targets.size}")
        order = np.random.default_rng(self.seed).permutation(targets.size)
        fold_of_group = np.empty(targets.size, dtype=np.int64)
        fold_of_group[order] = np.arange(targets.size) % folds
        return fold_of_group[group]

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

    def fit(self, x, y, bridges) -> Coupling:
        X, Y = pool_arrays(x, y)
        check_pool(X, "source", "cosine")
        check_pool(Y, "target", "cosine")
        bridges = check_bridges(bridges, len(X), len(Y), self.name)
        self._check(len(bridges))
        kind = self._kind(bridges)
        candidates = self._candidates(kind)
        from ...bridges import Bridges

        si, ti = np.asarray(bridges.source_index), np.asarray(bridges.target_index)
        labels = None if bridges.labels is None else np.asarray(bridges.labels)
        if np.unique(np.asarray(bridges.target_index)).size < 2:
            first = next(iter(candidates))
            warnings.warn(f"auto: the bridges reach a single target point, so no fold can be held out; fitting the first "
                          f"candidate, {first!r}, without validation", RuntimeWarning, stacklevel=2)
            selection = {name: {"mean": float("nan"), "sd": float("nan"), "scores": [], "seconds": 0.0, "chosen": name == first}
                         for name in candidates}
            return candidates[first].fit(X, Y, bridges).with_log(selection=selection, selected=first, bridge_type=kind, score=None,
                                                                 pin_bridges=bool(getattr(candidates[first], "pin_bridges", True)))
        fold = self.fold_ids(bridges)
        validators = {name: _validation_copy(method) for name, method in candidates.items()}
        rng = np.random.default_rng(self.seed)
        scores = {name: [] for name in candidates}
        errors: dict[str, str] = {}
        seconds = {name: 0.0 for name in candidates}
        for f in np.unique(fold):
            tr, te = fold != f, fold == f
            if kind == PAIRED and max(len(X), len(Y)) > self.validation_size:
                xs, ys = np.unique(si), np.unique(ti)
            else:
                size = self.validation_size if kind == PAIRED else self.label_validation_size
                xs = _subsample(len(X), si, size, rng)
                ys = _subsample(len(Y), ti, size, rng)
            sx, sy = np.searchsorted(xs, si), np.searchsorted(ys, ti)
            train_b = Bridges.from_indices(sx[tr], sy[tr], None if labels is None else labels[tr], n_source=len(xs), n_target=len(ys),
                                           match=bridges.match)
            Xv, Yv = X[xs], Y[ys]
            for name, method in validators.items():
                if name in errors:
                    continue
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        coupling = method.fit(Xv, Yv, train_b)
                except Exception as exc:  # a candidate that cannot run on these bridges drops out, with the reason logged
                    errors[name] = f"{type(exc).__name__}: {exc}"
                    continue
                seconds[name] += time.perf_counter() - t0
                scores[name].append(self._score(coupling, kind, Xv, Yv, (sx[tr], sy[tr]), (sx[te], sy[te]),
                                                None if labels is None else labels[tr], None if labels is None else labels[te]))
        valid = [name for name in candidates if name not in errors and scores[name]]
        if not valid:
            raise CouplingError(f"auto: every candidate failed during validation: {errors}")
        means = {name: float(np.mean(scores[name])) for name in valid}
        best = max(means.values())
        chosen = next(name for name in candidates if name in means and means[name] >= best - self.tolerance)
        selection = {
            name: {"mean": means.get(name, float("nan")), "sd": float(np.std(scores[name])) if scores[name] else float("nan"),
                   "scores": list(scores[name]), "seconds": seconds[name], "chosen": name == chosen,
                   **({"error": errors[name]} if name in errors else {})}
            for name in candidates
        }
        coupling = candidates[chosen].fit(X, Y, bridges)
        return coupling.with_log(selection=selection, selected=chosen, bridge_type=kind, tolerance=self.tolerance,
                                 score="partner_retrieval" if kind == PAIRED else "class_agreement",
                                 pin_bridges=bool(getattr(candidates[chosen], "pin_bridges", True)))
