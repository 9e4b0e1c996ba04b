r"""Entropic optimal transport by a stabilised log-domain Sinkhorn iteration (:func:`sinkhorn`), returning a
:class:`~neurobridge.couplings.Coupling`.

Entropic OT (Cuturi 2013; Peyre & Cuturi 2019, ch. 4), with KL-relaxed marginals for the unbalanced problem
(Chizat, Peyre, Schmitzer & Vialard 2018):

.. math::
    \min_{P \ge 0} \; \langle C, P \rangle + \varepsilon\, \mathrm{KL}(P \,|\, a \otimes b)
    + \tau_a \mathrm{KL}(P 1 \,|\, a) + \tau_b \mathrm{KL}(P^\top 1 \,|\, b),

``tau = inf`` turning a penalty into the hard constraint (``tau_a = tau_b = inf``: balanced; one infinite:
semi-relaxed). With the dual potentials ``f, g`` the solution is :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`
and Sinkhorn's iteration reads, with :math:`\lambda_a = \tau_a / (\tau_a + \varepsilon)` (``1`` when balanced),

.. math::
    f_i \leftarrow -\lambda_a \varepsilon \log \sum_j b_j e^{(g_j - C_{ij})/\varepsilon}, \qquad
    g_j \leftarrow -\lambda_b \varepsilon \log \sum_i a_i e^{(f_i - C_{ij})/\varepsilon}.

:func:`sinkhorn` runs it in the log domain with the stabilisation of Schmitzer (2019, SIAM J. Sci. Comput. 41(3),
"Stabilized sparse scaling algorithms for entropy regularized transport problems"): potentials are kept in float64
and periodically absorbed into a kernel ``K = a b^T exp((f + g - C) / epsilon)``, so between absorptions each half
step is one matrix-vector product instead of a ``logsumexp`` over the whole matrix; epsilon is lowered geometrically
from the scale of the cost to its target (epsilon scaling, same reference), and the iteration may be over-relaxed,
``f <- f + omega (f_new - f)`` (Thibault, Chizat, Dossal & Papadakis 2021, Algorithms 14(5):143; Lehmann, von Renesse,
Sambale & Uschmajew 2022, Optim. Lett. 16:2209), with ``omega`` chosen from the observed rate of convergence. None of
these change the fixed point, hence the plan. The stopping rule is the L1 residual of the marginal conditions
``P 1 = a exp(-f / tau_a)`` and ``P^T 1 = b exp(-g / tau_b)`` (the plain marginal errors when balanced).

**Identical rows and columns.** When several columns of ``C`` are exactly equal (label codes: one target point per
class, repeated over the pool), they share their potential at the fixed point, since the update of ``g_j`` reads only
``C[:, j]``; the group of columns ``G`` then acts as one column of weight ``b_G = sum_{j in G} b_j``, and
:math:`P_{ij} = (b_j / b_G) P^{(G)}_{iG}`. :func:`sinkhorn` therefore solves the problem between the distinct rows and
columns (found by a random projection, then checked entry by entry, so only exactly equal ones are merged) and builds
the ``n x m`` plan from the expanded potentials. The iterates are those of the full problem (the L1 residual of a
group is the sum of its members', which share its sign); the plan equals the uncollapsed one up to rounding.

:func:`neurobridge.couplings.solvers.solve` dispatches to it; POT's solvers are in :mod:`neurobridge.couplings.solvers`.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from ._checks import _check_mass, _fail, _positive, as_cost, as_weights, check_epsilon, check_on_fail, check_tau
from .errors import CouplingError
from .groups import repeated_lines
from .result import Coupling

__all__ = ["sinkhorn"]


class _VectorThreads:
    """Run the O(n + m) vector arithmetic between matrix-vector products on one CPU thread.

    On a busy CPU, OpenMP's synchronisation makes each small multi-threaded op cost milliseconds; the n x m
    products keep every thread. A no-op off the CPU.
    """

    def __init__(self, device: torch.device):
        self.active = device.type == "cpu" and torch.get_num_threads() > 1
        self.threads = torch.get_num_threads()

    def __enter__(self):
        if self.active:
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.active:
            torch.set_num_threads(self.threads)
        return False


class _Kernel:
    """``K_ij = exp((fa_i + gb_j - C_ij) / eps)`` with ``fa = f + eps log a``, ``gb = g + eps log b``, kept in ``dtype``.

    Entries below the smallest normal number of ``dtype`` are stored as 0: subnormal floats would make every
    matrix-vector product many times slower, and they carry no mass.
    """

    def __init__(self, cost: torch.Tensor, dtype: torch.dtype, rows: int):
        self.cost = cost
        self.K = torch.empty(cost.shape, dtype=dtype, device=cost.device)
        self.rows = rows
        self.n_builds = 0
        self.tiny = float(torch.finfo(dtype).tiny)

    def build(self, fa: torch.Tensor, gb: torch.Tensor, eps: float) -> None:
        n = self.cost.shape[0]
        buf = torch.empty((min(self.rows, n), self.cost.shape[1]), dtype=torch.float64, device=self.cost.device)
        for s in range(0, n, self.rows):
            e = min(n, s + self.rows)
            z = buf[: e - s]
            torch.sub(gb[None, :], self.cost[s:e], out=z)
            z.add_(fa[s:e, None]).div_(eps).exp_()
            self.K[s:e].copy_(torch.nn.functional.threshold(z, self.tiny, 0.0))
        self.n_builds += 1

    def lse_rows(self, fa, gb, eps, dim):
        """Exact ``log sum exp((fa_i + gb_j - C_ij)/eps)`` over ``j`` (dim=1) or ``i`` (dim=0), in tiles."""
        n, m = self.cost.shape
        if dim == 1:
            out = torch.empty(n, dtype=torch.float64, device=self.cost.device)
            for s in range(0, n, self.rows):
                e = min(n, s + self.rows)
                out[s:e] = torch.logsumexp((fa[s:e, None] + gb[None, :] - self.cost[s:e].double()) / eps, dim=1)
            return out
        acc = torch.full((m,), -math.inf, dtype=torch.float64, device=self.cost.device)
        for s in range(0, n, self.rows):
            e = min(n, s + self.rows)
            acc = torch.logaddexp(acc, torch.logsumexp((fa[s:e, None] + gb[None, :] - self.cost[s:e].double()) / eps, dim=0))
        return acc


def _tune_omega(errs: list[float], omega: float, omega_max: float = 1.95) -> float:
    """Over-relaxation from the observed rate ``r`` of the residual under the current ``omega``.

    Young's relation for over-relaxed fixed-point iterations, ``(r + omega - 1)^2 = omega^2 mu^2 r``, gives the rate
    ``mu^2`` of the plain iteration, and the optimal ``omega = 2 / (1 + sqrt(1 - mu^2))`` (Young 1954; for Sinkhorn,
    Lehmann et al. 2022). The current ``omega`` is kept when the residual did not decrease.
    """
    if len(errs) < 3 or errs[0] <= 0 or errs[-1] <= 0 or errs[-1] >= errs[0]:
        return omega
    r = (errs[-1] / errs[0]) ** (1.0 / (len(errs) - 1))
    mu2 = min(max((r + omega - 1.0) ** 2 / (omega * omega * r), 0.0), 1.0 - 1e-12)
    return min(omega_max, max(omega, 2.0 / (1.0 + math.sqrt(1.0 - mu2))))


def _epsilon_schedule(cost: torch.Tensor, epsilon: float, epsilon_scaling: bool, scaling_factor: float) -> list[float]:
    if not epsilon_scaling:
        return [epsilon]
    if not 0 < scaling_factor < 1:
        raise CouplingError(f"scaling_factor must lie in (0, 1); got {scaling_factor!r}")
    start = float(cost.max() - cost.min())
    schedule = []
    eps = start
    while eps > epsilon:
        schedule.append(eps)
        eps *= scaling_factor
    return schedule + [epsilon]


def sinkhorn(
    cost,
    a=None,
    b=None,
    *,
    epsilon: float,
    tau_a: float = math.inf,
    tau_b: float = math.inf,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    epsilon_scaling: bool = True,
    scaling_factor: float = 0.5,
    stage_tol: float = 1e-3,
    overrelaxation: float | str = "auto",
    dtype: torch.dtype | None = None,
    absorb_threshold: float | None = None,
    memory_budget_mb: float = 256.0,
    init: tuple | None = None,
    on_fail: str = "raise",
    collapse: bool = True,
) -> Coupling:
    """Entropic (balanced, unbalanced or semi-relaxed) OT by log-domain stabilised Sinkhorn iterations, in torch.

    Parameters
    ----------
    cost : ``n x m`` cost matrix (tensor or array); computation happens on its device.
    a, b : marginal weights (default uniform ``1/n``, ``1/m``); positive. Balanced problems need equal masses.
    epsilon : entropic regularisation (``> 0``), in the units of ``cost``.
    tau_a, tau_b : KL marginal relaxation; ``inf`` (default) is a hard constraint.
    tol : stop when both L1 marginal residuals (see :func:`marginal_residuals`) are below ``tol``.
    max_iter : total iterations over all epsilon stages.
    epsilon_scaling : solve a sequence ``epsilon_0 = max(C) - min(C)``, times ``scaling_factor``, down to ``epsilon``,
        each warm-started from the last, intermediate stages to ``max(tol, stage_tol)``.
    overrelaxation : ``"auto"`` (estimate the rate of the plain iteration, then use
        ``omega = 2 / (1 + sqrt(1 - rate))``, halved towards 1 when the residual grows), a number in ``[1, 2)``, or 1.
    dtype : dtype of the ``n x m`` kernel and the returned plan (default: that of ``cost``, float32 for non-float);
        potentials are float64 throughout.
    absorb_threshold : absorb the scalings into the kernel when ``|f - f_abs| / epsilon`` exceeds it
        (default 30 for float32 kernels, 200 for float64).
    memory_budget_mb : extra memory for the tiled kernel rebuilds.
    init : ``(f, g)`` potentials to start from.
    on_fail : ``"raise"`` (default) a :class:`ConvergenceError`, or ``"warn"`` and return the last iterate with
        ``converged=False``, when ``max_iter`` is reached or a NaN appears.
    collapse : solve between the distinct rows and columns of ``cost`` when at most half of them are distinct (see
        the module docstring; default ``True``). ``log["collapsed"]`` gives the solved problem's shape.
    """
    eps = check_epsilon(epsilon)
    tau_a, tau_b = check_tau(tau_a, "tau_a"), check_tau(tau_b, "tau_b")
    check_on_fail(on_fail)
    if not tol > 0:
        raise CouplingError(f"tol must be > 0; got {tol!r}")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise CouplingError(f"max_iter must be a positive integer; got {max_iter!r}")
    C = as_cost(cost, "cost")
    kdtype = dtype or C.dtype
    n, m = C.shape
    device = C.device
    a = _positive(as_weights(a, n, "a", like=C).double(), "a")
    b = _positive(as_weights(b, m, "b", like=C).double(), "b")
    _check_mass(a, b, tau_a, tau_b)
    if overrelaxation != "auto":
        omega_fixed = float(overrelaxation)
        if not 1.0 <= omega_fixed < 2.0:
            raise CouplingError(f"overrelaxation must be 'auto' or a number in [1, 2); got {overrelaxation!r}")
    threshold = absorb_threshold or (30.0 if kdtype == torch.float32 else 200.0)
    rows = max(1, int(memory_budget_mb * 2**20 // (8 * m)))
    if device.type == "cpu":
        rows = min(rows, max(1, 1_048_576 // m))
    kernel = _Kernel(C, kdtype, rows)
    vec = _VectorThreads(device)
    log_a, log_b = torch.log(a), torch.log(b)
    if init is not None:
        f = torch.as_tensor(init[0], device=device).double().clone()
        g = torch.as_tensor(init[1], device=device).double().clone()
        if f.shape != (n,) or g.shape != (m,):
            raise CouplingError(f"init must be (f, g) with shapes ({n},) and ({m},); got {tuple(f.shape)} and {tuple(g.shape)}")
    else:
        f = torch.zeros(n, dtype=torch.float64, device=device)
        g = torch.zeros(m, dtype=torch.float64, device=device)
    if not isinstance(collapse, (bool, np.bool_)):
        raise CouplingError(f"collapse must be True or False; got {collapse!r}")
    groups = (repeated_lines(C, 0), repeated_lines(C, 1)) if collapse else (None, None)
    if groups != (None, None):
        return _collapsed(C, a, b, f, g, groups, kernel, dict(
            epsilon=eps, tau_a=tau_a, tau_b=tau_b, tol=tol, max_iter=max_iter, epsilon_scaling=epsilon_scaling,
            scaling_factor=scaling_factor, stage_tol=stage_tol, overrelaxation=overrelaxation, dtype=kdtype,
            absorb_threshold=absorb_threshold, memory_budget_mb=memory_budget_mb, on_fail=on_fail))
    schedule = _epsilon_schedule(C, eps, epsilon_scaling, scaling_factor)
    history, history_l2, stages = [], [], []
    it = 0
    err_row = err_col = math.inf
    converged = False
    t0 = time.perf_counter()
    for stage, eps_s in enumerate(schedule):
        final = stage == len(schedule) - 1
        target_tol = tol if final else max(tol, stage_tol)
        lam_a = 1.0 if math.isinf(tau_a) else tau_a / (tau_a + eps_s)
        lam_b = 1.0 if math.isinf(tau_b) else tau_b / (tau_b + eps_s)
        fh, gh = f.clone(), g.clone()
        kernel.build(fh + eps_s * log_a, gh + eps_s * log_b, eps_s)
        omega = 1.0 if overrelaxation == "auto" else omega_fixed
        stage_errs = []
        best = math.inf
        last_tune = 0
        stage_start = it
        while it < max_iter:
            it += 1
            with vec:
                v = torch.exp((g - gh) / eps_s).to(kdtype)
            Kv = (kernel.K @ v).double()
            if not bool((Kv > 0).all()) or not bool(torch.isfinite(Kv).all()):
                log_Kv = kernel.lse_rows(fh + eps_s * log_a, g + eps_s * log_b, eps_s, 1) - (fh + eps_s * log_a) / eps_s
            else:
                with vec:
                    log_Kv = torch.log(Kv)
            with vec:
                f_new = lam_a * (fh + eps_s * log_a - eps_s * log_Kv)
                f = f + omega * (f_new - f)
                lu = (f - fh) / eps_s
                u = torch.exp(lu)
                u_k = u.to(kdtype)
            Ktu = (kernel.K.T @ u_k).double()
            if not bool((Ktu > 0).all()) or not bool(torch.isfinite(Ktu).all()):
                log_Ktu = kernel.lse_rows(f + eps_s * log_a, gh + eps_s * log_b, eps_s, 0) - (gh + eps_s * log_b) / eps_s
                Ktu = torch.exp(log_Ktu)
            else:
                with vec:
                    log_Ktu = torch.log(Ktu)
            with vec:
                row_target = a if math.isinf(tau_a) else a * torch.exp(-f / tau_a)
                col_target = b if math.isinf(tau_b) else b * torch.exp(-g / tau_b)
                err_row = float((torch.exp(lu + log_Kv) - row_target).abs().sum())
                col_res = torch.exp((g - gh) / eps_s + log_Ktu) - col_target
                err_col = float(col_res.abs().sum())
                history_l2.append(float(col_res.norm()))
                err = max(err_row, err_col)
            if not math.isfinite(err) or not bool(torch.isfinite(f).all()) or not bool(torch.isfinite(g).all()):
                _fail(
                    f"sinkhorn produced NaN/inf at epsilon={eps_s:g} (target {eps:g}), iteration {it}; marginal error was "
                    f"{history[-1] if history else float('nan'):.3g}. Raise epsilon, use dtype=torch.float64 or rescale the cost",
                    on_fail,
                )
                return _result(C, a, b, f, g, eps, tau_a, tau_b, kdtype, it, False, history, stages, schedule, t0, kernel, err_row, err_col, history_l2)
            history.append(err)
            stage_errs.append(err)
            if err < target_tol:
                break
            best = min(best, err)
            if overrelaxation == "auto":
                since = len(stage_errs) - last_tune
                if omega > 1.0 and err > 2.0 * best:
                    omega, best, last_tune = 1.0 + 0.5 * (omega - 1.0), err, len(stage_errs)
                elif since >= (10 if omega == 1.0 else 25):
                    omega = _tune_omega(stage_errs[-since // 2 - 1 :], omega)
                    last_tune = len(stage_errs)
            with vec:
                g_new = lam_b * (gh + eps_s * log_b - eps_s * log_Ktu)
                g = g + omega * (g_new - g)
                absorb = float(lu.abs().max()) > threshold or float(((g - gh) / eps_s).abs().max()) > threshold
            if absorb:
                fh, gh = f.clone(), g.clone()
                kernel.build(fh + eps_s * log_a, gh + eps_s * log_b, eps_s)
        stages.append({"epsilon": eps_s, "iterations": it - stage_start, "marginal_error": history[-1] if history else math.nan, "omega": omega})
        if it >= max_iter and not (history and history[-1] < target_tol):
            break
        converged = final
    if not converged:
        _fail(
            f"sinkhorn did not converge: epsilon={stages[-1]['epsilon']:g} (target {eps:g}), iteration {it} of max_iter={max_iter}, "
            f"marginal error {max(err_row, err_col):.3g} > tol={tol:g}. Raise max_iter, raise epsilon or loosen tol"
            + ("" if epsilon_scaling else ", or keep epsilon_scaling=True (it reaches a small epsilon in far fewer iterations)"),
            on_fail,
        )
    return _result(C, a, b, f, g, eps, tau_a, tau_b, kdtype, it, converged, history, stages, schedule, t0, kernel, err_row, err_col, history_l2)


def _collapsed(C, a, b, f, g, groups, kernel, settings: dict) -> Coupling:
    """:func:`sinkhorn` between the distinct rows and columns of ``C``, expanded to the full ``n x m`` coupling."""
    t0 = time.perf_counter()
    (rows, row_of), (cols, col_of) = [
        (torch.arange(size, device=C.device),) * 2 if grp is None else grp for grp, size in zip(groups, C.shape)]
    a_c = torch.zeros(rows.numel(), dtype=a.dtype, device=a.device).index_add_(0, row_of, a)
    b_c = torch.zeros(cols.numel(), dtype=b.dtype, device=b.device).index_add_(0, col_of, b)
    sub = sinkhorn(C[rows][:, cols], a_c, b_c, init=(f[rows], g[cols]), collapse=False, **settings)
    log = sub.log
    out = _result(C, a, b, sub.f[row_of], sub.g[col_of], settings["epsilon"], settings["tau_a"], settings["tau_b"], settings["dtype"],
                  sub.n_iter, sub.converged, log["marginal_error_history"], log["stages"], log["epsilon_schedule"], t0, kernel,
                  *sub.marginal_error, log["col_error_l2_history"])
    out.log["collapsed"] = (rows.numel(), cols.numel())
    return out


def _result(C, a, b, f, g, eps, tau_a, tau_b, kdtype, it, converged, history, stages, schedule, t0, kernel, err_row, err_col, history_l2):
    kernel.build(f + eps * torch.log(a), g + eps * torch.log(b), eps)
    plan = kernel.K
    value = float((plan.double() * C.double()).sum()) if C.numel() <= 50_000_000 else float(sum(
        (plan[s:s + 1024].double() * C[s:s + 1024].double()).sum() for s in range(0, C.shape[0], 1024)))
    return Coupling(
        plan=plan, value=value, marginal_error=(err_row, err_col), n_iter=it, converged=converged,
        method="sinkhorn", epsilon=eps, tau_a=tau_a, tau_b=tau_b, f=f, g=g, a=a, b=b,
        log={"marginal_error_history": history, "col_error_l2_history": history_l2, "stages": stages, "epsilon_schedule": schedule,
             "kernel_builds": kernel.n_builds, "seconds": time.perf_counter() - t0},
    )
