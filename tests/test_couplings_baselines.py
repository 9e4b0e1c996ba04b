import numpy as np
import pytest
import torch

from neurobridge.bridges import Bridges
from neurobridge.couplings import (
    Coupling,
    CouplingError,
    fused_gromov_wasserstein,
    gromov_wasserstein,
    hard_assignment,
    map_coupling,
    marginal_error,
    relative_coupling,
    row_entropy,
    supervised_only,
)


def _rotated(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    Q, _ = np.linalg.qr(rng.normal(size=(d + 2, d + 2)))
    y = np.zeros((n, d + 2))
    y[:, :d] = x
    perm = rng.permutation(n)
    y = (y @ Q)[perm]
    partner = np.argsort(perm)
    ex = np.sort(rng.choice(n, 12, replace=False))
    return x, y, partner, Bridges.from_indices(ex, partner[ex], n_source=n, n_target=n)


@pytest.mark.parametrize("method", ["procrustes", "lstsq"])
def test_map_baselines_recover_a_rotation(method):
    x, y, partner, br = _rotated()
    res = map_coupling(x, y, br, method=method)
    assert isinstance(res, Coupling) and res.method.startswith(method)
    r, c = hard_assignment(res.plan, "argmax")
    assert np.mean(c == partner[r]) > 0.9


def test_relative_representations_recover_a_rotation():
    x, y, partner, br = _rotated()
    res = relative_coupling(x, y, br, epsilon=1e-3)
    r, c = hard_assignment(res.plan, "hungarian")
    assert np.mean(c == partner[r]) > 0.9
    assert max(res.marginal_error) < 1e-5


def test_gw_and_fgw_return_couplings():
    x, y, partner, br = _rotated(n=40)
    gw = gromov_wasserstein(x, y, epsilon=5e-3)
    fgw = fused_gromov_wasserstein(x, y, br, alpha=0.5, epsilon=5e-3)
    for res in (gw, fgw):
        P = res.plan_numpy()
        assert P.shape == (40, 40)
        assert max(marginal_error(P)) < 1e-3
    r, c = hard_assignment(fgw.plan, "hungarian")
    assert np.mean(c == partner[r]) > 0.5
    assert np.isnan(gw.value) and np.isfinite(fgw.value)
    with pytest.raises(CouplingError, match="alpha"):
        fused_gromov_wasserstein(x, y, br, alpha=2.0)


def test_supervised_only_samples_bridges():
    br = Bridges.from_indices([0, 3], [2, 1], n_source=5, n_target=4)
    res = supervised_only(br)
    src, tgt = res.pair_sampler().sample(10, np.random.default_rng(0))
    assert set(zip(src.tolist(), tgt.tolist())) <= {(0, 2), (3, 1)}
    assert res.shape == (5, 4) and res.plan is None
    with pytest.raises(CouplingError, match="dense plan"):
        res.plan_numpy()


def test_row_entropy_bounds():
    P = np.eye(4) / 4
    assert np.allclose(row_entropy(P), 0)
    assert np.allclose(row_entropy(np.ones((3, 5))), 1)
    assert np.allclose(row_entropy(torch.ones(2, 8), normalise=False), np.log(8))
