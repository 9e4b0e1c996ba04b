r"""The bridge cost: a distance between two spaces that share no metric, through labelled exemplars.

With source exemplars :math:`\tilde x_k` and their target partners :math:`\tilde y_k` (the bridges, ``k = 1..K``),

.. math::
    A_{ik} = d_X(x_i, \tilde x_k) / \overline{d_X}, \qquad B_{kj} = d_Y(\tilde y_k, y_j) / \overline{d_Y}, \qquad
    C_{ij} = \min_k \, (A_{ik} + B_{kj}),

the length of the shortest two-hop path :math:`x_i \to \tilde x_k \equiv \tilde y_k \to y_j`; each side is divided by
its mean (over the ``n x K`` and ``K x m`` distances) so the two spaces share a scale (Gholamzadeh & Sajid 2025,
arXiv:2505.12322). ``C`` is the min-plus (tropical) product of ``A`` and ``B``: ``n m K`` work, computed here in row
tiles of ``C`` with a loop over ``k`` so that the ``n x K x m`` tensor is never formed and the extra memory stays under
``memory_budget_mb``.

When points repeat (label codes: one point per class, repeated over a pool) the exact cost is computed between the
distinct points, with the exemplars grouped by their partner (:class:`GroupedBridgeCost`), and expanded: ``n_u m_u G``
work for ``n_u``, ``m_u`` distinct points and ``G`` distinct partners, the same minimum.

Variants:

- class level (label-matched bridges): :math:`A'_{ic} = \min_{k: c_k = c} A_{ik}`, :math:`B'_{cj}` likewise, then
  ``C = A' (min-plus) B'``: ``n m C`` work and ``n C + C m`` memory; equal to the exact cost when every pairing of a
  source and a target exemplar of the same class counts as a bridge.
- soft-min with temperature ``T``: :math:`C_{ij} = -T \log \sum_k \exp(-(A_{ik} + B_{kj}) / T)`, a smooth lower bound
  with :math:`\min_k(\cdot) - T \log K \le C_{ij} \le \min_k(\cdot)`, computed as a (stabilised) matrix product.

Everything runs in torch on the device of the data; NumPy inputs are computed on the CPU.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from . import kernels
from ._checks import as_points
from .errors import CouplingError
from .kernels import _rows_per_tile

__all__ = [
    "METRICS",
    "MODES",
    "distances",
    "exemplar_cost",
    "min_plus",
    "soft_min_plus",
    "class_min",
    "bridge_cost",
    "BridgeCost",
    "exemplar_arrays",
    "GroupedBridgeCost",
]

METRICS = ("cosine", "euclidean", "sqeuclidean")
MODES = ("exact", "class", "softmin")


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise CouplingError(f"metric must be one of {METRICS}; got {metric!r}")
    return metric


def distances(x: torch.Tensor, y: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """Pairwise distances ``D[i, j] = d(x_i, y_j)`` between rows of ``x`` (``n x d``) and ``y`` (``m x d``).

    ``cosine``: ``1 - <x, y> / (|x| |y|)`` (a zero vector is at distance 1 from everything); ``euclidean``:
    ``|x - y|``; ``sqeuclidean``: ``|x - y|^2``.
    """
    _check_metric(metric)
    if x.shape[1] != y.shape[1]:
        raise CouplingError(f"distances: x has {x.shape[1]} features but y has {y.shape[1]}; both must live in the same space")
    if metric == "cosine":
        xn = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        yn = y / y.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return (1.0 - xn @ yn.T).clamp_min_(0.0)
    sq = ((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)).clamp_min_(0.0)
    return sq if metric == "sqeuclidean" else sq.sqrt_()


def exemplar_cost(points: torch.Tensor, exemplars: torch.Tensor, metric: str = "cosine", *, scale: float | None = None) -> tuple[torch.Tensor, float]:
    """One side of the bridge cost: ``D(points, exemplars) / scale`` with ``scale = mean(D)`` unless given.

    Returns the normalised ``(points x K)`` matrix and the scale used.
    """
    d = distances(points, exemplars, metric)
    if scale is None:
        scale = float(d.mean())
    if not scale > 0:
        raise CouplingError(
            "every distance between the points and the exemplars is zero, so the mean-normalisation is undefined; "
            "check that the points are not all identical"
        )
    return d.div_(scale), scale


def min_plus(
    A: torch.Tensor,
    B: torch.Tensor,
    *,
    memory_budget_mb: float = 256.0,
    return_argmin: bool = False,
    out: torch.Tensor | None = None,
    method: str = "auto",
    candidates: int = 16,
    backend: str = "auto",
):
    r"""Tropical product :math:`C_{ij} = \min_k (A_{ik} + B_{kj})` of ``A`` (``n x K``) and ``B`` (``K x m``).

    ``method``: ``"dense"`` (every ``k`` for every entry: row tiles and a loop over ``k``, extra memory one ``r x m``
    buffer per worker with ``r`` set by ``memory_budget_mb`` and the cache size), ``"pruned"`` (each row through its
    ``candidates`` nearest exemplars plus a certificate that no other exemplar wins; rows without it fall back to
    more candidates, then to the dense kernel) or ``"auto"`` (dense: measured, the row certificate rarely holds when
    the targets spread over several clusters, because a far target is reached through exemplars near it). Every method returns the exact product, bit for bit; see
    :mod:`neurobridge.couplings.kernels`. With ``return_argmin=True`` also returns the ``n x m`` int32 index of the
    ``k`` that realised each minimum (the smallest one on ties). ``backend`` picks the dense kernel's implementation:
    ``"auto"`` (the compiled one where it applies), ``"compiled"`` or ``"torch"``; the same numbers either way.
    """
    if method not in kernels.METHODS:
        raise CouplingError(f"min_plus: method must be one of {kernels.METHODS}; got {method!r}")
    A, B = kernels.check_operands(A, B)
    if method in ("auto", "dense"):
        return kernels.dense_min_plus(A, B, memory_budget_mb=memory_budget_mb, return_argmin=return_argmin, out=out, backend=backend)
    result = kernels.pruned_min_plus(A, B, candidates=candidates, memory_budget_mb=memory_budget_mb, return_argmin=return_argmin,
                                     backend=backend)
    if out is not None:
        C = result[0] if return_argmin else result
        out.copy_(C)
        return (out, result[1]) if return_argmin else out
    return result


def soft_min_plus(A: torch.Tensor, B: torch.Tensor, temperature: float, *, memory_budget_mb: float = 256.0) -> torch.Tensor:
    r"""Soft-min product :math:`C_{ij} = -T \log \sum_k \exp(-(A_{ik} + B_{kj}) / T)`.

    Computed as ``alpha_i + beta_j - T log (E F)_{ij}`` with ``E = exp(-(A - alpha) / T)``,
    ``F = exp(-(B - beta) / T)``, ``alpha_i = min_k A_ik``, ``beta_j = min_k B_kj`` (a float64 matrix product);
    rows where every term underflows are recomputed exactly with ``logsumexp`` over ``k`` in tiles.
    """
    if not temperature > 0:
        raise CouplingError(f"temperature must be > 0 for the soft-min bridge cost; got {temperature!r}")
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise CouplingError(f"soft_min_plus: A must be n x K and B K x m; got shapes {tuple(A.shape)} and {tuple(B.shape)}")
    dtype = torch.promote_types(A.dtype, B.dtype)
    A64, B64 = A.double(), B.double()
    alpha = A64.min(dim=1, keepdim=True).values
    beta = B64.min(dim=0, keepdim=True).values
    E = torch.exp(-(A64 - alpha) / temperature)
    F = torch.exp(-(B64 - beta) / temperature)
    n, m = A.shape[0], B.shape[1]
    rows = _rows_per_tile(m, 16, memory_budget_mb, A.device)
    C = torch.empty((n, m), dtype=dtype, device=A.device)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        S = E[start:stop] @ F
        bad = ~(S > 0).all(dim=1)
        tile = alpha[start:stop] + beta - temperature * torch.log(S)
        if bool(bad.any()):
            for i in torch.nonzero(bad).flatten().tolist():
                z = -(A64[start + i][:, None] + B64) / temperature
                tile[i] = -temperature * torch.logsumexp(z, dim=0)
        C[start:stop] = tile.to(dtype)
    return C


def class_min(A: torch.Tensor, codes: torch.Tensor, n_classes: int, *, dim: int = 1) -> torch.Tensor:
    """Min of ``A`` over the exemplars of each class: ``A'[i, c] = min_{k: codes_k = c} A[i, k]`` (``dim=1``).

    Classes with no exemplar get ``+inf``. ``dim=0`` reduces the rows of a ``K x m`` matrix instead.
    """
    if dim == 0:
        return class_min(A.T, codes, n_classes, dim=1).T
    n = A.shape[0]
    out = torch.full((n, n_classes), float("inf"), dtype=A.dtype, device=A.device)
    index = codes.to(A.device, torch.int64)[None, :].expand(n, -1)
    return out.scatter_reduce_(1, index, A, reduce="amin", include_self=True)


class BridgeCost(NamedTuple):
    """The bridge cost and what realised it.

    ``cost``: ``n x m``; ``argmin``: ``n x m`` int32 index of the bridge (mode ``exact``) or of the class in
    ``classes`` (mode ``class``) on the shortest path, or ``None``; ``classes``: class labels (mode ``class``);
    ``scale_x``, ``scale_y``: the mean distances each side was divided by.
    """

    cost: torch.Tensor
    argmin: torch.Tensor | None
    classes: np.ndarray | None
    scale_x: float
    scale_y: float


def exemplar_arrays(x, y, bridges):
    """Source and target exemplars and the bridge labels from a :class:`~neurobridge.bridges.Bridges` object
    (indices into ``x`` and ``y``) or from a pair ``(x_exemplars, y_exemplars)`` / triple ``(..., labels)``."""
    from ..bridges import Bridges

    if isinstance(bridges, Bridges):
        n, m = x.shape[0], y.shape[0]
        if bridges.n_source is not None and bridges.n_source != n:
            raise CouplingError(f"bridges were drawn from a source pool of {bridges.n_source} points but x has {n} rows")
        if bridges.n_target is not None and bridges.n_target != m:
            raise CouplingError(f"bridges were drawn from a target pool of {bridges.n_target} points but y has {m} rows")
        si = torch.as_tensor(np.array(bridges.source_index), device=x.device)
        ti = torch.as_tensor(np.array(bridges.target_index), device=y.device)
        return x[si], y[ti], bridges.labels
    if isinstance(bridges, (tuple, list)) and len(bridges) in (2, 3):
        labels = None if len(bridges) == 2 or bridges[2] is None else np.asarray(bridges[2])
        xe = as_points(bridges[0], "x_exemplars (bridges[0])", dtype=x.dtype, device=x.device)
        ye = as_points(bridges[1], "y_exemplars (bridges[1])", dtype=y.dtype, device=y.device)
        if xe.shape[0] != ye.shape[0]:
            raise CouplingError(
                f"bridges pair source exemplars with target exemplars one to one; got {xe.shape[0]} source and {ye.shape[0]} target exemplars"
            )
        return xe, ye, labels
    raise CouplingError(
        "bridges must be a neurobridge.bridges.Bridges object or a tuple (x_exemplars, y_exemplars[, labels]); "
        f"got {type(bridges).__name__}"
    )


def _unique_rows(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distinct rows of ``t``, the inverse map (row ``i`` of ``t`` is distinct row ``inverse[i]``) and the counts."""
    u, inverse, counts = torch.unique(t, dim=0, return_inverse=True, return_counts=True)
    return u, inverse, counts


