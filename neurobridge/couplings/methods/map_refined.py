r"""Map-refined couplings: a regression fitted on the bridges defines the cost, entropic OT couples the pools.

With a map :math:`\hat f: X \to Y` fitted on the bridge pairs :math:`(\tilde x_k, \tilde y_k)`,

.. math::
    C_{ij} = \| \hat f(x_i) - y_j \|^2 / \overline{C}, \qquad
    P = \arg\min_{P \in U(a, b)} \langle C, P \rangle + \varepsilon \mathrm{KL}(P \,|\, a \otimes b)

(balanced, or with KL-relaxed marginals). OT turns the map's per-point guesses into a coupling that respects both
pools: two sources cannot both claim the one target they are each nearest to, which is what lifts partner recovery
above the map's own nearest-neighbour retrieval. Refinement rounds (the seed-dictionary loop of cross-lingual
embedding alignment: Artetxe, Labaka & Agirre 2018, VecMap; Conneau et al. 2018, MUSE) refit the map on the bridges
plus the plan's *confident* pairs (mutual argmax of the plan, with at least ``confidence`` of the row's mass) and
solve again.

:class:`RegressionMapCoupling` is the map alone: each source point paired with the target nearest to its mapped
position (the plain regression baseline, as a coupling).

Regressors (fitted on source features z-scored with the pool's statistics): ``"ridge"``, ridge regression with the
penalty chosen by efficient leave-one-out cross-validation over ``alphas`` (scikit-learn's ``RidgeCV``; Hoerl &
Kennard 1970); ``"kernel-ridge"``, RBF kernel ridge (bandwidth: median squared distance between bridges; penalty by
5-fold cross-validation over ``alphas``); ``"pls"``, partial least squares with ``n_components`` directions (Wold 1966).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..result import Coupling, CouplingError
from ._base import CouplingMethod
from ._support import check_positive, entropic_plan

__all__ = ["MapRefinedCoupling", "RegressionMapCoupling", "BridgeRegression", "REGRESSORS"]

REGRESSORS = ("ridge", "kernel-ridge", "pls")
_DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))


class BridgeRegression:
    """A regression ``x -> y`` fitted on bridge pairs: ``fit(x_pool, xb, yb)`` then ``predict(x)``.

    ``x_pool`` gives the mean and standard deviation used to z-score source features (every source point, labelled
    or not, may inform the scaling). ``alpha_`` is the penalty chosen (``None`` for PLS).
    """

    def __init__(self, regressor: str = "ridge", *, alphas=None, n_components: int = 10, seed: int = 0):
        self.regressor = regressor
        self.alphas = alphas
        self.n_components = n_components
        self.seed = seed

    def fit(self, x_pool: np.ndarray, xb: np.ndarray, yb: np.ndarray, sample_weight=None) -> BridgeRegression:
        if self.regressor not in REGRESSORS:
            raise CouplingError(f"regressor must be one of {REGRESSORS}; got {self.regressor!r}")
        alphas = np.asarray(_DEFAULT_ALPHAS if self.alphas is None else self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not (alphas > 0).all():
            raise CouplingError(f"alphas must be a non-empty list of positive penalties; got {self.alphas!r}")
        if xb.shape[0] < 2:
            raise CouplingError(f"a regression on the bridges needs at least 2 bridges; got {xb.shape[0]}")
        self.mean_ = x_pool.mean(0)
        self.scale_ = np.where(x_pool.std(0) > 1e-12, x_pool.std(0), 1.0)
        z = self._z(xb)
        if self.regressor == "ridge":
            from sklearn.linear_model import RidgeCV

            self.model_ = RidgeCV(alphas=alphas).fit(z, yb, sample_weight=sample_weight)
            self.alpha_ = float(self.model_.alpha_)
        elif self.regressor == "pls":
            from sklearn.cross_decomposition import PLSRegression

            k = int(max(1, min(self.n_components, z.shape[0] - 1, z.shape[1], yb.shape[1])))
            self.model_ = PLSRegression(n_components=k, scale=False).fit(z, yb)
            self.alpha_ = None
        else:
            self._fit_kernel(z, yb, alphas)
        return self

    def _z(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.scale_

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.exp(-np.clip(sq, 0.0, None) * self.gamma_)

    def _fit_kernel(self, z: np.ndarray, yb: np.ndarray, alphas: np.ndarray) -> None:
        sq = (z * z).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2.0 * z @ z.T
        med = float(np.median(sq[np.triu_indices(len(z), 1)])) if len(z) > 1 else 1.0
        self.gamma_ = 1.0 / max(med, 1e-12)
        K = self._kernel(z, z)
        self.y_mean_ = yb.mean(0)
        yc = yb - self.y_mean_
        folds = np.random.default_rng(self.seed).permutation(len(z)) % min(5, len(z))
        errors = np.zeros(len(alphas))
        for f in np.unique(folds):
            tr, te = folds != f, folds == f
            w, V = np.linalg.eigh(K[np.ix_(tr, tr)])
            proj = V.T @ yc[tr]
            for a, alpha in enumerate(alphas):
                coef = V @ (proj / (w + alpha)[:, None])
                errors[a] += float(((K[np.ix_(te, tr)] @ coef - yc[te]) ** 2).sum())
        self.alpha_ = float(alphas[int(np.argmin(errors))])
        self.dual_coef_ = np.linalg.solve(K + self.alpha_ * np.eye(len(z)), yc)
        self.train_z_ = z

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = self._z(x)
        if self.regressor == "kernel-ridge":
            return self._kernel(z, self.train_z_) @ self.dual_coef_ + self.y_mean_
        return np.asarray(self.model_.predict(z), dtype=np.float64).reshape(len(x), -1)


def check_map_loop(regressor, epsilon, rounds, what: str) -> None:
    """The parameters shared by the map-and-transport loops: a known ``regressor``, a positive ``epsilon`` and a
    non-negative integer number of ``rounds`` (``what`` names them in the message)."""
    if regressor not in REGRESSORS:
        raise CouplingError(f"regressor must be one of {REGRESSORS}; got {regressor!r}")
    check_positive(epsilon, "epsilon")
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 0:
        raise CouplingError(f"rounds ({what}) must be a non-negative integer; got {rounds!r}")


def _sq_cost(mapped: np.ndarray, y: np.ndarray) -> np.ndarray:
    C = (mapped * mapped).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * mapped @ y.T
    C = np.clip(C, 0.0, None)
    mean = float(C.mean())
    if not mean > 0:
        raise CouplingError("every mapped source point coincides with every target point; the cost is identically zero")
    return C / mean


def confident_pairs(plan, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Mutual-argmax pairs of ``plan`` whose entry holds at least ``confidence`` of its row's mass."""
    P = plan.detach().cpu().double().numpy() if isinstance(plan, torch.Tensor) else np.asarray(plan, dtype=np.float64)
    rows = P.argmax(1)
    cols = P.argmax(0)
    i = np.arange(P.shape[0])
    mutual = cols[rows] == i
    share = P[i, rows] / np.maximum(P.sum(1), 1e-300)
    keep = mutual & (share >= confidence)
    return i[keep], rows[keep]


