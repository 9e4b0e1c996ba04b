"""Ground-truth recovery and real-data behaviour of the bridge cost + OT pipeline."""
import numpy as np
import pytest

from neurobridge.bridges import Bridges
from neurobridge.couplings import bridge_cost, hard_assignment, match_accuracy, plan_match_accuracy, solve


def _copy(transform, n=400, d=5, seed=0):
    """Target = ``transform`` of the source, zero-padded by 3 features, rotated, scaled by 2.5 and permuted."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    Q, _ = np.linalg.qr(rng.normal(size=(d + 3, d + 3)))
    perm = rng.permutation(n)
    y = np.zeros((n, d + 3))
    y[:, :d] = transform(x)
    y = (2.5 * y @ Q)[perm]
    partner = np.argsort(perm)
    exemplars = np.sort(rng.choice(n, n // 20, replace=False))
    return x, y, partner, Bridges.from_indices(exemplars, partner[exemplars], n_source=n, n_target=n)


@pytest.mark.parametrize("name, transform", [("rigid", lambda z: z), ("nonlinear", lambda z: np.sinh(z / 2))])
def test_hard_assignment_recovers_true_partners(name, transform):
    x, y, partner, bridges = _copy(transform)
    C = bridge_cost(x, y, bridges, mode="softmin", temperature=0.2).cost
    plan = solve(C / C.mean(), epsilon=5e-3, tol=1e-4).plan
    rows, cols = hard_assignment(plan, "hungarian")
    assert np.mean(cols == partner[rows]) >= 0.95


def test_exact_cost_alone_cannot_tell_points_of_one_exemplar_cell_apart():
    # C_ij = min_k A_ik + A_kj is minimal for every pair sharing its nearest exemplar: a documented limitation
    x, y, partner, bridges = _copy(lambda z: z)
    C = bridge_cost(x, y, bridges, mode="exact").cost
    rows, cols = hard_assignment(solve(C, method="exact").plan, "hungarian")
    assert np.mean(cols == partner[rows]) < 0.5


def _digits(n=600):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.choice(len(X), n, replace=False)
    X, labels = X[keep], labels[keep]
    source = PCA(20, random_state=0).fit_transform(X)
    pooled = X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(n, -1)
    W = np.random.default_rng(1).normal(size=(16, 48))
    target = np.tanh((pooled - pooled.mean(0)) @ W / 16)
    return source, target, labels


def test_match_accuracy_rises_with_the_labelled_fraction_on_digits():
    """Source: PCA-20 of the 8x8 digit pixels. Target: a random tanh feature map (48 units) of 2x2-average-pooled
    4x4 images, i.e. a coarser, nonlinear view of the same images. Bridges are paired (same image)."""
    source, target, labels = _digits()
    ids = np.arange(len(labels)).astype(str)
    accuracies = []
    for fraction in (0.01, 0.05, 0.2):
        bridges = Bridges.sample(ids, ids, fraction, seed=0)
        C = bridge_cost(source, target, bridges).cost
        coupling = solve(C, epsilon=0.01, tol=1e-6)
        accuracies.append(plan_match_accuracy(coupling.plan, labels, labels))
        src, tgt = coupling.pair_sampler().sample(2000, np.random.default_rng(0))
        assert abs(match_accuracy(src, tgt, labels, labels) - accuracies[-1]) < 0.05
    assert accuracies[0] < accuracies[1] < accuracies[2]
    assert accuracies[2] - accuracies[0] > 0.3
    assert accuracies[0] > 0.1 + 0.05  # better than chance (0.1) even with 6 bridges