class GroupedBridgeCost:
    r"""The exact bridge cost on distinct points: ``A`` (``n_u x G``), ``B`` (``G x m_u``), the maps ``x_inv``,
    ``y_inv`` from pool rows to distinct points, and the sides' scales.

    Identical pool points share a row (or column) of ``C``, and exemplars whose partner is the same point on one side
    share that side's distances, so the min over them is taken once: :math:`\min_{k \in g}(A_{ik} + B_{kj}) =
    \min_{k \in g} A_{ik} + B_{gj}` when ``B_kj`` is the same for every ``k`` in group ``g``; the side with fewer
    distinct exemplars is grouped. Each scale is the mean over the full pool (each distinct point weighted by its
    count). ``C = min_plus(A, B)[x_inv][:, y_inv]`` is the exact cost of :func:`bridge_cost`."""

    def __init__(self, x, y, xe, ye, metric, memory_budget_mb):
        self._distinct(x, y, xe, ye)
        self._build(metric, memory_budget_mb)

    @classmethod
    def if_smaller(cls, x, y, xe, ye, metric, memory_budget_mb) -> GroupedBridgeCost | None:
        """The grouped cost when its product is smaller than the plain ``n x K x m`` one (some points or partners
        repeat), else ``None``, decided from the distinct rows before any distance is computed."""
        grouped = cls.__new__(cls)
        grouped._distinct(x, y, xe, ye)
        if not grouped.compresses:
            return None
        grouped._build(metric, memory_budget_mb)
        return grouped

    def _distinct(self, x, y, xe, ye) -> None:
        self.xe, self.ye = xe, ye
        self.x_u, self.x_inv, self.x_cnt = _unique_rows(x)
        self.y_u, self.y_inv, self.y_cnt = _unique_rows(y)
        self.xe_u, self.xe_inv, self.xe_cnt = _unique_rows(xe)
        self.ye_u, self.ye_inv, self.ye_cnt = _unique_rows(ye)
        self.n, self.m, self.K = x.shape[0], y.shape[0], xe.shape[0]

    def _build(self, metric, memory_budget_mb) -> None:
        n, m, K = self.n, self.m, self.K
        if self.ye_u.shape[0] <= self.xe_u.shape[0]:
            self.A, self.scale_x = _grouped_min(self.x_u, self.x_cnt, self.xe, self.ye_inv, self.ye_u.shape[0], metric, n * K, memory_budget_mb)
            Dy = distances(self.y_u, self.ye_u, metric)
            self.scale_y = _scale(float((self.y_cnt.to(Dy.dtype) @ Dy @ self.ye_cnt.to(Dy.dtype)).double()) / (m * K))
            self.B = Dy.div_(self.scale_y).T.contiguous()
        else:
            Bt, self.scale_y = _grouped_min(self.y_u, self.y_cnt, self.ye, self.xe_inv, self.xe_u.shape[0], metric, m * K, memory_budget_mb)
            self.B = Bt.T.contiguous()
            Dx = distances(self.x_u, self.xe_u, metric)
            self.scale_x = _scale(float((self.x_cnt.to(Dx.dtype) @ Dx @ self.xe_cnt.to(Dx.dtype)).double()) / (n * K))
            self.A = Dx.div_(self.scale_x)

    @property
    def compresses(self) -> bool:
        """Whether the grouped product (distinct points, ``G`` partner groups) is smaller than the plain one."""
        groups = min(self.xe_u.shape[0], self.ye_u.shape[0])
        return self.x_u.shape[0] * groups * self.y_u.shape[0] < self.n * self.K * self.m

    def full(self, memory_budget_mb: float = 256.0) -> torch.Tensor:
        """The ``n x m`` cost: the distinct points' min-plus product, expanded to the pools' rows and columns."""
        C = min_plus(self.A, self.B, memory_budget_mb=memory_budget_mb)
        return C.index_select(0, self.x_inv).index_select(1, self.y_inv)

    def cost(self, i: torch.Tensor, j: torch.Tensor):
        """The cost between the distinct points of a batch, their multiplicities, and the maps from batch positions."""
        ru, rinv, rcount = torch.unique(self.x_inv[i], return_inverse=True, return_counts=True)
        cu, cinv, ccount = torch.unique(self.y_inv[j], return_inverse=True, return_counts=True)
        return min_plus(self.A.index_select(0, ru), self.B.index_select(1, cu)), rcount, ccount, rinv, cinv


