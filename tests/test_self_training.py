"""OT self-training and ridge maps, the Aligner's map point estimate, and ``auto`` on paired bridges."""
import numpy as np
import pytest

import neurobridge as nb
from neurobridge.couplings import CouplingError, RidgeCoupling, SelfTrainingCoupling
from neurobridge.couplings.methods.auto import AutoCoupling, median_site_r
from neurobridge.couplings.methods.self_training import barycentric_targets


def _paired_pools(n=400, k=20, noise=1.0, seed=0, unrelated_target_pool=False):
    """Source x (8-d) -> target y = tanh-free linear map + noise (20-d); pools share their images, pairing unknown
    except for ``k`` bridges; 200 held-out points in neither pool. ``unrelated_target_pool``: the target pool's
    unpaired points come from another map, so self-training on them misleads."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((8, 20))
    x = rng.standard_normal((n + 200, 8))
    clean = x @ W
    y = clean + noise * rng.standard_normal(clean.shape)
    pool, test = np.arange(n), np.arange(n, n + 200)
    bridges = rng.choice(n, k, replace=False)
    ys = y[pool].copy()
    if unrelated_target_pool:
        other = np.setdiff1d(np.arange(n), bridges)
        ys[other] = rng.standard_normal((other.size, 8)) @ (-W) * 3.0 + 5.0 * rng.standard_normal((other.size, 20))
    b = nb.Bridges.from_indices(bridges, bridges, n_source=n, n_target=n, match="stimulus_id")
    return x[pool], ys, b, x[test], clean[test]


def test_barycentric_targets_are_the_plan_weighted_mean_partners():
    rng = np.random.default_rng(0)
    P = rng.random((5, 7))
    P[2] = 0.0
    y = rng.standard_normal((7, 3))
    bary = barycentric_targets(P, y)
    for i in (0, 1, 3, 4):
        np.testing.assert_allclose(bary[i], sum(P[i, j] * y[j] for j in range(7)) / P[i].sum())
    np.testing.assert_allclose(bary[2], y.mean(0))


def test_self_training_uses_the_unpaired_pools_and_beats_ridge_on_held_out_points():
    xs, ys, b, xt, truth = _paired_pools(noise=2.0)
    ridge = RidgeCoupling().fit(xs, ys, b).log["point_estimate"].predict(xt)
    trained = SelfTrainingCoupling().fit(xs, ys, b)
    assert len(trained.log["rounds"]) == 4 and trained.plan is not None
    assert median_site_r(trained.log["point_estimate"].predict(xt), truth) > median_site_r(ridge, truth) + 0.05


def test_zero_rounds_is_ridge_on_the_bridges():
    xs, ys, b, xt, _ = _paired_pools()
    np.testing.assert_array_equal(SelfTrainingCoupling(rounds=0).fit(xs, ys, b).log["point_estimate"].predict(xt),
                                  RidgeCoupling().fit(xs, ys, b).log["point_estimate"].predict(xt))


def test_bad_self_training_parameters_are_named():
    xs, ys, b, _, _ = _paired_pools(n=60, k=6)
    with pytest.raises(CouplingError, match="rounds"):
        SelfTrainingCoupling(rounds=-1).fit(xs, ys, b)
    with pytest.raises(CouplingError, match="regressor"):
        SelfTrainingCoupling(regressor="forest").fit(xs, ys, b)
    with pytest.raises(CouplingError, match="epsilon"):
        SelfTrainingCoupling(epsilon=0).fit(xs, ys, b)


def test_aligner_returns_the_map_and_trains_the_flow_only_for_sample():
    xs, ys, b, xt, _ = _paired_pools(n=200, k=20)
    aligner = nb.Aligner("self-training", steps=30, progress=False).fit(xs, ys, b)
    assert aligner.point_estimate_ == "map" and not hasattr(aligner, "flow_")
    expected = aligner.coupling_.log["point_estimate"].predict(xt).astype(np.float32)
    np.testing.assert_array_equal(aligner.transform(xt), expected)
    np.testing.assert_array_equal(aligner.transform(xt, seed=3), aligner.transform(xt, seed=4))  # no sampling noise
    draws = aligner.sample(xt[:5], n_samples=3)
    assert draws.shape == (5, 3, ys.shape[1]) and hasattr(aligner, "flow_")
    flow = nb.Aligner("self-training", steps=30, point_estimate="flow", progress=False).fit(xs, ys, b)
    assert flow.point_estimate_ == "flow" and hasattr(flow, "flow_")
    with pytest.raises(ValueError, match="point_estimate='map'"):
        nb.Aligner("bridge-ot", steps=10, point_estimate="map", progress=False).fit(xs, ys, b)
    with pytest.raises(ValueError, match="point_estimate"):
        nb.Aligner(point_estimate="median").fit(xs, ys, b)


def test_map_point_estimate_keeps_the_assemblies_coords():
    xs, ys, b, xt, _ = _paired_pools(n=120, k=12)
    source = nb.assemblies.make_assembly(xs, stimulus_id=[f"s{i}" for i in range(len(xs))])
    target = nb.assemblies.make_assembly(ys, stimulus_id=[f"s{i}" for i in range(len(ys))],
                                         neuroid_id=[f"site{j}" for j in range(ys.shape[1])])
    aligner = nb.Aligner("ridge", progress=False).fit(source, target, b)
    new = nb.assemblies.make_assembly(xt, stimulus_id=[f"t{i}" for i in range(len(xt))])
    moved = aligner.transform(new)
    assert list(moved.coords["neuroid_id"].values[:2]) == ["site0", "site1"]
    assert moved.coords["stimulus_id"].values[0] == "t0"


def test_auto_returns_ridges_predictions_exactly_when_ridge_wins():
    xs, ys, b, xt, truth = _paired_pools(noise=0.5, unrelated_target_pool=True)
    aligner = nb.Aligner(progress=False).fit(xs, ys, b)
    selection = aligner.selection_
    assert aligner.coupling_.log["selected"] == "ridge", selection
    assert selection["ridge"]["mean"] > selection["self-training"]["mean"]
    ridge = RidgeCoupling().fit(xs.astype(np.float32), ys.astype(np.float32), b).log["point_estimate"]  # the pools as fit sees them
    np.testing.assert_array_equal(aligner.transform(xt), ridge.predict(xt).astype(np.float32))


def test_auto_chooses_self_training_when_the_pools_carry_the_pairing():
    xs, ys, b, xt, truth = _paired_pools(noise=2.0)
    aligner = nb.Aligner(progress=False).fit(xs, ys, b)
    assert aligner.coupling_.log["selected"] == "self-training" and aligner.coupling_.log["score"] == "median_site_r"
    ridge = RidgeCoupling().fit(xs, ys, b).log["point_estimate"].predict(xt)
    assert median_site_r(aligner.transform(xt), truth) > median_site_r(ridge, truth)


def test_paired_validation_folds_keep_held_out_bridges_out_of_both_pools():
    xs, ys, b, _, _ = _paired_pools(n=150, k=15)
    seen = []

    class Spy(RidgeCoupling):
        def fit(self, x, y, bridges):
            seen.append((np.asarray(x).copy(), np.asarray(y).copy(), bridges))
            return super().fit(x, y, bridges)

    auto = AutoCoupling({"spy": Spy(), "ridge": RidgeCoupling()}, repeats=1, seed=0)
    auto.fit(xs, ys, b)
    fold = auto.fold_ids(b)
    for f, (x, y, _) in enumerate(seen[:3]):
        held = np.asarray(b.source_index)[fold == f]
        for i in held:
            assert not (np.abs(x - xs[i]).sum(1) == 0).any()
            assert not (np.abs(y - ys[i]).sum(1) == 0).any()


def test_default_paired_fit_is_deterministic():
    xs, ys, b, xt, _ = _paired_pools(n=200, k=20)
    a = nb.Aligner(progress=False, seed=1).fit(xs, ys, b).transform(xt)
    c = nb.Aligner(progress=False, seed=1).fit(xs, ys, b).transform(xt)
    np.testing.assert_array_equal(a, c)


def test_flow_mean_sampling_noise_falls_as_one_over_root_draws():
    """The flow point estimate's Monte-Carlo noise (RMS difference of two independent means, / sqrt 2) shrinks about
    as 1/sqrt(S): the mean of 16 draws at most half the noise of one draw (1/4 expected)."""
    xs, ys, b, xt, _ = _paired_pools(n=200, k=20, noise=2.0)
    aligner = nb.Aligner("bridge-ot", steps=60, progress=False).fit(xs, ys, b)
    noise = {}
    for draws in (1, 16):
        a, c = aligner.transform(xt, n_samples=draws, seed=1), aligner.transform(xt, n_samples=draws, seed=2)
        noise[draws] = float(np.sqrt(((a - c) ** 2).mean() / 2))
    assert noise[1] > 0 and noise[16] <= 0.5 * noise[1], noise


def test_the_experiments_ridge_cv_baseline_is_autos_ridge_candidate():
    from neurobridge.experiments.methods import build_method

    xs, ys, b, xt, _ = _paired_pools(n=150, k=15)
    baseline = build_method("ridge-cv").fit(xs, ys, b).transform(xt)
    np.testing.assert_array_equal(baseline, RidgeCoupling().fit(xs, ys, b).log["point_estimate"].predict(xt))
