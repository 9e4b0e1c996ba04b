r"""The unlabelled manifold of a pool: a symmetric k-nearest-neighbour graph, geodesic distances and label diffusion.

- :func:`knn_graph`: edges ``i -- j`` when ``j`` is among the ``k`` nearest neighbours of ``i`` *or* ``i`` among those
  of ``j`` (the symmetric union), weighted by the distance ``d(x_i, x_j)``; a sparse ``n x n`` CSR matrix with about
  ``n k`` to ``2 n k`` stored edges.
- :func:`geodesic_distances`: shortest-path lengths on that graph from a few source vertices (Dijkstra with a binary
  heap, ``scipy.sparse.csgraph.dijkstra``): ``O(K (n log n + n k))`` for ``K`` sources (Tenenbaum, de Silva &
  Langford 2000, Isomap's geodesic estimate). Vertices in another connected component than a source are unreachable;
  they get a finite penalty (``penalty`` times the largest finite distance found) and a :class:`DisconnectedGraphWarning`,
  never ``inf``.
- :func:`label_spreading`: class posteriors by diffusion on the graph (Zhou, Bousquet, Lal, Weston & Schoelkopf 2004,
  "Learning with local and global consistency"): with affinities ``W``, ``S = D^{-1/2} W D^{-1/2}`` and seed
  indicators ``Y`` (``n x C``), the fixed point of ``F <- alpha S F + (1 - alpha) Y``, i.e.
  ``F = (1 - alpha) (I - alpha S)^{-1} Y``, rows normalised to sum to one.
- :func:`shared_graphs`: a context in which :func:`knn_graph` returns the graph already built for the same points
  (same values, shape, ``k``, ``metric``) and :func:`geodesic_distances` grows each shortest-path tree once per graph
  and vertex. ``coupling="auto"`` uses it so that its validation folds and final fit, which see the same pools, build
  each pool's graph once and run Dijkstra once from each bridge point. The results are the ones computed without it
  (the same deterministic computations, reused).
"""
from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import cg

from .result import CouplingError

__all__ = ["DisconnectedGraphWarning", "GraphCache", "knn_graph", "geodesic_distances", "label_spreading", "shared_graphs"]

_GRAPH_METRICS = ("cosine", "euclidean")


class GraphCache:
    """k-NN graphs by the content of their points (a digest of the float64 values, the shape, ``k``, ``metric`` and
    ``chunk``), and each graph's shortest-path rows by source vertex. Holds at most ``max_graphs`` graphs (least
    recently used dropped first, with their rows), so that validation on changing subsamples stays bounded."""

    def __init__(self, max_graphs: int = 4):
        self.max_graphs = max_graphs
        self._graphs: OrderedDict = OrderedDict()
        self._rows: dict[int, dict[int, np.ndarray]] = {}
        self.builds = 0
        self.hits = 0
        self.trees = 0

    @staticmethod
    def key(X: np.ndarray, k: int, metric: str, chunk: int) -> tuple:
        digest = hashlib.blake2b(np.ascontiguousarray(X).view(np.uint8), digest_size=16).hexdigest()
        return digest, X.shape, k, metric, chunk

    def graph(self, key: tuple):
        G = self._graphs.get(key)
        if G is not None:
            self._graphs.move_to_end(key)
            self.hits += 1
        return G

    def store(self, key: tuple, G) -> None:
        self.builds += 1
        self._graphs[key] = G
        self._rows[id(G)] = {}
        while len(self._graphs) > self.max_graphs:
            _, old = self._graphs.popitem(last=False)
            self._rows.pop(id(old), None)

    def shortest_paths(self, graph, unique: np.ndarray) -> np.ndarray | None:
        """``dijkstra(graph, indices=unique)``, each row computed once per cached graph; ``None`` for a graph this
        cache did not build."""
        rows = self._rows.get(id(graph))
        if rows is None or not any(G is graph for G in self._graphs.values()):
            return None
        missing = np.array([v for v in unique.tolist() if v not in rows], dtype=np.int64)
        if missing.size:
            self.trees += int(missing.size)
            D = csgraph.dijkstra(graph, directed=False, indices=missing)
            for v, row in zip(missing.tolist(), D):
                rows[v] = row
        return np.stack([rows[v] for v in unique.tolist()])


