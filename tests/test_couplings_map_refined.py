"""Map-refined, regression-map and KPG-RL relation couplings on paired bridges (issue 11, Deliver 1 and 7)."""
import numpy as np
import pytest

from neurobridge.bridges import Bridges
from neurobridge.couplings import CouplingError
from neurobridge.couplings.methods import METHODS, MapRefinedCoupling, RegressionMapCoupling, RelationCoupling
from neurobridge.couplings.methods.map_refined import BridgeRegression, confident_pairs


def _paired(n=300, fraction=0.05, nonlinear=True, seed=0):
    """Source: points in R^4; target: a known map of them into R^8 (nonlinear: ``tanh(1.5 x W)``; else ``x W``),
    shuffled. ``partner[i]`` is the target position of source ``i``; 5 % of the pairs are bridges."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    W = rng.standard_normal((4, 8)) / 2.0
    y = np.tanh(1.5 * x @ W) if nonlinear else x @ W
    y = y + 0.01 * rng.standard_normal(y.shape)
    order = rng.permutation(n)
    partner = np.argsort(order)
    y = y[order]
    k = max(2, int(round(fraction * n)))
    src = np.sort(rng.choice(n, k, replace=False))
    bridges = Bridges.from_indices(src, partner[src], n_source=n, n_target=n, match="stimulus_id")
    return x, y, partner, bridges


def _recovery(coupling, partner, bridges):
    P = coupling.plan_numpy()
    free = np.setdiff1d(np.arange(len(partner)), bridges.source_index)
    return float(np.mean(P[free].argmax(1) == partner[free]))


def test_map_refined_recovers_a_nonlinear_map_better_than_ridge():
    x, y, partner, bridges = _paired()
    ridge = _recovery(RegressionMapCoupling().fit(x, y, bridges), partner, bridges)
    refined = MapRefinedCoupling(rounds=1).fit(x, y, bridges)
    kernel = MapRefinedCoupling("kernel-ridge", rounds=1).fit(x, y, bridges)
    assert _recovery(refined, partner, bridges) > ridge + 0.15, (_recovery(refined, partner, bridges), ridge)
    assert _recovery(kernel, partner, bridges) > ridge + 0.15
    assert refined.log["rounds"][1]["pairs"] > len(bridges)
    assert refined.log["mapped_source"].shape == y.shape


def test_refinement_round_does_not_lose_recovery():
    x, y, partner, bridges = _paired(seed=1, nonlinear=False)
    plain = _recovery(MapRefinedCoupling(rounds=0).fit(x, y, bridges), partner, bridges)
    refined = _recovery(MapRefinedCoupling(rounds=2).fit(x, y, bridges), partner, bridges)
    assert refined >= plain - 0.01


def test_bridge_ridge_matches_sklearn_ridgecv_on_standardised_inputs():
    from sklearn.linear_model import RidgeCV

    x, y, partner, bridges = _paired(n=200, fraction=0.2, nonlinear=False)
    xb, yb = x[bridges.source_index], y[bridges.target_index]
    reg = BridgeRegression("ridge", alphas=[0.1, 1.0, 10.0]).fit(x, xb, yb)
    z = (x - x.mean(0)) / x.std(0)
    ref = RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(z[bridges.source_index], yb)
    np.testing.assert_allclose(reg.predict(x), ref.predict(z), atol=1e-10)
    assert reg.alpha_ == ref.alpha_


def test_pls_regressor_and_unbalanced_plan_run():
    x, y, partner, bridges = _paired(n=150, fraction=0.1)
    coupling = MapRefinedCoupling("pls", n_components=4, rounds=0, unbalanced=(1.0, 1.0)).fit(x, y, bridges)
    assert np.isfinite(coupling.plan_numpy()).all() and coupling.tau_a == 1.0


def test_confident_pairs_are_mutual_argmax_above_threshold():
    P = np.array([[0.6, 0.1, 0.0], [0.1, 0.2, 0.21], [0.0, 0.3, 0.05], [0.0, 0.29, 0.0]])
    i, j = confident_pairs(P, 0.5)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 0), (2, 1)]


def test_relation_cost_recovers_more_partners_than_chance_and_is_guided():
    x, y, partner, bridges = _paired(n=200, fraction=0.1, nonlinear=False)
    coupling = RelationCoupling().fit(x, y, bridges)
    P = coupling.plan_numpy()
    assert _recovery(coupling, partner, bridges) > 0.2
    row = P[bridges.source_index[0]]
    assert row.argmax() == bridges.target_index[0] and row[bridges.target_index[0]] / row.sum() > 0.99


def test_relation_js_cost_matches_a_direct_computation():
    import torch
    from scipy.spatial.distance import jensenshannon

    from neurobridge.couplings.methods.relation import _relations, relation_cost

    x, y, partner, bridges = _paired(n=40, fraction=0.2)
    C = relation_cost(x, y, bridges, temperature=0.2).numpy()
    tx, ty = torch.as_tensor(x), torch.as_tensor(y)
    r = _relations(tx, tx[torch.as_tensor(np.array(bridges.source_index))], "cosine", 0.2).numpy()
    s = _relations(ty, ty[torch.as_tensor(np.array(bridges.target_index))], "cosine", 0.2).numpy()
    ref = np.array([[jensenshannon(r[i], s[j]) ** 2 for j in range(len(s))] for i in range(len(r))])
    np.testing.assert_allclose(C, ref, atol=1e-10)


def test_bad_parameters_are_named():
    x, y, partner, bridges = _paired(n=60, fraction=0.1)
    with pytest.raises(CouplingError, match="regressor"):
        MapRefinedCoupling("lasso").fit(x, y, bridges)
    with pytest.raises(CouplingError, match="rounds"):
        MapRefinedCoupling(rounds=-1).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="alphas"):
        MapRefinedCoupling(alphas=[-1.0]).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="Bridges"):
        MapRefinedCoupling().fit(x, y, (x[:3], y[:3]))
    with pytest.raises(CouplingError, match="divergence"):
        RelationCoupling(divergence="kl").fit(x, y, bridges)


def test_registered_deterministic_and_params_round_trip():
    assert METHODS["map-refined"] is MapRefinedCoupling and METHODS["relation"] is RelationCoupling
    x, y, partner, bridges = _paired(n=120, fraction=0.1)
    a = MapRefinedCoupling("kernel-ridge", seed=3).fit(x, y, bridges).plan_numpy()
    b = MapRefinedCoupling("kernel-ridge", seed=3).fit(x, y, bridges).plan_numpy()
    np.testing.assert_array_equal(a, b)
    method = MapRefinedCoupling(epsilon=1e-2)
    assert method.get_params()["epsilon"] == 1e-2 and method.set_params(rounds=3).rounds == 3
