import numpy as np
import pytest

from neurobridge.bridges import Bridges
from neurobridge.couplings import CouplingError, ExemplarSampler, exemplar_coupling, match_accuracy, plan_match_accuracy


def _blobs(n=300, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    centres_x = rng.normal(size=(n_classes, 4)) * 4
    centres_y = rng.normal(size=(n_classes, 6)) * 4
    x = centres_x[labels] + rng.normal(size=(n, 4))
    y = centres_y[labels] + rng.normal(size=(n, 6))
    return x, y, labels


def test_sampler_is_deterministic_and_in_range():
    x, y, labels = _blobs()
    br = Bridges.from_labels(labels, labels, 0.05, seed=0)
    sampler = ExemplarSampler(x, y, br, k=5)
    a = sampler.sample(100, np.random.default_rng(3))
    b = sampler.sample(100, np.random.default_rng(3))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert a[0].dtype == np.int64 and a[1].max() < len(y)


@pytest.mark.parametrize("route", ["bridge", "class"])
def test_pairs_match_labels_on_separated_classes(route):
    x, y, labels = _blobs()
    br = Bridges.from_labels(labels, labels, 0.05, seed=0)
    sampler = ExemplarSampler(x, y, br, k=5, route=route, metric="euclidean")
    src, tgt = sampler.sample(3000, np.random.default_rng(0))
    assert match_accuracy(src, tgt, labels, labels) > 0.95


def test_dense_plan_matches_sampling_and_rows_are_exact():
    x, y, labels = _blobs(n=120, seed=1)
    br = Bridges.from_labels(labels, labels, count=12, seed=1)
    sampler = ExemplarSampler(x, y, br, k=4, temperature=0.5)
    P = sampler.dense_plan()
    np.testing.assert_allclose(P.sum(1), 1 / 120)
    n_draws = 200_000
    src, tgt = sampler.sample(n_draws, np.random.default_rng(0))
    counts = np.zeros_like(P)
    np.add.at(counts, (src, tgt), 1)
    support = P > 0
    assert np.all(counts[~support] == 0), "pairs drawn outside the plan's support"
    # Each count is ~Poisson(N P_ij): z_ij = (count - N P_ij) / sqrt(N P_ij) is a per-entry error relative to the
    # entry's own sampling spread (entries here are 8e-5..3e-4). The mean of z^2 is ~1 when the draws follow P; a
    # plan off by +-10 % per entry gives ~1.4.
    expected = n_draws * P[support]
    z = (counts[support] - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 6, np.abs(z).max()
    assert 0.9 < np.mean(z**2) < 1.1, np.mean(z**2)
    assert abs(match_accuracy(src, tgt, labels, labels) - plan_match_accuracy(P, labels, labels)) < 0.01


def test_exemplars_outside_the_pool_get_a_target():
    x, y, labels = _blobs(n=60)
    rng = np.random.default_rng(0)
    xe, ye = rng.normal(size=(7, 4)) * 10, rng.normal(size=(7, 6)) * 10
    coupling = exemplar_coupling(x, y, (xe, ye), k=2)
    assert coupling.plan is None and coupling.log["hubs"] == 7
    src, tgt = coupling.pair_sampler().sample(50, np.random.default_rng(0))
    assert len(src) == 50


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(k=0), "k must"), (dict(temperature=0), "temperature"), (dict(route="x"), "route"), (dict(metric="l1"), "metric")],
)
def test_bad_arguments(kwargs, match):
    x, y, labels = _blobs(n=30)
    with pytest.raises(CouplingError, match=match):
        ExemplarSampler(x, y, (x[:3], y[:3]), **kwargs)