class MapRefinedCoupling(CouplingMethod):
    """Entropic OT on the cost ``||f(x_i) - y_j||^2`` of a regression ``f`` fitted on the bridges, optionally refined.

    Parameters
    ----------
    regressor : ``"ridge"`` (default, penalty by leave-one-out CV), ``"kernel-ridge"`` or ``"pls"``.
    alphas : candidate penalties for the CV (default ``logspace(-3, 4, 15)``).
    n_components : PLS directions.
    epsilon : entropic regularisation on the mean-normalised cost.
    unbalanced : ``None`` (balanced) or ``(tau_a, tau_b)``.
    rounds : refinement rounds: refit the map on the bridges plus the plan's confident pairs, solve again.
    confidence : the share of a row's mass a mutual-argmax pair needs to count as confident.
    solver_kwargs : passed to :func:`neurobridge.couplings.solve` (default ``{"tol": 1e-4}``).
    seed : seeds the kernel-ridge CV folds.

    The Coupling's ``log`` holds ``map`` (the final :class:`BridgeRegression`), ``mapped_source`` (``n x d_y``),
    ``alpha`` and ``rounds`` (per round: confident pairs used, penalty, transport cost, seconds).
    """

    name = "map-refined"
    kind = "plan"

    def __init__(self, regressor: str = "ridge", *, alphas=None, n_components: int = 10, epsilon: float = 1e-3,
                 unbalanced=None, rounds: int = 1, confidence: float = 0.5, solver_kwargs: dict | None = None, seed: int = 0):
        self.regressor = regressor
        self.alphas = alphas
        self.n_components = n_components
        self.epsilon = epsilon
        self.unbalanced = unbalanced
        self.rounds = rounds
        self.confidence = confidence
        self.solver_kwargs = solver_kwargs
        self.seed = seed

    def check_params(self) -> None:
        check_map_loop(self.regressor, self.epsilon, self.rounds, "refinement rounds")
        if not 0 <= self.confidence <= 1:
            raise CouplingError(f"confidence must lie in [0, 1] (share of a row's mass); got {self.confidence!r}")

    def fit(self, x, y, bridges) -> Coupling:
        X, Y, bridges = self._prepare(x, y, bridges)
        si, ti = np.asarray(bridges.source_index), np.asarray(bridges.target_index)
        reg = BridgeRegression(self.regressor, alphas=self.alphas, n_components=self.n_components, seed=self.seed)
        src, tgt = si, ti
        history = []
        coupling = None
        for r in range(int(self.rounds) + 1):
            t0 = time.perf_counter()
            if r > 0:
                ci, cj = confident_pairs(coupling.plan, self.confidence)
                extra = ~np.isin(ci, si)
                src, tgt = np.concatenate([si, ci[extra]]), np.concatenate([ti, cj[extra]])
            reg.fit(X, X[src], Y[tgt])
            mapped = reg.predict(X)
            coupling = entropic_plan(_sq_cost(mapped, Y), self.epsilon, self.unbalanced, self.solver_kwargs, self.name)
            history.append({"round": r, "pairs": int(len(src)), "alpha": reg.alpha_, "value": coupling.value,
                            "seconds": time.perf_counter() - t0})
        return coupling.with_log(map=reg, mapped_source=mapped, alpha=reg.alpha_, rounds=history, regressor=self.regressor)


