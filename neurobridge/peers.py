"""Peer toolboxes' alignments fitted on the shared stimuli alone, behind one interface: ``fit(xb, yb)``, ``predict``.

Brain-alignment toolboxes fit their maps on stimuli seen by both spaces; they cannot use unpaired responses. These
wrappers let a benchmark run them on the same splits as neurobridge, fitted on the bridges ``(x_bridges,
y_bridges)`` (one row per shared stimulus) and predicting target responses for new source rows. Install them with
``pip install neurobridge[peers]``.

fmralign (the toolbox evaluated in Bazeille et al. 2021, NeuroImage 245:118683, "An empirical evaluation of
functional alignment using inter-subject decoding"; Procrustes as in hyperalignment, Haxby et al. 2011, Neuron):

- ``"procrustes"``: scaled orthogonal Procrustes, :math:`\\min_{s, R^\\top R = I} \\lVert s X R - Y \\rVert_F`;
  with ``d_x != d_y`` fmralign's SVD of :math:`Y^\\top X` gives a semi-orthogonal ``d_x x d_y`` matrix, so no
  padding is needed (recorded in ``notes_``);
- ``"ridge"``: :math:`\\min_M \\lVert X M - Y \\rVert^2 + \\alpha \\lVert M \\rVert^2` with ``alpha`` chosen by
  fmralign's 4-fold cross-validation (so it needs at least 4 bridges);
- ``"ot"``: an entropic transport plan between the source sites and the target sites, the cost being the squared
  distance between their response profiles over the bridges; the prediction is ``x @ P * d_y`` (each target site a
  plan-weighted mean of source sites).

BrainIAK (Chen et al. 2015, NeurIPS, "A reduced-dimension fMRI shared response model"):

- ``"srm"``: the probabilistic shared response model fitted on the two animals' bridges, each ``x_i ~ W_i s + mu_i``
  with orthonormal ``W_i``; the prediction is ``W_y W_x^T (x - mu_x) + mu_y``. ``features`` defaults to
  ``min(K - 1, d_x, d_y, 50)``: SRM needs no more features than bridges. BrainIAK's import needs an MPI library; the
  ``peers`` extra installs the ``mpich`` wheel for it.

Every peer z-scores each site over the bridges first (``standardize=True``, as fmralign's pipelines standardise each
voxel through nilearn's maskers; Procrustes and OT have no intercept) and undoes the target's scaling after
prediction.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Peer", "FmralignProcrustes", "FmralignRidge", "FmralignOT", "BrainiakSRM", "PEERS", "available",
           "procrustes", "ridge", "optimal_transport", "srm"]

_INSTALL = "install the peers with `pip install neurobridge[peers]`"


class Peer:
    """A peer toolbox's alignment fitted on bridges alone: ``fit(x_bridges, y_bridges)`` then ``predict(x)``.

    ``notes_`` records what the wrapper had to decide for this data (e.g. unequal dimensions, the SRM size).
    """

    toolbox = ""
    method = ""

    def __init__(self, *, standardize: bool = True):
        self.standardize = standardize

    def fit(self, x_bridges, y_bridges) -> Peer:
        xb = _matrix(x_bridges, "x_bridges")
        yb = _matrix(y_bridges, "y_bridges")
        if xb.shape[0] != yb.shape[0]:
            raise ValueError(f"{self._name()}: x_bridges has {xb.shape[0]} rows and y_bridges {yb.shape[0]}; pass one "
                             "row per shared stimulus on both sides, in the same order")
        if xb.shape[0] < 2:
            raise ValueError(f"{self._name()}: at least 2 bridges are needed; got {xb.shape[0]}")
        self.notes_ = []
        self.x_mean_, self.x_scale_ = _stats(xb, self.standardize)
        self.y_mean_, self.y_scale_ = _stats(yb, self.standardize)
        self.d_x_, self.d_y_ = xb.shape[1], yb.shape[1]
        self._fit((xb - self.x_mean_) / self.x_scale_, (yb - self.y_mean_) / self.y_scale_)
        return self

    def predict(self, x) -> np.ndarray:
        if not hasattr(self, "d_x_"):
            raise RuntimeError(f"{self._name()}: call fit(x_bridges, y_bridges) before predict")
        x = _matrix(x, "x")
        if x.shape[1] != self.d_x_:
            raise ValueError(f"{self._name()}: x has {x.shape[1]} columns; the peer was fitted on {self.d_x_} "
                             "source sites")
        z = np.asarray(self._predict((x - self.x_mean_) / self.x_scale_), dtype=np.float64)
        return z * self.y_scale_ + self.y_mean_

    def _name(self) -> str:
        return f"{self.toolbox} {self.method}"

    def _fit(self, xz, yz):
        raise NotImplementedError

    def _predict(self, xz):
        raise NotImplementedError


class FmralignProcrustes(Peer):
    """fmralign's scaled orthogonal Procrustes (``scaling=True``) fitted on the bridges."""

    toolbox, method = "fmralign", "procrustes"

    def __init__(self, *, scaling: bool = True, standardize: bool = True):
        super().__init__(standardize=standardize)
        self.scaling = scaling

    def _fit(self, xz, yz):
        methods = _fmralign()
        if xz.shape[1] != yz.shape[1]:
            self.notes_.append(f"d_x={xz.shape[1]} != d_y={yz.shape[1]}: semi-orthogonal map from fmralign's SVD, "
                               "no padding")
        self.model_ = methods.Procrustes(scaling=self.scaling).fit(xz, yz)

    def _predict(self, xz):
        return self.model_.transform(xz)