def _scale(value: float) -> float:
    if not value > 0:
        raise CouplingError("every distance between the points and the exemplars is zero, so the mean-normalisation is "
                            "undefined; check that the points are not all identical")
    return value


def _grouped_min(points_u, counts, exemplars, groups, n_groups, metric, total, memory_budget_mb):
    """``min_{k in g} d(p, e_k) / scale`` for each distinct point ``p`` and group ``g``, streamed over rows; the scale
    is the mean of ``d`` over the full pool (each distinct point weighted by its count)."""
    rows = max(1, int(memory_budget_mb * 2**20 // (max(exemplars.shape[0], 1) * points_u.element_size() * 2)))
    out = torch.empty((points_u.shape[0], n_groups), dtype=points_u.dtype, device=points_u.device)
    acc = 0.0
    for s in range(0, points_u.shape[0], rows):
        d = distances(points_u[s : s + rows], exemplars, metric)
        acc += float(counts[s : s + rows].to(torch.float64) @ d.sum(1, dtype=torch.float64))
        out[s : s + rows] = class_min(d, groups, n_groups)
    scale = _scale(acc / total)
    return out.div_(scale), scale


def bridge_cost(
    x,
    y,
    bridges,
    *,
    metric: str = "cosine",
    mode: str = "exact",
    temperature: float = 0.05,
    memory_budget_mb: float = 256.0,
    return_argmin: bool = False,
    dtype: torch.dtype | None = None,
) -> BridgeCost:
    """The bridge cost ``C`` (``n x m``) between source points ``x`` (``n x d_x``) and target points ``y`` (``m x d_y``).

    ``bridges`` is a :class:`~neurobridge.bridges.Bridges` (positions into ``x`` and ``y``) or
    ``(x_exemplars, y_exemplars[, labels])``. ``mode``: ``"exact"`` (min over bridges), ``"class"`` (min over the
    source exemplars of a class, then over the target exemplars of that class; needs bridge labels) or
    ``"softmin"`` (temperature ``temperature``). ``metric``: ``cosine`` (default), ``euclidean`` or
    ``sqeuclidean``, each side divided by its mean. Computed on the device of ``x`` in ``dtype`` (default: that of
    ``x``, float32 for non-float input); see the module docstring for the maths.
    """
    if mode not in MODES:
        raise CouplingError(f"mode must be one of {MODES}; got {mode!r}")
    _check_metric(metric)
    x = as_points(x, "x", dtype=dtype)
    y = as_points(y, "y", dtype=x.dtype, device=x.device)
    xe, ye, labels = exemplar_arrays(x, y, bridges)
    if xe.shape[1] != x.shape[1]:
        raise CouplingError(f"source exemplars have {xe.shape[1]} features but x has {x.shape[1]}")
    if ye.shape[1] != y.shape[1]:
        raise CouplingError(f"target exemplars have {ye.shape[1]} features but y has {y.shape[1]}")
    if mode == "class":
        if labels is None:
            raise CouplingError("mode='class' needs a label for each bridge; sample label-matched bridges or pass (x_exemplars, y_exemplars, labels)")
        classes, codes = np.unique(np.asarray(labels), return_inverse=True)
        codes = torch.as_tensor(codes, device=x.device)
        A, sx = _class_side(x, xe, codes, len(classes), metric, memory_budget_mb)
        Bt, sy = _class_side(y, ye, codes, len(classes), metric, memory_budget_mb)
        out = min_plus(A, Bt.T, memory_budget_mb=memory_budget_mb, return_argmin=return_argmin)
        C, idx = out if return_argmin else (out, None)
        return BridgeCost(C, idx, classes, sx, sy)
    if mode == "exact" and not return_argmin:
        grouped = GroupedBridgeCost.if_smaller(x, y, xe, ye, metric, memory_budget_mb)
        if grouped is not None:
            return BridgeCost(grouped.full(memory_budget_mb), None, None, grouped.scale_x, grouped.scale_y)
    A, sx = exemplar_cost(x, xe, metric)
    Bt, sy = exemplar_cost(y, ye, metric)
    if mode == "softmin":
        if return_argmin:
            raise CouplingError("return_argmin applies to mode='exact' or 'class'; the soft-min has no single minimiser")
        return BridgeCost(soft_min_plus(A, Bt.T, temperature, memory_budget_mb=memory_budget_mb), None, None, sx, sy)
    out = min_plus(A, Bt.T, memory_budget_mb=memory_budget_mb, return_argmin=return_argmin)
    C, idx = out if return_argmin else (out, None)
    return BridgeCost(C, idx, None, sx, sy)


def _class_side(points, exemplars, codes, n_classes, metric, memory_budget_mb):
    """Class-wise min distances, streamed over rows so that only ``rows x K`` distances exist at once."""
    n, K = points.shape[0], exemplars.shape[0]
    rows = max(1, int(memory_budget_mb * 2**20 // (max(K, 1) * points.element_size() * 2)))
    out = torch.empty((n, n_classes), dtype=points.dtype, device=points.device)
    total = 0.0
    for start in range(0, n, rows):
        d = distances(points[start : start + rows], exemplars, metric)
        total += float(d.sum(dtype=torch.float64))
        out[start : start + rows] = class_min(d, codes, n_classes)
    scale = total / (n * K)
    if not scale > 0:
        raise CouplingError("every distance between the points and the exemplars is zero; the mean-normalisation is undefined")
    return out.div_(scale), scale