class RegressionMapCoupling(CouplingMethod):
    """The plain regression map as a coupling: source ``i`` paired with ``argmin_j ||f(x_i) - y_j||`` (``f`` fitted
    on the bridges as in :class:`MapRefinedCoupling`, no OT). The plan is that hard assignment, ``P[i, j] = 1/n``;
    ``log["map"]`` and ``log["mapped_source"]`` hold the map for a caller that wants to predict with it directly."""

    name = "regression-map"
    kind = "map"

    def __init__(self, regressor: str = "ridge", *, alphas=None, n_components: int = 10, seed: int = 0):
        self.regressor = regressor
        self.alphas = alphas
        self.n_components = n_components
        self.seed = seed

    def fit(self, x, y, bridges) -> Coupling:
        X, Y, bridges = self._prepare(x, y, bridges)
        reg = BridgeRegression(self.regressor, alphas=self.alphas, n_components=self.n_components, seed=self.seed)
        reg.fit(X, X[bridges.source_index], Y[bridges.target_index])
        mapped = reg.predict(X)
        nearest = _sq_cost(mapped, Y).argmin(1)
        n, m = len(X), len(Y)
        plan = torch.zeros((n, m), dtype=torch.float64)
        plan[torch.arange(n), torch.as_tensor(nearest)] = 1.0 / n
        b = plan.sum(0).numpy()
        return Coupling(plan=plan, value=float("nan"), marginal_error=(0.0, float(np.abs(b - 1.0 / m).sum())), method=self.name,
                        a=np.full(n, 1.0 / n), b=np.full(m, 1.0 / m),
                        log={"map": reg, "mapped_source": mapped, "alpha": reg.alpha_, "regressor": self.regressor})