class FmralignRidge(Peer):
    """fmralign's ridge alignment (``RidgeCV`` with an intercept, ``alphas`` chosen by ``cv``-fold validation)."""

    toolbox, method = "fmralign", "ridge"

    def __init__(self, *, alphas=None, cv: int = 4, standardize: bool = True):
        super().__init__(standardize=standardize)
        self.alphas = alphas
        self.cv = cv

    def _fit(self, xz, yz):
        methods = _fmralign()
        if isinstance(self.cv, int) and xz.shape[0] < self.cv:
            raise ValueError(f"fmralign ridge: its cv={self.cv}-fold choice of alpha needs at least {self.cv} bridges; "
                             f"got {xz.shape[0]}. Pass cv=None (leave-one-out) or more bridges")
        if isinstance(self.cv, int) and xz.shape[0] < 2 * self.cv:
            self.notes_.append(f"{xz.shape[0]} bridges in {self.cv} folds: folds of one stimulus have no R^2, so "
                               "fmralign's choice of alpha rests on the other folds or, if none, is arbitrary")
        self.model_ = methods.RidgeAlignment(alphas=self.alphas, cv=self.cv).fit(xz, yz)

    def _predict(self, xz):
        return self.model_.transform(xz)


class FmralignOT(Peer):
    """fmralign's entropic optimal-transport alignment between sites (``reg`` on the max-normalised cost)."""

    toolbox, method = "fmralign", "ot"

    def __init__(self, *, reg: float = 1e-2, max_iter: int = 1000, tol: float = 1e-7, standardize: bool = True):
        super().__init__(standardize=standardize)
        self.reg = reg
        self.max_iter = max_iter
        self.tol = tol

    def _fit(self, xz, yz):
        methods = _fmralign()
        self.model_ = methods.OptimalTransport(reg=self.reg, max_iter=self.max_iter, tol=self.tol).fit(
            np.ascontiguousarray(xz), np.ascontiguousarray(yz))

    def _predict(self, xz):
        return self.model_.transform(np.ascontiguousarray(xz, dtype=np.float32))


