r"""Kernels for the tropical (min-plus) product :math:`C_{ij} = \min_k (A_{ik} + B_{kj})` of the bridge cost.

Two exact kernels:

- :func:`dense_min_plus`: every ``k`` for every entry, ``n K m`` work: a compiled register-blocked kernel on the
  CPU (below), else cache-sized row tiles with a torch loop over ``k`` (``tile = min(tile, A[:, k] + B[k])``), rows
  shared among worker threads on the CPU;
- :func:`pruned_min_plus`: for each source row only its nearest exemplars, with a certificate that no other
  exemplar can win.

The certificate. Let :math:`a_{i(1)} \le a_{i(2)} \le \dots` be row ``i`` of ``A`` sorted, :math:`S_i` its ``L``
smallest entries and :math:`\beta \le \min_{k, j} B_{kj}` a lower bound on ``B`` (``0`` for distances). Computing
:math:`\hat C_{ij} = \min_{k \in S_i} (A_{ik} + B_{kj})` over the candidates only, every exemplar outside
:math:`S_i` has :math:`A_{ik} + B_{kj} \ge a_{i(L+1)} + \beta`, so

.. math::
    a_{i(L+1)} + \beta > \max_j \hat C_{ij} \quad\Longrightarrow\quad \hat C_{ij} = C_{ij} \;\; \forall j,

and the minimiser lies in :math:`S_i` (strictly, so ties are resolved as the dense kernel does: smallest ``k``).
A row without the certificate is retried with ``4 L`` candidates and, past ``K / 4``, by the dense kernel, so the
result is always the exact product, bit for bit (each entry is the same float sum ``A_ik + B_kj``). On points that
sit near their exemplars (latent spaces with class structure) a few candidates certify almost every row and the work
drops from ``n K m`` to about ``n L m``; on isotropic high-dimensional data (all distances alike) the certificate
fails and the cost is the dense one plus the ``L / K`` spent on the failed attempt.

``nearest_candidates`` computes the sorted candidates once, so a minibatch sampler that solves many ``B x B``
sub-problems of one pool (rows ``I``, columns ``J``) pays the ``n K`` top-k once and then ``|I| L |J|`` per batch
(see :class:`~neurobridge.couplings.minibatch.MinibatchBridgeSampler`).

The dense kernel has two implementations with the same result, bit for bit:

- a compiled C extension (``_minplus.c``, built at install time when a C compiler is present; AVX2 chosen at run
  time on x86-64, portable loops elsewhere). It is register-blocked like a matrix-multiply micro-kernel: 4 rows of
  ``A`` and a packed 24-column panel of ``B`` keep 96 running minima in vector registers over the whole ``k`` loop,
  so each loaded ``B`` value serves 4 rows and nothing is written until the block is done. Used for float32 CPU
  operands without NaN or ``-inf`` (where ``min`` would treat NaN differently from :func:`torch.minimum`);
- the torch k-loop below (every device and dtype; the fallback).

:data:`COMPILED_KERNEL` names the compiled kernel this machine runs (``"avx2"``, ``"portable"``) or is ``None`` when
the extension was not built; ``dense_min_plus(..., backend="torch")`` forces the fallback. Measured on this
machine's CPUs (AVX2, one thread, ``benchmarks/bench_bridge_cost.py``), the AVX2 kernel does 12-15e9 min-plus per
second against 3.5-3.7e9 for the torch loop and 1.6-1.9e9 for a NumPy k-loop; numba 0.68 (1.6e9, left scalar by
LLVM) and ``torch.compile`` (1.2e9) were tried before and are not used.
"""
from __future__ import annotations

import warnings

import torch

from .errors import CouplingError

__all__ = ["dense_min_plus", "pruned_min_plus", "nearest_candidates", "METHODS", "BACKENDS", "COMPILED_KERNEL"]

METHODS = ("auto", "dense", "pruned")
BACKENDS = ("auto", "compiled", "torch")
try:
    from ._minplus import dense as _compiled_kernel
    from ._minplus import kernel as _compiled_kernel_name
except ImportError:  # built without a C compiler: the torch loop serves every call
    _compiled_kernel = _compiled_kernel_name = None
COMPILED_KERNEL = _compiled_kernel_name() if _compiled_kernel_name is not None else None
DEFAULT_CANDIDATES = 16
_CPU_TILE_ELEMENTS = 1_048_576
_THREADED_WORK = 4_000_000
_SLOW_FALLBACK_WORK = 10**9
_WARNED = False


