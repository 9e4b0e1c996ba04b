import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from neurobridge.couplings import CouplingError, bridge_cost, class_min, min_plus, soft_min_plus


def _brute(x, y, xe, ye, metric):
    """The two-hop bridge cost from scipy's distances, independent of the package's own ``distances``."""
    A = cdist(x, xe, metric)
    B = cdist(ye, y, metric)
    A, B = A / A.mean(), B / B.mean()
    return A, B, (A[:, :, None] + B[None, :, :]).min(axis=1)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("budget", [256.0, 0.002])
def test_exact_bridge_cost_equals_brute_force(metric, budget):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(37, 4)), rng.normal(size=(29, 6))
    xe, ye = rng.normal(size=(11, 4)), rng.normal(size=(11, 6))
    A, B, ref = _brute(x, y, xe, ye, metric)
    out = bridge_cost(x, y, (xe, ye), metric=metric, memory_budget_mb=budget, return_argmin=True)
    np.testing.assert_allclose(out.cost.numpy(), ref, rtol=1e-12, atol=1e-12)
    k = out.argmin.numpy().astype(int)
    realised = A[np.arange(37)[:, None], k] + B[k, np.arange(29)[None, :]]
    np.testing.assert_allclose(realised, ref, rtol=1e-12)


def test_min_plus_float32_tiles():
    g = torch.Generator().manual_seed(0)
    A, B = torch.rand(50, 7, generator=g), torch.rand(7, 40, generator=g)
    ref = (A[:, :, None] + B[None]).amin(1)
    assert torch.equal(min_plus(A, B, memory_budget_mb=0.001), ref)


def test_class_level_cost():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(15, 5))
    xe, ye = rng.normal(size=(9, 3)), rng.normal(size=(9, 5))
    labels = np.array([0, 1, 2] * 3)
    A, B, _ = _brute(x, y, xe, ye, "cosine")
    Ac = np.stack([A[:, labels == c].min(1) for c in range(3)], 1)
    Bc = np.stack([B[labels == c].min(0) for c in range(3)], 0)
    ref = (Ac[:, :, None] + Bc[None]).min(1)
    out = bridge_cost(x, y, (xe, ye, labels), mode="class", return_argmin=True, memory_budget_mb=0.001)
    np.testing.assert_allclose(out.cost.numpy(), ref, rtol=1e-12)
    assert list(out.classes) == [0, 1, 2]
    assert out.cost.shape == (20, 15)
    # the class form is a lower bound of the exact cost with the same bridges
    exact = bridge_cost(x, y, (xe, ye)).cost.numpy()
    assert (out.cost.numpy() <= exact + 1e-12).all()


def test_class_min_marks_empty_class_inf():
    A = torch.tensor([[1.0, 2.0, 0.5]])
    out = class_min(A, torch.tensor([0, 0, 2]), 3)
    assert out[0, 0] == 1.0 and torch.isinf(out[0, 1]) and out[0, 2] == 0.5


def test_softmin_bounds_and_reference():
    rng = np.random.default_rng(2)
    A, B = torch.as_tensor(rng.random((13, 6))), torch.as_tensor(rng.random((6, 17)))
    T = 0.05
    soft = soft_min_plus(A, B, T)
    ref = -T * torch.logsumexp(-(A[:, :, None] + B[None]) / T, dim=1)
    torch.testing.assert_close(soft, ref)
    hard = min_plus(A, B)
    assert (soft <= hard + 1e-12).all() and (soft >= hard - T * np.log(6) - 1e-12).all()


def test_softmin_underflow_rows_repaired():
    A = torch.tensor([[0.0, 50.0], [50.0, 0.0]], dtype=torch.float64)
    B = torch.tensor([[50.0, 0.0], [0.0, 50.0]], dtype=torch.float64)
    T = 0.01
    ref = -T * torch.logsumexp(-(A[:, :, None] + B[None]) / T, dim=1)
    torch.testing.assert_close(soft_min_plus(A, B, T), ref)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=np.array([[np.nan, 1.0]])), "x"),
        (dict(x=np.zeros((0, 2))), "x is empty"),
        (dict(bridges=(np.ones((3, 5)), np.ones((3, 3)))), "source exemplars have 5 features"),
        (dict(bridges=(np.ones((3, 2)), np.ones((4, 3)))), "one to one"),
        (dict(mode="nope"), "mode"),
        (dict(metric="l1"), "metric"),
        (dict(mode="class"), "label"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, match):
    rng = np.random.default_rng(0)
    args = dict(x=rng.normal(size=(4, 2)), y=rng.normal(size=(5, 3)), bridges=(rng.normal(size=(2, 2)), rng.normal(size=(2, 3))))
    args.update(kwargs)
    x, y, bridges = args.pop("x"), args.pop("y"), args.pop("bridges")
    with pytest.raises(CouplingError, match=match):
        bridge_cost(x, y, bridges, **args)


def test_cost_stays_on_tensor_dtype():
    x = torch.randn(6, 3, dtype=torch.float64)
    out = bridge_cost(x, torch.randn(5, 2, dtype=torch.float64), (x[:2], torch.randn(2, 2, dtype=torch.float64)))
    assert out.cost.dtype == torch.float64 and out.cost.device == x.device


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bridge_cost_on_gpu_matches_cpu():
    x, y = torch.randn(300, 8), torch.randn(200, 6)
    xe, ye = torch.randn(20, 8), torch.randn(20, 6)
    cpu = bridge_cost(x, y, (xe, ye)).cost
    gpu = bridge_cost(x.cuda(), y.cuda(), (xe.cuda(), ye.cuda())).cost
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("side", ["target", "source"])
def test_exact_cost_on_repeated_points_equals_brute_force(side):
    """Label codes (one point per class, repeated over the pool) on one side: the cost is computed between distinct
    points with the exemplars grouped by partner, and must equal the plain two-hop minimum."""
    from neurobridge.bridges import Bridges
    from neurobridge.couplings.cost import GroupedBridgeCost

    rng = np.random.default_rng(3)
    labels_x, labels_y = rng.integers(0, 4, 50), rng.integers(0, 4, 45)
    x, codes = rng.normal(size=(50, 5)), rng.normal(size=(4, 3))
    y = codes[labels_y]
    bridges = Bridges.from_labels(labels_x, labels_y, 0.3, seed=0)
    si, ti = np.asarray(bridges.source_index), np.asarray(bridges.target_index)
    if side == "source":
        x, y, si, ti = y, x, ti, si
        bridges = Bridges.from_indices(si, ti, bridges.labels, n_source=len(x), n_target=len(y), match=bridges.match)
    grouped = GroupedBridgeCost(torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(x[si]), torch.as_tensor(y[ti]), "cosine", 256.0)
    assert grouped.compresses and min(grouped.A.shape[1], grouped.B.shape[0]) == 4
    _, _, ref = _brute(x, y, x[si], y[ti], "cosine")
    np.testing.assert_allclose(bridge_cost(x, y, bridges).cost.numpy(), ref, rtol=1e-12, atol=1e-12)
