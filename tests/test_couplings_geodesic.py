"""The k-NN graph, geodesic bridge cost and label-spreading coupling (issue 11, Deliver 2 and 7)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_moons

from neurobridge.bridges import Bridges
from neurobridge.couplings import CouplingError, bridge_cost, plan_match_accuracy, solve
from neurobridge.couplings.graph import DisconnectedGraphWarning, geodesic_distances, knn_graph, label_spreading
from neurobridge.couplings.methods import METHODS, GeodesicCoupling, LabelSpreadingCoupling
from neurobridge.couplings.methods.geodesic import geodesic_bridge_cost


def _moons(n=300, seed=0):
    """Source: two interleaved moons (3-D, noisy); target: the class as a noisy 2-D code. Few labels per class."""
    x, labels = make_moons(n, noise=0.06, random_state=seed)
    rng = np.random.default_rng(seed)
    x = np.c_[x, 0.05 * rng.standard_normal(n)]
    y = np.eye(2)[labels] + 0.15 * rng.standard_normal((n, 2))
    bridges = Bridges.from_labels(labels, labels, count=2, seed=seed)
    return x, y, labels, bridges


def test_knn_graph_matches_sklearn_neighbours_symmetrised():
    from sklearn.neighbors import kneighbors_graph

    x = np.random.default_rng(0).standard_normal((80, 4))
    ours = knn_graph(x, 5, metric="euclidean")
    ref = kneighbors_graph(x, 5, mode="distance", include_self=False)
    ref = ref.maximum(ref.T)
    assert (ours != ours.T).nnz == 0
    np.testing.assert_allclose(ours.toarray(), ref.toarray(), atol=1e-10)


def test_geodesic_distances_follow_the_graph_not_the_chord():
    t = np.linspace(0, np.pi, 60)
    arc = np.c_[np.cos(t), np.sin(t)]
    D = geodesic_distances(knn_graph(arc, 2, metric="euclidean"), [0])
    chord = np.linalg.norm(arc[-1] - arc[0])
    arc_length = np.linalg.norm(np.diff(arc, axis=0), axis=1).sum()
    assert D[0, -1] == pytest.approx(arc_length, rel=1e-3)
    assert D[0, -1] > 1.5 * chord


def test_disconnected_graph_gives_finite_penalty_and_warns():
    rng = np.random.default_rng(0)
    x = np.r_[rng.standard_normal((40, 3)), rng.standard_normal((40, 3)) + 100.0]
    with pytest.warns(DisconnectedGraphWarning, match="2 connected components"):
        D = geodesic_distances(knn_graph(x, 3, metric="euclidean"), [0, 45], penalty=2.0)
    assert np.isfinite(D).all()
    reachable_max = max(D[0, :40].max(), D[1, 40:].max())
    assert D[0, 40:] == pytest.approx(2.0 * reachable_max)
    y = rng.standard_normal((80, 2))
    bridges = Bridges.from_indices([0, 45], [0, 45], n_source=80, n_target=80)
    with pytest.warns(DisconnectedGraphWarning):
        coupling = GeodesicCoupling(k=3, metric="euclidean").fit(x, y, bridges)
    assert np.isfinite(coupling.plan_numpy()).all()


def test_geodesic_cost_equals_min_plus_of_the_graph_sides():
    x, y, _, bridges = _moons(120)
    cost = geodesic_bridge_cost(x, y, bridges, k=8, metric="euclidean", dtype=__import__("torch").float64).cost.numpy()
    A = geodesic_distances(knn_graph(x, 8, metric="euclidean"), bridges.source_index).T
    B = geodesic_distances(knn_graph(y, 8, metric="euclidean"), bridges.target_index)
    ref = (A / A.mean())[:, :, None] + (B / B.mean())[None, :, :]
    np.testing.assert_allclose(cost, ref.min(1), rtol=1e-10)


def test_geodesic_cost_beats_plain_bridge_cost_on_label_matched_moons():
    x, y, labels, bridges = _moons()
    plain = solve(bridge_cost(x, y, bridges, metric="euclidean").cost, epsilon=1e-2, tol=1e-4)
    geo = GeodesicCoupling(k=10, metric="euclidean").fit(x, y, bridges)
    acc_plain = plan_match_accuracy(plain.plan, labels, labels)
    acc_geo = plan_match_accuracy(geo.plan, labels, labels)
    assert acc_geo > acc_plain + 0.05, (acc_geo, acc_plain)
    spread = LabelSpreadingCoupling(k=10, metric="euclidean").fit(x, y, bridges)
    assert plan_match_accuracy(spread.plan, labels, labels) > acc_plain + 0.05


def test_label_spreading_is_the_closed_form_fixed_point():
    x, _, labels, bridges = _moons(100)
    G = knn_graph(x, 6, metric="euclidean")
    F = label_spreading(G, bridges.source_index, labels[bridges.source_index], 2, alpha=0.9, affinity="connectivity", tol=1e-12)
    W = (G > 0).astype(float).toarray()
    d = 1 / np.sqrt(W.sum(1))
    S = d[:, None] * W * d[None, :]
    Y = np.zeros((100, 2))
    Y[bridges.source_index, labels[bridges.source_index]] = 1
    ref = np.linalg.solve(np.eye(100) - 0.9 * S, 0.1 * Y)
    np.testing.assert_allclose(F, ref / ref.sum(1, keepdims=True), atol=1e-8)


def test_label_spreading_needs_labels_and_names_the_fix():
    x, y, _, bridges = _moons(60)
    unlabelled = Bridges.from_indices(bridges.source_index, bridges.target_index, n_source=60, n_target=60)
    with pytest.raises(CouplingError, match="match='label'"):
        LabelSpreadingCoupling().fit(x, y, unlabelled)


def test_bad_parameters_are_named():
    x, y, _, bridges = _moons(60)
    with pytest.raises(CouplingError, match="k \\(neighbours"):
        GeodesicCoupling(k=0).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="cost"):
        GeodesicCoupling(cost="max").fit(x, y, bridges)
    with pytest.raises(CouplingError, match="epsilon"):
        GeodesicCoupling(epsilon=-1).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="penalty"):
        geodesic_distances(sp.csr_matrix(np.ones((3, 3))), [0], penalty=0.5)


def test_registered_and_params_round_trip():
    assert METHODS["geodesic"] is GeodesicCoupling and METHODS["label-spreading"] is LabelSpreadingCoupling
    method = GeodesicCoupling(k=7, sides="source")
    assert method.get_params()["k"] == 7 and method.get_params()["sides"] == "source"
    assert method.set_params(k=4).k == 4


def test_geodesic_coupling_is_deterministic():
    x, y, _, bridges = _moons(150)
    a = GeodesicCoupling(k=8).fit(x, y, bridges).plan_numpy()
    b = GeodesicCoupling(k=8).fit(x, y, bridges).plan_numpy()
    np.testing.assert_array_equal(a, b)


def test_shared_graphs_reuse_the_graph_and_shortest_paths_and_give_the_same_numbers():
    from neurobridge.couplings.graph import shared_graphs

    x, _, _, _ = _moons(150)
    rng = np.random.default_rng(1)
    folds = [np.sort(rng.choice(150, 12, replace=False)) for _ in range(3)]
    direct = [geodesic_distances(knn_graph(x, 6), f) for f in folds]
    with shared_graphs() as cache:
        shared = [geodesic_distances(knn_graph(x.copy(), 6), f) for f in folds]
        assert knn_graph(x.copy(), 6) is knn_graph(x, 6)
        assert knn_graph(x, 7) is not knn_graph(x, 6) and knn_graph(x, 6, metric="euclidean") is not knn_graph(x, 6)
        moved = x.copy()
        moved[0, 0] += 1e-9
        assert knn_graph(moved, 6) is not knn_graph(x, 6)
    for a, b in zip(direct, shared):
        np.testing.assert_array_equal(a, b)
    assert cache.trees == np.unique(np.concatenate(folds)).size  # one shortest-path tree per distinct source vertex
    assert cache.builds == 4 and cache.hits >= 4


def test_shared_graphs_keep_the_disconnected_penalty_of_each_call():
    from neurobridge.couplings.graph import shared_graphs

    rng = np.random.default_rng(0)
    x = np.r_[rng.standard_normal((40, 3)), rng.standard_normal((40, 3)) + 100.0]
    with pytest.warns(DisconnectedGraphWarning):
        direct = [geodesic_distances(knn_graph(x, 3, metric="euclidean"), s) for s in ([0, 45], [3, 45, 60], [45])]
    with shared_graphs(), pytest.warns(DisconnectedGraphWarning):
        shared = [geodesic_distances(knn_graph(x, 3, metric="euclidean"), s) for s in ([0, 45], [3, 45, 60], [45])]
    for a, b in zip(direct, shared):
        assert np.isfinite(b).all()
        np.testing.assert_array_equal(a, b)