def _rows_per_tile(n_cols: int, bytes_per_entry: int, memory_budget_mb: float, device: torch.device) -> int:
    if not memory_budget_mb > 0:
        raise CouplingError(f"memory_budget_mb must be > 0; got {memory_budget_mb!r}")
    budget_rows = int(memory_budget_mb * 2**20 // max(1, n_cols * bytes_per_entry))
    if budget_rows < 1:
        raise CouplingError(
            f"memory_budget_mb={memory_budget_mb} cannot hold one row of {n_cols} entries "
            f"({n_cols * bytes_per_entry / 2**20:.2f} MiB); raise memory_budget_mb"
        )
    if device.type == "cpu":
        return max(1, min(budget_rows, max(8, _CPU_TILE_ELEMENTS // n_cols)))
    return budget_rows


def check_operands(A: torch.Tensor, B: torch.Tensor, name: str = "min_plus"):
    if not isinstance(A, torch.Tensor) or not isinstance(B, torch.Tensor):
        raise CouplingError(f"{name}: A and B must be torch tensors; got {type(A).__name__} and {type(B).__name__}")
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise CouplingError(f"{name}: A must be n x K and B K x m; got shapes {tuple(A.shape)} and {tuple(B.shape)}")
    if A.device != B.device:
        raise CouplingError(f"{name}: A is on {A.device} and B on {B.device}; put both on one device")
    if A.shape[1] == 0:
        raise CouplingError(f"{name}: K = 0 exemplars; the min over no bridge is undefined, pass at least one bridge")
    dtype = torch.promote_types(A.dtype, B.dtype)
    return A.to(dtype), B.to(dtype).contiguous()


def dense_min_plus(A, B, *, memory_budget_mb: float = 256.0, return_argmin: bool = False, out=None, backend: str = "auto"):
    """Exact min-plus product, every ``k`` for every entry; see the module docstring.

    ``backend``: ``"compiled"`` (the C kernel; an error where it is not built or the operands do not suit it),
    ``"torch"`` (the tiled k-loop) or ``"auto"`` (compiled where it applies, else torch). On the CPU the rows of a
    large product (``n K m >= 4e6``) are shared among ``torch.get_num_threads()`` worker threads: the compiled kernel
    releases the GIL; the torch loop runs single-threaded torch kernels, torch's intra-op thread count set to 1 for the
    duration of the call and restored afterwards, because the loop's thousands of small parallel regions would
    otherwise each pay an OpenMP synchronisation.
    """
    if backend not in BACKENDS:
        raise CouplingError(f"dense_min_plus: backend must be one of {BACKENDS}; got {backend!r}")
    A, B = check_operands(A, B)
    dtype = A.dtype
    n = A.shape[0]
    m = B.shape[1]
    C = out if out is not None else torch.empty((n, m), dtype=dtype, device=A.device)
    idx = torch.empty((n, m), dtype=torch.int32, device=A.device) if return_argmin else None
    if n == 0 or m == 0:
        return (C, idx) if return_argmin else C
    workers = torch.get_num_threads() if A.device.type == "cpu" and n * m * A.shape[1] >= _THREADED_WORK else 1
    workers = max(1, min(workers, n))
    if backend != "torch":
        reason = _compiled_unsuitable(A, B)
        if reason is None:
            _compiled_dense(A, B, C, idx, workers)
            return (C, idx) if return_argmin else C
        if backend == "compiled":
            raise CouplingError(f"dense_min_plus: backend='compiled' cannot run here: {reason}; use backend='auto' or 'torch'")
        if _compiled_kernel is None and A.device.type == "cpu" and n * m * A.shape[1] >= _SLOW_FALLBACK_WORK:
            _warn_not_built()
    per_entry = A.element_size() + (A.element_size() + 5 if return_argmin else A.element_size())
    rows = _rows_per_tile(m, per_entry * workers, memory_budget_mb, A.device)
    if A.device.type == "cpu":
        rows = max(1, min(rows, -(-n // workers)))
    blocks = [(s, min(n, s + rows)) for s in range(0, n, rows)]

    def work(worker: int) -> None:
        tmp = torch.empty((rows, m), dtype=dtype, device=A.device)
        mask = torch.empty((rows, m), dtype=torch.bool, device=A.device) if return_argmin else None
        for start, stop in blocks[worker::workers]:
            _dense_tile(A[start:stop], B, C[start:stop], None if idx is None else idx[start:stop], tmp, mask)

    if workers == 1:
        work(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(work, range(workers)))
        finally:
            torch.set_num_threads(threads)
    return (C, idx) if return_argmin else C


def _warn_not_built() -> None:
    global _WARNED
    if not _WARNED:
        _WARNED = True
        warnings.warn("neurobridge's compiled min-plus kernel was not built (no C compiler when the package was "
                      "installed), so large bridge costs use the torch loop, about 5x slower; install a C compiler "
                      "(e.g. gcc) and reinstall neurobridge to build it", RuntimeWarning, stacklevel=3)


def _compiled_unsuitable(A: torch.Tensor, B: torch.Tensor) -> str | None:
    """Why the compiled kernel cannot compute this product exactly as the torch loop does, or None if it can."""
    if _compiled_kernel is None:
        return "the compiled extension neurobridge.couplings._minplus was not built (no C compiler at install time)"
    if A.device.type != "cpu" or A.dtype != torch.float32:
        return f"it takes float32 CPU tensors; got {A.dtype} on {A.device}"
    for name, M in (("A", A), ("B", B)):
        low = float(M.min())  # NaN if any entry is NaN
        if low != low or low == float("-inf"):
            return f"{name} holds NaN or -inf; the compiled min would drop a NaN (or -inf + inf) that torch.minimum keeps"
    return None


def _compiled_dense(A, B, C, idx, workers: int) -> None:
    """Rows of ``C`` (and ``idx``) from the C kernel, split into ``workers`` contiguous blocks run in threads."""
    a, b = A.detach().contiguous().numpy(), B.detach().numpy()
    target = C if C.is_contiguous() else torch.empty(C.shape, dtype=C.dtype)
    c = target.numpy()
    ix = None if idx is None else idx.numpy()
    n = a.shape[0]
    bounds = [n * w // workers for w in range(workers + 1)]
    blocks = [(s, e) for s, e in zip(bounds, bounds[1:]) if e > s]

    def work(block) -> None:
        s, e = block
        _compiled_kernel(a[s:e], b, c[s:e], None if ix is None else ix[s:e])

    if len(blocks) == 1:
        work(blocks[0])
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(blocks)) as pool:
            list(pool.map(work, blocks))
    if target is not C:
        C.copy_(target)


def _dense_tile(a, B, tile, itile, tmp, mask) -> None:
    r = a.shape[0]
    t = tmp[:r]
    torch.add(a[:, 0:1], B[0], out=tile)
    if itile is None:
        for k in range(1, B.shape[0]):
            torch.add(a[:, k : k + 1], B[k], out=t)
            torch.minimum(tile, t, out=tile)
        return
    itile.zero_()
    mk = mask[:r]
    for k in range(1, B.shape[0]):
        torch.add(a[:, k : k + 1], B[k], out=t)
        torch.lt(t, tile, out=mk)
        itile.masked_fill_(mk, k)
        torch.minimum(tile, t, out=tile)


def nearest_candidates(A: torch.Tensor, candidates: int = DEFAULT_CANDIDATES) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``L + 1`` smallest entries of each row of ``A`` (``L = candidates``, at most ``K``), sorted ascending, and
    their column indices (int64): the candidate exemplars of each row and the next value, which the certificate uses.
    With ``L = K`` the last column repeats ``+inf`` / index ``K``."""
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise CouplingError(f"candidates must be a positive integer (exemplars tried per row); got {candidates!r}")
    n, K = A.shape
    take = min(candidates + 1, K)
    vals, index = torch.topk(A, take, dim=1, largest=False, sorted=True)
    if take <= candidates:
        vals = torch.cat([vals, torch.full((n, 1), float("inf"), dtype=A.dtype, device=A.device)], 1)
        index = torch.cat([index, torch.full((n, 1), K, dtype=index.dtype, device=A.device)], 1)
    return vals, index


def pruned_min_plus(
    A,
    B,
    *,
    candidates: int | tuple[torch.Tensor, torch.Tensor] = DEFAULT_CANDIDATES,
    lower_bound: float | None = None,
    memory_budget_mb: float = 256.0,
    return_argmin: bool = False,
    stats: dict | None = None,
    backend: str = "auto",
):
    """Exact min-plus product through each row's nearest exemplars and the certificate of the module docstring.

    ``candidates``: ``L`` (an int) or the output of :func:`nearest_candidates` for these rows of ``A`` (computed once
    for a pool, then indexed by the rows of each batch). ``lower_bound``: a number ``<= min(B)`` (default: ``B.min()``;
    ``0`` is valid for any distance). ``stats``, if a dict, receives the number of rows certified at each candidate
    count and the rows left to the dense kernel. ``backend``: that dense kernel's implementation (:func:`dense_min_plus`).
    """
    if backend not in BACKENDS:
        raise CouplingError(f"pruned_min_plus: backend must be one of {BACKENDS}; got {backend!r}")
    A, B = check_operands(A, B, "pruned_min_plus")
    n, K = A.shape
    m = B.shape[1]
    if isinstance(candidates, tuple):
        vals, index = candidates
        if vals.shape != index.shape or vals.ndim != 2 or vals.shape[0] != n:
            raise CouplingError(f"candidates must be (values, indices) of shape (n, L + 1) with n = {n}; got {tuple(vals.shape)} and {tuple(index.shape)}")
        vals, index = vals.to(A.device, A.dtype), index.to(A.device)
        L = vals.shape[1] - 1
    else:
        vals, index = nearest_candidates(A, candidates)
        L = vals.shape[1] - 1
    beta = float(B.min()) if lower_bound is None else float(lower_bound)
    if lower_bound is not None and n and m and beta > float(B.min()):
        raise CouplingError(f"lower_bound={lower_bound} exceeds min(B) = {float(B.min())}; pass a true lower bound (0 for distances)")
    C = torch.empty((n, m), dtype=A.dtype, device=A.device)
    idx = torch.empty((n, m), dtype=torch.int32, device=A.device) if return_argmin else None
    record = stats if stats is not None else {}
    record.setdefault("certified", {})
    todo = torch.arange(n, device=A.device)
    while todo.numel() and m:
        if L >= K or 4 * L > K:
            rows = todo
            out = dense_min_plus(A[rows], B, memory_budget_mb=memory_budget_mb, return_argmin=return_argmin, backend=backend)
            if return_argmin:
                C[rows], idx[rows] = out
            else:
                C[rows] = out
            record["dense_rows"] = record.get("dense_rows", 0) + int(rows.numel())
            break
        ok = _candidate_rows(vals[:, :L], index[:, :L], vals[:, L], B, beta, todo, C, idx, memory_budget_mb)
        record["certified"][L] = int(ok.sum())
        todo = todo[~ok]
        if todo.numel():
            L = 4 * L
            if L < K:
                vals_t, index_t = nearest_candidates(A[todo], L)
                vals = torch.empty((n, L + 1), dtype=A.dtype, device=A.device)
                index = torch.empty((n, L + 1), dtype=index_t.dtype, device=A.device)
                vals[todo], index[todo] = vals_t, index_t
    return (C, idx) if return_argmin else C


def _candidate_rows(vals, index, next_val, B, beta, rows, C, idx, memory_budget_mb) -> torch.Tensor:
    """Fill ``C[rows]`` (and ``idx[rows]``) from the candidates; return which of ``rows`` the certificate holds for."""
    m = B.shape[1]
    L = vals.shape[1]
    per_entry = B.element_size() * 2 + (13 if idx is not None else 0)
    chunk = _rows_per_tile(m, per_entry, memory_budget_mb, B.device)
    certified = torch.empty(rows.numel(), dtype=torch.bool, device=B.device)
    for s in range(0, rows.numel(), chunk):
        r = rows[s : s + chunk]
        v, ix = vals[r], index[r]
        tile = v[:, 0:1] + B[ix[:, 0]]
        t = torch.empty_like(tile)
        if idx is not None:
            itile = ix[:, 0:1].to(torch.int32).expand(-1, m).clone()
            better = torch.empty(tile.shape, dtype=torch.bool, device=B.device)
        for c in range(1, L):
            torch.add(v[:, c : c + 1], B[ix[:, c]], out=t)
            if idx is not None:
                k = ix[:, c : c + 1].to(torch.int32)
                torch.lt(t, tile, out=better)
                better |= (t == tile) & (k < itile)
                torch.where(better, k, itile, out=itile)
            torch.minimum(tile, t, out=tile)
        C[r] = tile
        if idx is not None:
            idx[r] = itile
        certified[s : s + chunk] = (next_val[r] + beta) > tile.max(dim=1).values
    return certified
