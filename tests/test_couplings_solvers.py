import math

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobridge.couplings import ConvergenceError, CouplingError, exact, marginal_residuals, sinkhorn, solve


def _problem(n=40, m=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    M = ot.dist(rng.normal(size=(n, d)), rng.normal(size=(m, d)))
    a = rng.random(n) + 0.5
    b = rng.random(m) + 0.5
    return M / M.mean(), a / a.sum(), b / b.sum()


@pytest.mark.parametrize("eps", [0.5, 0.05, 0.01])
def test_balanced_equals_pot_sinkhorn_log(eps):
    M, a, b = _problem()
    ours = sinkhorn(M, a, b, epsilon=eps, tol=1e-11, dtype=torch.float64)
    ref = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", stopThr=1e-13, numItermax=200_000)
    np.testing.assert_allclose(ours.plan_numpy(), ref, atol=1e-10)
    assert ours.converged and max(ours.marginal_error) < 1e-11


@pytest.mark.parametrize("taus", [(1.0, 2.0), (0.3, math.inf), (math.inf, 0.5)])
def test_unbalanced_equals_pot(taus):
    M, a, b = _problem(seed=1)
    eps = 0.05
    ours = solve(torch.as_tensor(M), a, b, epsilon=eps, unbalanced=taus, tol=1e-11)
    ref = ot.unbalanced.sinkhorn_unbalanced(a, b, M, eps, reg_m=taus, reg_type="kl", stopThr=1e-14, numItermax=500_000)
    np.testing.assert_allclose(ours.plan_numpy(), ref, atol=1e-9)
    if math.isinf(taus[1]):
        np.testing.assert_allclose(ours.plan_numpy().sum(0), b, atol=1e-10)


def test_exact_equals_emd():
    M, a, b = _problem(seed=2)
    ours = exact(torch.as_tensor(M), a, b)
    np.testing.assert_allclose(ours.plan_numpy(), ot.emd(a, b, M), atol=1e-14)
    assert ours.value == pytest.approx(ot.emd2(a, b, M))
    assert isinstance(ours.plan, torch.Tensor)


def test_small_epsilon_approaches_exact():
    M, a, b = _problem(n=25, m=25, seed=3)
    ent = sinkhorn(M, a, b, epsilon=1e-3, tol=1e-9, dtype=torch.float64)
    assert ent.value == pytest.approx(exact(M, a, b).value, rel=5e-2)


def test_float32_and_float64_agree():
    M, a, b = _problem(seed=4)
    p32 = sinkhorn(torch.as_tensor(M, dtype=torch.float32), a, b, epsilon=0.02, tol=1e-6)
    p64 = sinkhorn(torch.as_tensor(M), a, b, epsilon=0.02, tol=1e-10)
    assert p32.plan.dtype == torch.float32 and p64.plan.dtype == torch.float64
    np.testing.assert_allclose(p32.plan_numpy(), p64.plan_numpy(), atol=2e-6)


def test_pot_backed_solver():
    M, a, b = _problem(seed=5)
    res = solve(M, a, b, epsilon=0.1, method="pot", tol=1e-9)
    ours = solve(M, a, b, epsilon=0.1, tol=1e-10)
    assert res.method == "pot:sinkhorn_log"
    np.testing.assert_allclose(res.plan, ours.plan_numpy(), atol=1e-8)


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(1, 25),
    m=st.integers(1, 25),
    eps=st.sampled_from([0.03, 0.3]),
    seed=st.integers(0, 10_000),
    relax=st.sampled_from([None, (0.5, 0.5), (1.0, math.inf)]),
)
def test_marginals_hold(n, m, eps, seed, relax):
    """Marginals to 1e-6 over random sizes. Epsilon stays >= 0.03 here: on random costs a smaller epsilon can need
    more than 10^5 iterations (the solver then raises ConvergenceError, as it should), which a property test cannot
    afford; small epsilon is covered by the fixed-problem tests and benchmarks/bench_sinkhorn.py."""
    rng = np.random.default_rng(seed)
    C = rng.random((n, m)) * 2
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    res = solve(C, a, b, epsilon=eps, unbalanced=relax, tol=1e-7, max_iter=50_000)
    row, col = marginal_residuals(res.plan, a, b, res.f, res.g, res.tau_a, res.tau_b)
    assert row < 1e-6 and col < 1e-6
    P = res.plan_numpy()
    assert (P >= 0).all() and np.isfinite(P).all()
    if relax is None:
        np.testing.assert_allclose(P.sum(1), a, atol=1e-6)
        np.testing.assert_allclose(P.sum(0), b, atol=1e-6)


def test_unbalanced_leaves_mass_on_outliers():
    rng = np.random.default_rng(0)
    n_out = 5
    x = np.concatenate([rng.normal(size=(95, 2)), rng.normal(size=(n_out, 2)) + 12.0])
    y = rng.normal(size=(100, 2))
    C = ot.dist(x, y)
    C /= C.mean()
    bal = sinkhorn(C, epsilon=0.05, tol=1e-8)
    unb = sinkhorn(C, epsilon=0.05, tau_a=0.05, tau_b=math.inf, tol=1e-8)
    out_bal = bal.plan_numpy()[-n_out:].sum()
    out_unb = unb.plan_numpy()[-n_out:].sum()
    assert out_bal == pytest.approx(n_out / 100, rel=1e-5)
    assert out_unb < 0.1 * out_bal
    inliers = unb.plan_numpy()[:-n_out].sum(1)
    assert inliers.mean() > 0.5 / 100


