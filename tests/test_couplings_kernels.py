"""The min-plus kernels against a brute-force reference: exact values and argmins, pruned or dense."""
import numpy as np
import pytest
import torch

from neurobridge.couplings import CouplingError, min_plus
from neurobridge.couplings.cost import exemplar_cost
from neurobridge.couplings.kernels import dense_min_plus, nearest_candidates, pruned_min_plus


def brute(A, B):
    S = A[:, :, None] + B[None]
    return S.min(1).values, S.argmin(1).to(torch.int32)


def clustered(n, m, K, d=6, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(classes, d, generator=g)
    x = centres[torch.arange(n) % classes] + 0.3 * torch.randn(n, d, generator=g)
    y = centres[torch.arange(m) % classes] + 0.3 * torch.randn(m, d, generator=g)
    A, _ = exemplar_cost(x, x[:K], "euclidean")
    Bt, _ = exemplar_cost(y, y[:K], "euclidean")
    return A, Bt.T.contiguous()


@pytest.mark.parametrize("method", ["dense", "pruned", "auto"])
def test_min_plus_matches_brute_force_on_clustered_data(method):
    A, B = clustered(70, 50, 40)
    ref, arg = brute(A, B)
    C, idx = min_plus(A, B, method=method, candidates=3, return_argmin=True)
    assert torch.equal(C, ref)
    assert torch.equal(idx, arg)
    assert torch.equal(min_plus(A, B, method=method, candidates=3), ref)


def test_pruned_certifies_rows_whose_nearest_exemplar_beats_every_other_path():
    g = torch.Generator().manual_seed(0)
    A = 10 + torch.rand(60, 40, generator=g)
    A[torch.arange(60), torch.arange(60) % 40] = torch.rand(60, generator=g)
    A[:5] = torch.rand(5, 40, generator=g)
    B = torch.rand(40, 30, generator=g)
    stats = {}
    C, idx = pruned_min_plus(A, B, candidates=1, return_argmin=True, stats=stats)
    ref, arg = brute(A, B)
    assert torch.equal(C, ref) and torch.equal(idx, arg)
    assert stats["certified"][1] == 55


def test_pruned_falls_back_to_dense_on_isotropic_data():
    g = torch.Generator().manual_seed(1)
    A, B = torch.rand(30, 64, generator=g), torch.rand(64, 40, generator=g)
    stats = {}
    C, idx = pruned_min_plus(A, B, candidates=2, return_argmin=True, stats=stats)
    ref, arg = brute(A, B)
    assert torch.equal(C, ref) and torch.equal(idx, arg)
    assert stats.get("dense_rows", 0) > 0


def test_ties_resolve_to_smallest_bridge_like_brute_force():
    g = torch.Generator().manual_seed(2)
    A = torch.randint(0, 4, (40, 50), generator=g).float()
    B = torch.randint(0, 4, (50, 30), generator=g).float()
    ref, arg = brute(A, B)
    for method in ("dense", "pruned"):
        C, idx = min_plus(A, B, method=method, candidates=2, return_argmin=True)
        assert torch.equal(C, ref) and torch.equal(idx, arg), method


def test_precomputed_candidates_on_row_subsets():
    A, B = clustered(120, 90, 60, seed=3)
    cand = nearest_candidates(A, 5)
    rows = torch.tensor([5, 17, 3, 99, 64])
    cols = torch.tensor([0, 7, 88, 41])
    sub = pruned_min_plus(A[rows], B[:, cols], candidates=(cand[0][rows], cand[1][rows]), lower_bound=0.0)
    assert torch.equal(sub, brute(A, B)[0][rows][:, cols])


def test_float64_and_negative_entries_use_dense_exactly():
    g = torch.Generator().manual_seed(4)
    A = torch.randn(20, 200, generator=g, dtype=torch.float64)
    B = torch.randn(200, 15, generator=g, dtype=torch.float64)
    assert torch.equal(min_plus(A, B), brute(A, B)[0])
    assert torch.equal(pruned_min_plus(A, B, candidates=4), brute(A, B)[0])


def test_bad_input_names_the_argument():
    A = torch.rand(4, 5)
    with pytest.raises(CouplingError, match="method"):
        min_plus(A, torch.rand(5, 3), method="fast")
    with pytest.raises(CouplingError, match="n x K"):
        min_plus(A, torch.rand(4, 3))
    with pytest.raises(CouplingError, match="candidates"):
        pruned_min_plus(A, torch.rand(5, 3), candidates=0)
    with pytest.raises(CouplingError, match="lower_bound"):
        pruned_min_plus(A, torch.rand(5, 3) + 1, lower_bound=5.0)


def test_dense_matches_numpy_reference():
    A, B = clustered(33, 21, 17, seed=5)
    ref = (A.numpy()[:, :, None] + B.numpy()[None]).min(1)
    assert np.array_equal(dense_min_plus(A, B).numpy(), ref)