class BrainiakSRM(Peer):
    """BrainIAK's probabilistic shared response model on the two spaces' bridges (see the module docstring)."""

    toolbox, method = "brainiak", "srm"

    def __init__(self, *, features: int | None = None, n_iter: int = 10, seed: int = 0, standardize: bool = True):
        super().__init__(standardize=standardize)
        self.features = features
        self.n_iter = n_iter
        self.seed = seed

    def _fit(self, xz, yz):
        SRM = _brainiak_srm()
        k = min(xz.shape[0] - 1, xz.shape[1], yz.shape[1], 50) if self.features is None else int(self.features)
        if not 1 <= k <= xz.shape[0]:
            raise ValueError(f"brainiak srm: features must lie in [1, {xz.shape[0]}] (at most the number of bridges); "
                             f"got {k}")
        self.notes_.append(f"SRM with {k} shared features")
        self.model_ = SRM(n_iter=self.n_iter, features=k, rand_seed=self.seed).fit([xz.T, yz.T])

    def _predict(self, xz):
        w_x, w_y = self.model_.w_
        mu_x, mu_y = self.model_.mu_
        return (w_y @ (w_x.T @ (xz.T - mu_x[:, None])) + mu_y[:, None]).T


PEERS = {"fmralign": {"procrustes": FmralignProcrustes, "ridge": FmralignRidge, "ot": FmralignOT},
         "brainiak": {"srm": BrainiakSRM}}


def available(toolbox: str = "fmralign") -> dict:
    """The peers of ``toolbox`` (``"fmralign"`` or ``"brainiak"``) that are installed here: ``{name: class}``.

    Each class builds with no arguments; ``cls().fit(x_bridges, y_bridges).predict(x)``. Empty when the toolbox is
    not installed (or, for BrainIAK, when its MPI library cannot be loaded).
    """
    if toolbox not in PEERS:
        raise ValueError(f"available: toolbox must be one of {sorted(PEERS)}; got {toolbox!r}")
    try:
        _fmralign() if toolbox == "fmralign" else _brainiak_srm()
    except ImportError:
        return {}
    return dict(PEERS[toolbox])


def procrustes(x_bridges, y_bridges, **options) -> FmralignProcrustes:
    """fmralign's scaled Procrustes fitted on the bridges."""
    return FmralignProcrustes(**options).fit(x_bridges, y_bridges)


def ridge(x_bridges, y_bridges, **options) -> FmralignRidge:
    """fmralign's ridge alignment fitted on the bridges."""
    return FmralignRidge(**options).fit(x_bridges, y_bridges)


def optimal_transport(x_bridges, y_bridges, **options) -> FmralignOT:
    """fmralign's optimal-transport alignment fitted on the bridges."""
    return FmralignOT(**options).fit(x_bridges, y_bridges)


def srm(x_bridges, y_bridges, **options) -> BrainiakSRM:
    """BrainIAK's shared response model fitted on the bridges."""
    return BrainiakSRM(**options).fit(x_bridges, y_bridges)


def _fmralign():
    try:
        from fmralign import methods
    except ImportError as exc:
        raise ImportError(f"the fmralign peers need fmralign>=0.0.6 ({exc}); {_INSTALL}") from exc
    return methods


def _brainiak_srm():
    try:
        from brainiak.funcalign.srm import SRM
    except (ImportError, RuntimeError, OSError) as exc:
        raise ImportError(f"the BrainIAK SRM peer needs brainiak and an MPI library ({exc}); {_INSTALL}") from exc
    return SRM


def _matrix(values, name: str) -> np.ndarray:
    array = np.asarray(getattr(values, "values", values), dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"peers: {name} must be a 2-D array (rows = stimuli, columns = sites); "
                         f"got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"peers: {name} holds NaN or infinite values; drop or impute them first")
    return array


def _stats(values: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    if not standardize:
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    scale = values.std(0)
    return values.mean(0), np.where(scale > 1e-12, scale, 1.0)
