"""The min-plus kernels against a brute-force reference: exact values and argmins, pruned or dense."""
import os
import warnings

import numpy as np
import pytest
import torch

from neurobridge.couplings import CouplingError, min_plus
from neurobridge.couplings.cost import exemplar_cost
from neurobridge.couplings.kernels import COMPILED_KERNEL, dense_min_plus, nearest_candidates, pruned_min_plus


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


# The compiled dense kernel (neurobridge/couplings/_minplus.c): bit for bit the torch loop's result.

compiled = pytest.mark.skipif(COMPILED_KERNEL is None, reason="the compiled min-plus extension was not built (no C compiler at install time)")


@compiled
def test_compiled_kernel_is_built():
    """CI turns the skip into a failure: the install must build the extension where a C compiler exists."""
    assert COMPILED_KERNEL in ("avx2", "portable")


@compiled
@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 5), (4, 7, 24), (5, 1, 25), (37, 53, 71), (130, 300, 97), (9, 1100, 30)])
def test_compiled_kernel_equals_torch_loop_bit_for_bit(shape, portable):
    from neurobridge.couplings import _minplus

    n, K, m = shape
    g = torch.Generator().manual_seed(n * 1000 + K)
    A, B = torch.rand(n, K, generator=g), torch.randn(K, m, generator=g)
    A[::3, ::2] = float("inf")
    ref, arg = dense_min_plus(A, B, return_argmin=True, backend="torch")
    C, idx = torch.empty(n, m), torch.empty(n, m, dtype=torch.int32)
    _minplus.dense(A.numpy(), B.numpy(), C.numpy(), idx.numpy(), portable)
    assert torch.equal(C, ref) and torch.equal(idx, arg)
    C2 = torch.empty(n, m)
    _minplus.dense(A.numpy(), B.numpy(), C2.numpy(), None, portable)
    assert torch.equal(C2, ref)
    assert torch.equal(C, brute(A, B)[0])


@compiled
@pytest.mark.parametrize("portable", [False, True])
def test_compiled_kernel_ties_go_to_the_smallest_bridge(portable):
    from neurobridge.couplings import _minplus

    g = torch.Generator().manual_seed(3)
    A = torch.randint(0, 3, (29, 40), generator=g).float()
    B = torch.randint(0, 3, (40, 51), generator=g).float()
    C, idx = torch.empty(29, 51), torch.empty(29, 51, dtype=torch.int32)
    _minplus.dense(A.numpy(), B.numpy(), C.numpy(), idx.numpy(), portable)
    ref, arg = brute(A, B)
    assert torch.equal(C, ref) and torch.equal(idx, arg)


@compiled
def test_dense_min_plus_threads_and_strided_out_match_torch_backend():
    g = torch.Generator().manual_seed(4)
    A, B = torch.rand(203, 150, generator=g), torch.rand(150, 170, generator=g)
    ref, arg = dense_min_plus(A, B, return_argmin=True, backend="torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        C, idx = dense_min_plus(A, B, return_argmin=True, backend="compiled")
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(C, ref) and torch.equal(idx, arg)
    out = torch.empty(170, 203).T
    assert dense_min_plus(A.T.contiguous().T, B, out=out, backend="compiled") is out
    assert torch.equal(out, ref)


@compiled
def test_nan_and_minus_inf_leave_the_compiled_kernel():
    A, B = torch.rand(6, 5), torch.rand(5, 4)
    A[2, 1] = float("nan")
    C = dense_min_plus(A, B)
    assert torch.isnan(C[2]).all() and torch.equal(C[[0, 1, 3, 4, 5]], brute(A, B)[0][[0, 1, 3, 4, 5]])
    with pytest.raises(CouplingError, match="backend='compiled'.*NaN or -inf"):
        dense_min_plus(A, B, backend="compiled")
    B[0, 0] = -float("inf")
    A[2, 1] = 0.5
    with pytest.raises(CouplingError, match="NaN or -inf"):
        dense_min_plus(A, B, backend="compiled")
    assert torch.equal(dense_min_plus(A, B), brute(A, B)[0])
    with pytest.raises(CouplingError, match="float32 CPU"):
        dense_min_plus(A.double(), B.double(), backend="compiled")
    with pytest.raises(CouplingError, match="backend must be one of"):
        dense_min_plus(A, B, backend="numba")


def test_missing_extension_warns_once_on_large_products(monkeypatch):
    from neurobridge.couplings import kernels

    monkeypatch.setattr(kernels, "_compiled_kernel", None)
    monkeypatch.setattr(kernels, "_WARNED", False)
    monkeypatch.setattr(kernels, "_SLOW_FALLBACK_WORK", 100)
    A, B = torch.rand(10, 5), torch.rand(5, 8)
    with pytest.warns(RuntimeWarning, match="compiled min-plus kernel was not built"):
        C = dense_min_plus(A, B)
    assert torch.equal(C, brute(A, B)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dense_min_plus(A, B)
    with pytest.raises(CouplingError, match="was not built"):
        dense_min_plus(A, B, backend="compiled")


ASAN_SCRIPT = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import _minplus
rng = np.random.default_rng(0)
for n, K, m in [(1, 1, 1), (3, 2, 5), (4, 7, 24), (5, 1, 25), (37, 53, 71), (9, 1100, 30), (2, 513, 49)]:
    A, B = rng.random((n, K), dtype=np.float32), rng.random((K, m), dtype=np.float32)
    S = A[:, :, None] + B[None]
    for portable in (False, True):
        C, I = np.empty((n, m), np.float32), np.empty((n, m), np.int32)
        _minplus.dense(A, B, C, I, portable)
        assert np.array_equal(C, S.min(1)) and np.array_equal(I, S.argmin(1)), (n, K, m, portable)
        _minplus.dense(A, B, C, None, portable)
        assert np.array_equal(C, S.min(1))
print("clean")
"""


@pytest.mark.slow
def test_compiled_kernel_is_clean_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    """Build ``_minplus.c`` with ``-fsanitize=address,undefined`` and run it on odd shapes (partial row blocks and
    panels, several k-chunks): any out-of-bounds access or undefined behaviour aborts the run."""
    import shutil
    import subprocess
    import sys
    import sysconfig
    from pathlib import Path

    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc")
    libs = [subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
    if not all(Path(lib).is_file() for lib in libs):
        pytest.skip("needs gcc's libasan and libubsan")
    source = Path(__file__).resolve().parents[1] / "neurobridge" / "couplings" / "_minplus.c"
    target = tmp_path / f"_minplus{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run([gcc, "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer",
                    "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(target)], check=True)
    env = {**os.environ, "LD_PRELOAD": ":".join(libs), "ASAN_OPTIONS": "detect_leaks=0"}
    done = subprocess.run([sys.executable, "-c", ASAN_SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "clean" in done.stdout, done.stderr[-3000:]


@pytest.mark.parametrize("method", ["dense", "pruned"])
def test_min_plus_backend_choice_gives_the_same_numbers(method):
    A, B = clustered(90, 70, 60)
    ref, arg = brute(A, B)
    for backend in ("torch", "auto") + (("compiled",) if COMPILED_KERNEL else ()):
        C, idx = min_plus(A, B, method=method, candidates=2, return_argmin=True, backend=backend)
        assert torch.equal(C, ref) and torch.equal(idx, arg), backend
    with pytest.raises(CouplingError, match="backend must be one of"):
        min_plus(A, B, method=method, backend="gpu")