_CACHE: ContextVar[GraphCache | None] = ContextVar("neurobridge_graph_cache", default=None)


@contextmanager
def shared_graphs(max_graphs: int = 4):
    """Within the block, :func:`knn_graph` and :func:`geodesic_distances` reuse what they computed for the same points
    (see :class:`GraphCache`); yields the cache (its ``builds``, ``hits`` and ``trees`` count the work done)."""
    cache = GraphCache(max_graphs)
    token = _CACHE.set(cache)
    try:
        yield cache
    finally:
        _CACHE.reset(token)


class DisconnectedGraphWarning(RuntimeWarning):
    """The k-NN graph has several connected components; unreachable pairs got a finite penalty."""


def _points(points, name: str) -> np.ndarray:
    if hasattr(points, "detach"):
        points = points.detach().cpu().numpy()
    arr = np.asarray(points.values if hasattr(points, "dims") else points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise CouplingError(f"{name} must be a 2-D (points x features) array with at least 2 points; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise CouplingError(f"{name} has NaN or infinite values; drop or impute them first")
    return arr


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise CouplingError(f"k (neighbours per point in the graph) must be a positive integer; got {k!r}")
    return int(min(k, n - 1))


def knn_graph(points, k: int = 10, *, metric: str = "cosine", chunk: int = 2048) -> sp.csr_matrix:
    """Symmetric k-NN graph of the rows of ``points`` (``n x d``), edge weight ``d(x_i, x_j)`` (``metric``:
    ``"cosine"`` or ``"euclidean"``). Neighbours are found exactly, in row chunks of ``chunk`` (``chunk x n``
    distances at a time). Zero distances (duplicate points) are stored as a tiny positive weight so the edge survives.
    """
    if metric not in _GRAPH_METRICS:
        raise CouplingError(f"metric must be one of {_GRAPH_METRICS} for the k-NN graph; got {metric!r}")
    X = _points(points, "points")
    n = X.shape[0]
    k = _check_k(k, n)
    cache = _CACHE.get()
    if cache is not None:
        key = cache.key(X, k, metric, chunk)
        G = cache.graph(key)
        if G is None:
            G = _build_knn_graph(X, k, metric, chunk)
            cache.store(key, G)
        return G
    return _build_knn_graph(X, k, metric, chunk)


def _build_knn_graph(X: np.ndarray, k: int, metric: str, chunk: int) -> sp.csr_matrix:
    n = X.shape[0]
    if metric == "cosine":
        X = X / np.clip(np.linalg.norm(X, axis=1, keepdims=True), 1e-12, None)
    sq = (X * X).sum(1)
    rows, cols, vals = [], [], []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        block = X[start:stop]
        if metric == "cosine":
            d = np.clip(1.0 - block @ X.T, 0.0, None)
        else:
            d = np.sqrt(np.clip(sq[start:stop, None] + sq[None, :] - 2.0 * block @ X.T, 0.0, None))
        d[np.arange(stop - start), np.arange(start, stop)] = np.inf
        nn = np.argpartition(d, k - 1, axis=1)[:, :k]
        rows.append(np.repeat(np.arange(start, stop), k))
        cols.append(nn.ravel())
        vals.append(np.take_along_axis(d, nn, axis=1).ravel())
    w = np.maximum(np.concatenate(vals), 1e-12)
    G = sp.csr_matrix((w, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return G.maximum(G.T).tocsr()


def geodesic_distances(graph: sp.spmatrix, sources, *, penalty: float = 2.0, name: str = "pool") -> np.ndarray:
    """Shortest-path lengths ``D[k, v]`` (``K x n``) on ``graph`` from the vertices ``sources``.

    Unreachable pairs (another connected component) get ``penalty * max(finite D)`` and a
    :class:`DisconnectedGraphWarning` that names ``name`` and the number of components.
    """
    if not penalty >= 1:
        raise CouplingError(f"penalty (multiple of the largest finite geodesic distance given to unreachable pairs) must be >= 1; got {penalty!r}")
    sources = np.asarray(sources, dtype=np.int64)
    n = graph.shape[0]
    if sources.ndim != 1 or sources.size == 0 or sources.min() < 0 or sources.max() >= n:
        raise CouplingError(f"sources must be a non-empty 1-D array of vertex positions in 0..{n - 1}; got {sources!r}")
    unique, inverse = np.unique(sources, return_inverse=True)
    cache = _CACHE.get()
    D = cache.shortest_paths(graph, unique) if cache is not None else None
    if D is None:
        D = csgraph.dijkstra(graph, directed=False, indices=unique)
    D = D[inverse]
    unreachable = ~np.isfinite(D)
    if unreachable.any():
        finite_max = float(D[~unreachable].max()) if (~unreachable).any() else 1.0
        n_comp = csgraph.connected_components(graph, directed=False)[0]
        fill = penalty * max(finite_max, 1e-12)
        warnings.warn(
            f"the k-NN graph of the {name} has {n_comp} connected components; {int(unreachable.sum())} of {D.size} "
            f"exemplar-to-point distances are unreachable and were set to {fill:.4g} ({penalty:g} x the largest finite "
            "geodesic distance). Raise k to connect the graph", DisconnectedGraphWarning, stacklevel=2)
        D[unreachable] = fill
    return D


def label_spreading(graph: sp.spmatrix, seeds, seed_labels, n_classes: int, *, alpha: float = 0.99, affinity: str = "gaussian",
                    tol: float = 1e-6, max_iter: int = 1000) -> np.ndarray:
    """Class posteriors ``F`` (``n x n_classes``, rows sum to 1) by label spreading on ``graph`` (Zhou et al. 2004).

    ``seeds``: labelled vertex positions; ``seed_labels``: their class codes in ``0..n_classes-1`` (a vertex may
    appear several times). Affinities from the graph's distance weights: ``"gaussian"``,
    ``W_ij = exp(-d_ij^2 / sigma^2)`` with ``sigma`` the median edge length, or ``"connectivity"`` (``W_ij = 1``).
    Solves ``(I - alpha S) F = (1 - alpha) Y`` (symmetric positive definite) by conjugate gradients to relative
    residual ``tol``, one class at a time. A vertex that no label
    reaches (a component without seeds) gets the uniform posterior.
    """
    if not 0 < alpha < 1:
        raise CouplingError(f"alpha (diffusion strength) must lie in (0, 1); got {alpha!r}")
    if affinity not in ("gaussian", "connectivity"):
        raise CouplingError(f"affinity must be 'gaussian' or 'connectivity'; got {affinity!r}")
    W = sp.csr_matrix(graph, dtype=np.float64, copy=True)
    if affinity == "gaussian":
        sigma = float(np.median(W.data)) or 1.0
        W.data = np.exp(-(W.data / sigma) ** 2)
    else:
        W.data[:] = 1.0
    deg = np.asarray(W.sum(1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.maximum(deg, 1e-300))
    S = sp.diags(inv_sqrt) @ W @ sp.diags(inv_sqrt)
    seeds = np.asarray(seeds, dtype=np.int64)
    codes = np.asarray(seed_labels, dtype=np.int64)
    if seeds.shape != codes.shape or seeds.ndim != 1:
        raise CouplingError(f"seeds and seed_labels must be 1-D of equal length; got {seeds.shape} and {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
        raise CouplingError(f"seed_labels must be class codes in 0..{n_classes - 1}")
    Y = np.zeros((W.shape[0], n_classes))
    np.add.at(Y, (seeds, codes), 1.0)
    Y /= np.maximum(Y.sum(1, keepdims=True), 1.0)
    A = sp.identity(W.shape[0], format="csr") - alpha * S
    F = np.zeros_like(Y)
    for c in range(n_classes):
        if Y[:, c].any():
            F[:, c], info = cg(A, (1.0 - alpha) * Y[:, c], rtol=tol, maxiter=max_iter)
            if info > 0:
                warnings.warn(f"label spreading: conjugate gradients did not reach rtol={tol:g} for class {c} in {max_iter} "
                              "iterations; the posteriors are approximate", RuntimeWarning, stacklevel=2)
    F = np.clip(F, 0.0, None)
    mass = F.sum(1, keepdims=True)
    return np.where(mass > 0, F / np.where(mass > 0, mass, 1.0), 1.0 / n_classes)
