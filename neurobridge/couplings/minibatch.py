r"""Local mode: a coupling per training batch on the bridge cost (minibatch OT; Fatras et al. 2020, "Learning with
minibatch Wasserstein"; Tong et al. 2023, minibatch OT for flow matching; cf. torchcfm's ``OTPlanSampler``).

Per batch, ``B`` source and ``B`` target points are drawn uniformly, their ``B x B`` bridge cost is formed from the
exemplar distances precomputed once for the pools, a plan is solved, and each source point gets a target drawn
from its row of the plan (or a hard assignment).

Solvers (``solver``):

- ``"emd"``: exact (unregularised, balanced) OT by POT's network simplex ``ot.emd`` (Bonneel et al. 2011); for
  uniform weights on ``B`` points the optimum is a permutation, so each source point gets exactly one partner. A
  few milliseconds at ``256 x 256``; no epsilon, no tolerance.
- ``"sinkhorn"``: the entropic plan at ``epsilon`` by :func:`neurobridge.couplings.solve` (log-domain Sinkhorn;
  ``solver_kwargs`` go there, default ``tol=1e-5``, ``max_iter=5000``); needed for ``unbalanced``.
- ``"auto"`` (default): ``"emd"`` for balanced problems, ``"sinkhorn"`` when ``unbalanced`` is set.

Cost (``mode``), with ``A_ik = d_X(x_i, x~_k) / mean``, ``B_kj = d_Y(y~_k, y_j) / mean`` over the pools:

- ``"exact"``: :math:`C_{ij} = \min_k (A_{ik} + B_{kj})`. Computed exactly on the distinct points only: identical
  pool points share a row (or column) of ``C``, and exemplars whose partner is the same point on one side share
  that side's distances, so the min over them is taken once (:math:`\min_{k \in g}(A_{ik} + B_{kj}) =
  \min_{k \in g} A_{ik} + B_{gj}` when ``B_kj`` is the same for every ``k`` in group ``g``). Label latents (one
  point per class) thus make the product ``B x C x B`` with ``C`` classes instead of ``B x K x B``; the side with
  fewer distinct exemplars is grouped. Without duplicates this is the plain min-plus.
- ``"class"``: the class-level form for label-matched bridges,
  :math:`C_{ij} = \min_c (\min_{k: c_k = c} A_{ik} + \min_{k: c_k = c} B_{kj})` (needs bridge labels).
- ``"softmin"``: :math:`-T \log \sum_k \exp(-(A_{ik} + B_{kj}) / T)` at ``temperature`` ``T``; separates points that
  share their nearest exemplar, which the exact cost cannot.

``compress=False`` keeps the uncompressed ``n x K`` and ``K x m`` matrices (the behaviour before this module; for
comparison).
"""
from __future__ import annotations

import numpy as np
import torch

from ._checks import as_points
from .cost import GroupedBridgeCost, exemplar_arrays, exemplar_cost, min_plus, soft_min_plus
from .errors import CouplingError

__all__ = ["MinibatchBridgeSampler", "SOLVERS", "MODES"]

SOLVERS = ("auto", "emd", "sinkhorn")
MODES = ("exact", "class", "softmin")