def test_no_silent_failure():
    M, a, b = _problem(seed=6)
    with pytest.raises(ConvergenceError, match=r"epsilon=0.001.*iteration 5 .*marginal error"):
        sinkhorn(M, a, b, epsilon=1e-3, max_iter=5, epsilon_scaling=False)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        res = sinkhorn(M, a, b, epsilon=1e-3, max_iter=5, on_fail="warn", epsilon_scaling=False)
    assert not res.converged and res.n_iter == 5


def test_nan_is_reported():
    M, a, b = _problem(seed=7)
    with pytest.raises(ConvergenceError, match="NaN"):
        sinkhorn(M, a, b, epsilon=0.1, init=(np.full(len(a), np.nan), np.zeros(len(b))), epsilon_scaling=False)
    with pytest.raises(ConvergenceError, match="did not converge"):
        sinkhorn(M * 1e6, a, b, epsilon=1e-3, epsilon_scaling=False, dtype=torch.float32, absorb_threshold=1e9, max_iter=50)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda M, a, b: sinkhorn(M, a, b, epsilon=0), "epsilon"),
        (lambda M, a, b: sinkhorn(M, a, b, epsilon=-1.0), "epsilon"),
        (lambda M, a, b: sinkhorn(np.where(M > 1, np.nan, M), a, b, epsilon=0.1), "cost"),
        (lambda M, a, b: sinkhorn(M, a[:-1], b, epsilon=0.1), r"a must be a 1-D vector of length 40"),
        (lambda M, a, b: sinkhorn(M, a, b * 2, epsilon=0.1), "equal masses"),
        (lambda M, a, b: sinkhorn(np.zeros((0, 3)), epsilon=0.1), "empty"),
        (lambda M, a, b: sinkhorn(M, a, b, epsilon=0.1, tau_a=0), "tau_a"),
        (lambda M, a, b: solve(M, a, b), "needs epsilon"),
        (lambda M, a, b: solve(M, a, b, epsilon=0.1, method="exact"), "exact"),
        (lambda M, a, b: sinkhorn(M, a, b, epsilon=0.1, on_fail="ignore"), "on_fail"),
    ],
)
def test_bad_inputs(call, match):
    M, a, b = _problem()
    with pytest.raises(CouplingError, match=match):
        call(M, a, b)


def test_result_summary():
    M, a, b = _problem()
    res = solve(M, a, b, epsilon=0.1, unbalanced=(1.0, 1.0))
    text = repr(res)
    assert "sinkhorn" in text and "tau_a=1" in text and "converged=True" in text
    assert res.log["stages"][-1]["epsilon"] == 0.1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sinkhorn_on_gpu_matches_cpu():
    M, a, b = _problem()
    cpu = sinkhorn(torch.as_tensor(M), a, b, epsilon=0.01, tol=1e-9)
    gpu = sinkhorn(torch.as_tensor(M).cuda(), a, b, epsilon=0.01, tol=1e-9)
    assert gpu.plan.device.type == "cuda"
    np.testing.assert_allclose(gpu.plan_numpy(), cpu.plan_numpy(), atol=1e-9)


def _repeated_columns(n=60, groups=5, seed=2, rows=False):
    """A cost whose columns (or rows) are ``groups`` distinct ones repeated over the pool, with random weights."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, groups))
    of = rng.integers(0, groups, size=n)
    of[:groups] = np.arange(groups)
    M = base[:, of]
    a, b = rng.random(n) + 0.5, rng.random(n) + 0.5
    return (M.T.copy(), b / b.sum(), a / a.sum()) if rows else (M, a / a.sum(), b / b.sum())


@pytest.mark.parametrize("taus", [(math.inf, math.inf), (1.0, 2.0), (0.3, math.inf)])
@pytest.mark.parametrize("rows", [False, True])
def test_repeated_lines_are_solved_once_and_give_the_full_plan(taus, rows):
    M, a, b = _repeated_columns(rows=rows)
    merged = sinkhorn(M, a, b, epsilon=0.05, tau_a=taus[0], tau_b=taus[1], tol=1e-11, dtype=torch.float64)
    full = sinkhorn(M, a, b, epsilon=0.05, tau_a=taus[0], tau_b=taus[1], tol=1e-11, dtype=torch.float64, collapse=False)
    assert merged.log["collapsed"] == ((5, 60) if rows else (60, 5)) and "collapsed" not in full.log
    assert merged.n_iter == full.n_iter
    np.testing.assert_allclose(merged.plan_numpy(), full.plan_numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(merged.f, full.f, atol=1e-9)
    np.testing.assert_allclose(merged.g, full.g, atol=1e-9)
    if taus == (math.inf, math.inf):
        ref = ot.sinkhorn(a, b, M, 0.05, method="sinkhorn_log", stopThr=1e-13, numItermax=200_000)
        np.testing.assert_allclose(merged.plan_numpy(), ref, atol=1e-10)


def test_nearly_equal_columns_are_not_merged():
    M, a, b = _repeated_columns()
    first = np.flatnonzero((M == M[:, [0]]).all(0))
    M[7, first[-1]] += 1e-9
    merged = sinkhorn(M, a, b, epsilon=0.05, tol=1e-11, dtype=torch.float64)
    full = sinkhorn(M, a, b, epsilon=0.05, tol=1e-11, dtype=torch.float64, collapse=False)
    assert merged.log["collapsed"] == (60, 6)
    np.testing.assert_allclose(merged.plan_numpy(), full.plan_numpy(), rtol=1e-9, atol=1e-15)


def test_distinct_lines_are_solved_as_given():
    M, a, b = _problem()
    assert "collapsed" not in sinkhorn(M, a, b, epsilon=0.05).log
    with pytest.raises(CouplingError, match="collapse must be True or False"):
        sinkhorn(M, a, b, epsilon=0.05, collapse="yes")
