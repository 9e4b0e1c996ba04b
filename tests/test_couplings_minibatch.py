"""The minibatch bridge coupling: solvers, exact compressed cost, class-level cost, import paths."""
import numpy as np
import pytest
import torch

from neurobridge.bridges import Bridges
from neurobridge.couplings import CouplingError, min_plus
from neurobridge.couplings.cost import exemplar_cost
from neurobridge.couplings.minibatch import MinibatchBridgeSampler


def label_spaces(n=120, seed=0):
    """Image-like source points in class clusters; label-like targets: one point per class (as label-VAE latents)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    centres = rng.normal(size=(4, 5)) * 3
    x = (centres[labels] + 0.5 * rng.normal(size=(n, 5))).astype(np.float32)
    codes = rng.normal(size=(4, 3)).astype(np.float32)
    tl = rng.permutation(labels)
    y = codes[tl]
    return x, labels, y, tl


def test_importable_from_the_package():
    from neurobridge.couplings import MinibatchBridgeSampler as a

    assert a is MinibatchBridgeSampler


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_compressed_exact_cost_equals_the_plain_min_plus(metric):
    x, lx, y, ly = label_spaces()
    br = Bridges.from_labels(lx, ly, 0.3, seed=0)
    fast = MinibatchBridgeSampler(x, y, br, metric=metric)
    plain = MinibatchBridgeSampler(x, y, br, metric=metric, compress=False)
    assert fast.A.shape[1] == 4 and plain.A.shape[1] == len(br)
    assert fast.scale_x == pytest.approx(plain.scale_x, rel=1e-5) and fast.scale_y == pytest.approx(plain.scale_y, rel=1e-5)
    i, j = np.arange(0, 120, 2), np.arange(1, 120, 3)
    torch.testing.assert_close(fast.batch_cost(i, j), plain.batch_cost(i, j), rtol=1e-5, atol=1e-6)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    A, _ = exemplar_cost(xt, xt[np.array(br.source_index)], metric)
    Bt, _ = exemplar_cost(yt, yt[np.array(br.target_index)], metric)
    ref = min_plus(A, Bt.T)[i][:, j]
    torch.testing.assert_close(fast.batch_cost(i, j), ref, rtol=1e-5, atol=1e-6)


def test_compressed_reverse_direction_groups_the_source_side():
    x, lx, y, ly = label_spaces(seed=1)
    br = Bridges.from_labels(ly, lx, 0.3, seed=0)
    fast = MinibatchBridgeSampler(y, x, br)
    plain = MinibatchBridgeSampler(y, x, br, compress=False)
    assert fast.B.shape[0] == 4
    i, j = np.arange(50), np.arange(30, 110)
    torch.testing.assert_close(fast.batch_cost(i, j), plain.batch_cost(i, j), rtol=1e-5, atol=1e-6)


def test_emd_plan_on_distinct_points_is_an_optimal_plan_of_the_batch():
    import ot

    x, lx, y, ly = label_spaces(seed=2)
    br = Bridges.from_labels(lx, ly, 0.2, seed=1)
    s = MinibatchBridgeSampler(x, y, br, solver="emd")
    i, j = np.arange(0, 64), np.arange(40, 104)
    P = s.batch_plan(i, j)
    C = s.batch_cost(i, j).double().numpy()
    np.testing.assert_allclose(P.sum(1), 1 / 64, atol=1e-12)
    np.testing.assert_allclose(P.sum(0), 1 / 64, atol=1e-12)
    full = ot.emd(np.full(64, 1 / 64), np.full(64, 1 / 64), C)
    assert (P * C).sum() == pytest.approx((full * C).sum(), rel=1e-9, abs=1e-12)


def test_sampling_is_seeded_and_emd_pairs_agree_on_classes_at_least_as_well_as_sinkhorn():
    x, lx, y, ly = label_spaces(n=200, seed=3)
    br = Bridges.from_labels(lx, ly, 0.2, seed=0)
    emd = MinibatchBridgeSampler(x, y, br)
    sk = MinibatchBridgeSampler(x, y, br, solver="sinkhorn", epsilon=1e-2, compress=False, solver_kwargs={"tol": 1e-4})
    assert emd.solver == "emd" and sk.solver == "sinkhorn"
    a = emd.sample(64, np.random.default_rng(5))
    b = emd.sample(64, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    def agree(s):
        return np.mean([np.mean(lx[i] == ly[j]) for i, j in (s.sample(64, np.random.default_rng(k)) for k in range(5))])
    assert agree(emd) >= agree(sk) - 0.02
    assert agree(emd) > 0.8


def test_class_mode_and_hard_pairings():
    x, lx, y, ly = label_spaces(seed=4)
    br = Bridges.from_labels(lx, ly, 0.3, seed=0)
    s = MinibatchBridgeSampler(x, y, br, mode="class", pairing="hungarian")
    assert s.A.shape == (120, 4)
    i, j = s.sample(32, np.random.default_rng(0))
    assert len(i) == len(j) == 32 and len(set(j.tolist())) == len(j)


def test_unbalanced_uses_sinkhorn_and_bad_keywords_are_named():
    x, lx, y, ly = label_spaces(seed=5)
    br = Bridges.from_labels(lx, ly, 0.3, seed=0)
    s = MinibatchBridgeSampler(x, y, br, unbalanced=(1.0, 1.0), epsilon=0.1)
    assert s.solver == "sinkhorn"
    s.sample(16, np.random.default_rng(0))
    with pytest.raises(CouplingError, match="solver"):
        MinibatchBridgeSampler(x, y, br, solver="fast")
    with pytest.raises(CouplingError, match="unbalanced"):
        MinibatchBridgeSampler(x, y, br, solver="emd", unbalanced=(1.0, 1.0))
    with pytest.raises(CouplingError, match="mode"):
        MinibatchBridgeSampler(x, y, br, mode="fuzzy")
    with pytest.raises(CouplingError, match="labels|label"):
        MinibatchBridgeSampler(x, y, (x[:3], y[:3]), mode="class")