class MinibatchBridgeSampler:
    """Local mode: per batch, ``B`` source and ``B`` target points, a ``B x B`` plan on their bridge cost, and one
    target per source point drawn from its row of that plan; see the module docstring for ``solver`` and ``mode``.

    ``pairing``: ``"sample"`` (``j ~ P[i, :]``), ``"argmax"`` or ``"hungarian"`` (a hard assignment of the batch).
    ``epsilon`` and ``solver_kwargs`` apply to ``solver="sinkhorn"``; ``temperature`` to ``mode="softmin"``.
    """

    def __init__(
        self,
        x,
        y,
        bridges,
        *,
        epsilon: float = 0.1,
        metric: str = "cosine",
        unbalanced: tuple[float, float] | None = None,
        pairing: str = "sample",
        mode: str = "exact",
        temperature: float = 0.05,
        solver: str = "auto",
        solver_kwargs: dict | None = None,
        compress: bool = True,
        memory_budget_mb: float = 256.0,
        dtype: torch.dtype | None = torch.float32,
    ):
        if mode not in MODES:
            raise CouplingError(f"mode must be one of {MODES} (the bridge cost per batch); got {mode!r}")
        if pairing not in ("sample", "argmax", "hungarian"):
            raise CouplingError(f"pairing must be 'sample', 'argmax' or 'hungarian'; got {pairing!r}")
        if solver not in SOLVERS:
            raise CouplingError(f"solver must be one of {SOLVERS}; got {solver!r}")
        if solver == "auto":
            solver = "emd" if unbalanced is None else "sinkhorn"
        if solver == "emd" and unbalanced is not None:
            raise CouplingError("solver='emd' solves the balanced problem; drop unbalanced or use solver='sinkhorn'")
        if mode == "softmin" and not temperature > 0:
            raise CouplingError(f"temperature must be > 0 for mode='softmin'; got {temperature!r}")
        x = as_points(x, "x", dtype=dtype)
        y = as_points(y, "y", dtype=x.dtype, device=x.device)
        xe, ye, labels = exemplar_arrays(x, y, bridges)
        self.n, self.m = x.shape[0], y.shape[0]
        self.epsilon, self.unbalanced, self.pairing = epsilon, unbalanced, pairing
        self.mode, self.temperature, self.solver, self.compress = mode, temperature, solver, bool(compress)
        self.solver_kwargs = {"tol": 1e-5, "max_iter": 5000, **(solver_kwargs or {})}
        self.last_coupling = None
        self._grouped = None
        if mode == "class":
            from .cost import _class_side

            if labels is None:
                raise CouplingError("mode='class' needs a label for each bridge; sample label-matched bridges or pass (x_exemplars, y_exemplars, labels)")
            _, codes = np.unique(np.asarray(labels), return_inverse=True)
            codes = torch.as_tensor(codes, device=x.device)
            c = int(codes.max()) + 1
            self.A, self.scale_x = _class_side(x, xe, codes, c, metric, memory_budget_mb)
            Bt, self.scale_y = _class_side(y, ye, codes, c, metric, memory_budget_mb)
            self.B = Bt.T.contiguous()
        elif mode == "exact" and self.compress:
            self._grouped = GroupedBridgeCost(x, y, xe, ye, metric, memory_budget_mb)
            self.A, self.B = self._grouped.A, self._grouped.B
            self.scale_x, self.scale_y = self._grouped.scale_x, self._grouped.scale_y
        else:
            self.A, self.scale_x = exemplar_cost(x, xe, metric)
            Bt, self.scale_y = exemplar_cost(y, ye, metric)
            self.B = Bt.T.contiguous()

    def batch_cost(self, i: np.ndarray, j: np.ndarray) -> torch.Tensor:
        """The ``len(i) x len(j)`` bridge cost between pool rows ``i`` and ``j`` (mode of this sampler)."""
        dev = self.A.device
        ti, tj = torch.as_tensor(i, device=dev), torch.as_tensor(j, device=dev)
        if self._grouped is not None:
            C, _, _, rinv, cinv = self._grouped.cost(ti, tj)
            return C[rinv][:, cinv]
        A, B = self.A.index_select(0, ti), self.B.index_select(1, tj)
        return soft_min_plus(A, B, self.temperature) if self.mode == "softmin" else min_plus(A, B)

    def _plan(self, C: torch.Tensor, a=None, b=None) -> np.ndarray:
        from .solvers import exact, solve

        if self.solver == "emd":
            coupling = exact(C, a, b)
        else:
            coupling = solve(C, a, b, epsilon=self.epsilon, unbalanced=self.unbalanced, **self.solver_kwargs)
        self.last_coupling = coupling
        return coupling.plan_numpy()

    def batch_plan(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The ``len(i) x len(j)`` plan of one batch (uniform weights on the batch positions).

        With the compressed exact cost, the problem is solved between the distinct points of the batch, weighted by
        their multiplicities, and each distinct point's mass is split evenly among its copies: the same optimal
        cost (and, for the entropic problem, the same plan), since copies are interchangeable. ``last_coupling``
        then holds the coupling of the distinct points.
        """
        if self._grouped is None:
            return self._plan(self.batch_cost(i, j))
        dev = self.A.device
        C, rc, cc, rinv, cinv = self._grouped.cost(torch.as_tensor(i, device=dev), torch.as_tensor(j, device=dev))
        rc, cc = rc.to(torch.float64), cc.to(torch.float64)
        P = self._plan(C, rc / rc.sum(), cc / cc.sum())
        rc, cc, rinv, cinv = rc.cpu().numpy(), cc.cpu().numpy(), rinv.cpu().numpy(), cinv.cpu().numpy()
        return P[rinv][:, cinv] / (rc[rinv][:, None] * cc[cinv][None, :])

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        from .sampling import _check_batch, _draw_in_rows, hard_assignment

        batch_size = _check_batch(batch_size, rng)
        i = rng.choice(self.n, size=batch_size, replace=batch_size > self.n)
        j = rng.choice(self.m, size=batch_size, replace=batch_size > self.m)
        P = self.batch_plan(i, j)
        if self.pairing == "sample":
            cols = _draw_in_rows(P, np.arange(batch_size), rng)
            return i.astype(np.int64), j[cols].astype(np.int64)
        rows, cols = hard_assignment(P, method=self.pairing)
        return i[rows].astype(np.int64), j[cols].astype(np.int64)
