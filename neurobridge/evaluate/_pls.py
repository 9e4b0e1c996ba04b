"""Partial least squares regression (PLS1/PLS2, NIPALS) that reproduces scikit-learn's ``PLSRegression``.

Brain-Score maps model features to neural responses with ``PLSRegression(n_components=25, scale=False)``
(Schrimpf et al. 2018, following Yamins et al. 2014). scikit-learn runs NIPALS (Wold 1966; Wegelin 2000, sec. 4.1)
on explicitly deflated copies of X and Y: every power-method step reads the whole ``n x p`` matrix twice. This module
computes the same iterates from the cross-covariance instead, which is what makes the metric fast:

- centre: :math:`X_0 = X - \\bar X`, :math:`Y_0 = Y - \\bar Y` (``scale=False``);
- keep :math:`S_k = X_k^\\top Y_k` (``p x q``). Deflation :math:`X_{k+1} = X_k - t p^\\top`,
  :math:`Y_{k+1} = Y_k - t q^\\top` with :math:`p = X_k^\\top t / t^\\top t`, :math:`q = Y_k^\\top t / t^\\top t`
  gives the rank-one update :math:`S_{k+1} = S_k - (t^\\top t)\\, p q^\\top`;
- power method: scikit-learn's step :math:`u = Y_k c,\\ c \\propto Y_k^\\top X_k w,\\ w' \\propto X_k^\\top u` is
  :math:`w' \\propto S_k S_k^\\top w`; it starts from the first column of :math:`Y_k` that is not ~0,
  normalises :math:`w` each step and stops when :math:`\\lVert w' - w \\rVert^2 < \\mathrm{tol}` (same start,
  same iterates, same stopping rule, hence the same weights up to rounding);
- scores :math:`t = X_k w = X_0 w - T_{<k} P_{<k}^\\top w`, loadings from :math:`X_k^\\top t = X_0^\\top t -
  P_{<k} T_{<k}^\\top t`; the sign of ``w`` is fixed so its largest-magnitude entry is positive;
- prediction :math:`\\hat Y = (X - \\bar X)\\, W (P^\\top W)^{+} Q^\\top + \\bar Y`.

One ``p x q`` product per fit replaces ``~2 x iterations`` passes over ``X`` per component. The per-component work
(matrix-vector products and ``q x q`` products) runs on one BLAS thread: at these sizes extra OpenBLAS threads only
add synchronisation, which on a busy machine costs 10-100x. Agreement with scikit-learn is checked in
``tests/test_predictivity.py`` and, against Brain-Score itself, in ``tests/test_brainscore_equivalence.py``.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import pinv
from scipy.linalg.blas import dger, dsymv, dsyr
from threadpoolctl import ThreadpoolController

__all__ = ["NipalsPLS", "CentredMoments"]


class NipalsPLS:
    """``PLSRegression(n_components, scale=False, max_iter, tol)`` computed through the cross-covariance.

    Attributes after :meth:`fit`: ``x_weights_`` (p x k), ``x_loadings_`` (p x k), ``y_loadings_`` (q x k),
    ``x_scores_`` (n x k), ``n_iter_`` (list), ``coef_`` (q x p, scikit-learn's layout), ``intercept_`` (q).
    """

    def __init__(self, n_components: int = 25, *, max_iter: int = 500, tol: float = 1e-6):
        if int(n_components) < 1:
            raise ValueError(f"n_components must be a positive integer; got {n_components}")
        self.n_components = int(n_components)
        self.max_iter = int(max_iter)
        self.tol = float(tol)

    def fit(self, X, Y) -> NipalsPLS:
        X = np.array(X, dtype=np.float64, copy=True)
        Y = np.array(Y, dtype=np.float64, copy=True)
        if Y.ndim == 1:
            Y = Y[:, None]
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"NipalsPLS.fit: X and Y need the same number of rows; got {X.shape} and {Y.shape}")
        n, p = X.shape
        q = Y.shape[1]
        if n < 2:
            raise ValueError(f"NipalsPLS.fit: needs at least 2 samples; got {n}")
        W, P, Q = self._empty_factors(p, q)
        k_max = self.n_components
        self._x_mean = X.mean(axis=0)
        X -= self._x_mean
        self._y_mean = Y.mean(axis=0)
        Y -= self._y_mean
        eps = np.finfo(np.float64).eps
        S = X.T @ Y
        T = np.zeros((n, k_max))
        self.n_iter_ = []
        with _one_blas_thread():
            for k in range(k_max):
                tiny = np.all(np.abs(Y) < 10 * eps, axis=0)
                if tiny.any():
                    Y[:, tiny] = 0.0
                    S[:, tiny] = 0.0
                w, n_iter = self._first_weights(S, _start_column(np.any(np.abs(Y) > eps, axis=0), Y), eps)
                if w is None:
                    warnings.warn(f"y residual is constant at iteration {k}", stacklevel=2)
                    break
                self.n_iter_.append(n_iter)
                w *= np.sign(w[np.argmax(np.abs(w))])
                t = X @ w - T[:, :k] @ (P[:, :k].T @ w)
                tt = t @ t
                loading = (X.T @ t - P[:, :k] @ (T[:, :k].T @ t)) / tt
                y_loading = (t @ Y) / tt
                Y -= np.outer(t, y_loading)
                S -= tt * np.outer(loading, y_loading)
                W[:, k], P[:, k], Q[:, k], T[:, k] = w, loading, y_loading, t
        self._finish(W, P, Q, T)
        return self

    def fit_moments(self, moments: CentredMoments, rows) -> NipalsPLS:
        """The fit :meth:`fit` gives on ``X[rows], Y[rows]``, from the cross-products of ``moments`` instead of the rows.

        With :math:`C_k = X_k^\\top X_k` the scores never need forming: :math:`t^\\top t = w^\\top C_k w`, the
        loadings are :math:`C_k w / t^\\top t` and :math:`S_k^\\top w / t^\\top t`, and deflation is the rank-one
        update :math:`C_{k+1} = C_k - (t^\\top t)\\, p p^\\top` (as for :math:`S_k`; BLAS ``dsyr`` on one triangle,
        read by ``dsymv``). Every step then costs
        ``p x p`` or ``p x q`` work, however many rows there are. A column of :math:`Y_k` counts as ~0 when its sum of
        squares (tracked through the same deflation) is below ``n (10 eps)^2``, where :meth:`fit` tests each entry;
        the two differ only for a ``Y`` that the components explain exactly. ``x_scores_`` is not formed (None).
        (:math:`M_k = S_k^\\top S_k` is recomputed for each component: updating it by rank two, too, drifts by ~1e-12
        on the weak late components.)
        """
        C, S, ss, x_mean, y_mean, n = moments.subset(rows)
        p, q = S.shape
        W, P, Q = self._empty_factors(p, q)
        k_max = self.n_components
        self._x_mean, self._y_mean = x_mean, y_mean
        eps = np.finfo(np.float64).eps
        self.n_iter_ = []
        with _one_blas_thread():
            for k in range(k_max):
                tiny = ss < n * (10 * eps) ** 2
                if tiny.any():
                    ss[tiny] = 0.0
                    S[:, tiny] = 0.0
                nonzero = ss > n * eps**2
                w, n_iter = self._first_weights(S, _start_column(nonzero, ss=ss), eps)
                if w is None:
                    warnings.warn(f"y residual is constant at iteration {k}", stacklevel=2)
                    break
                self.n_iter_.append(n_iter)
                w *= np.sign(w[np.argmax(np.abs(w))])
                Cw = dsymv(1.0, C.T, w, lower=0)
                tt = w @ Cw
                loading = Cw / tt
                y_loading = (S.T @ w) / tt
                ss -= tt * y_loading**2
                _subtract_outer(S, tt, loading, y_loading)
                updated = dsyr(-tt, loading, lower=0, a=C.T, overwrite_a=True)
                if not np.shares_memory(updated, C):
                    C = np.ascontiguousarray(updated.T)
                W[:, k], P[:, k], Q[:, k] = w, loading, y_loading
            self._finish(W, P, Q, None)
        return self

    def _empty_factors(self, p: int, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed weights, x loadings and y loadings for ``n_components`` components, after checking they fit ``p``."""
        k_max = self.n_components
        if k_max > p:
            raise ValueError(f"NipalsPLS.fit: n_components={k_max} exceeds the number of features ({p}); reduce n_components")
        return np.zeros((p, k_max)), np.zeros((p, k_max)), np.zeros((q, k_max))

    def _finish(self, W, P, Q, T) -> None:
        self.x_weights_, self.x_loadings_, self.y_loadings_, self.x_scores_ = W, P, Q, T
        self.x_rotations_ = W @ pinv(P.T @ W, check_finite=False)
        self.coef_ = (self.x_rotations_ @ Q.T).T
        self.intercept_ = self._y_mean

    def _first_weights(self, S: np.ndarray, start, eps: float):
        """Power method for the first left singular vector of ``S = X_k^T Y_k``, iterate for iterate as scikit-learn,
        from ``start = (j, |Y_k[:, j]|^2)``, the first column of ``Y_k`` that is not ~0 (None when there is none).

        With ``g_i = S^T w_i`` and ``M = S^T S`` (``q x q``, used when ``q <= p``) one step is
        ``w_{i+1} = S g_i / (|S g_i| + eps)``, ``g_{i+1} = M g_i / (|S g_i| + eps)``, and the stopping quantity
        ``|w_{i+1} - w_i|^2 = |w_{i+1}|^2 + |w_i|^2 - 2 g_i^T g_i / (|S g_i| + eps)`` needs no ``p``-vector at all.
        When ``q > p`` the step runs on ``N = S S^T`` (``p x p``) directly.
        """
        if start is None:
            return None, 0
        column, uu = start
        w = S[:, column] / uu
        w /= np.sqrt(w @ w) + eps
        p, q = S.shape
        if q == 1 or self.max_iter == 1:
            return w, 1
        if q > p:
            return self._iterate_full(S @ S.T, w, eps)
        M = S.T @ S
        g = S.T @ w
        w_sq = w @ w
        return self._iterate_small(S, M, g, w_sq, eps)

    def _iterate_small(self, S, M, g, w_sq, eps):
        n_iter = 1
        g_last = g
        for n_iter in range(2, self.max_iter + 1):  # noqa: B007 (n_iter is read after the loop)
            Mg = M @ g
            gMg = float(g @ Mg)
            norm = np.sqrt(gMg) + eps
            new_sq = gMg / norm**2
            diff_sq = new_sq + w_sq - 2.0 * float(g @ g) / norm
            if diff_sq < self.tol:
                break
            g_last = g
            g, w_sq = Mg / norm, new_sq
        else:
            warnings.warn("NipalsPLS: maximum number of iterations reached", RuntimeWarning, stacklevel=2)
            g = g_last
        w = S @ g
        return w / (np.sqrt(w @ w) + eps), n_iter

    def _iterate_full(self, N: np.ndarray, w: np.ndarray, eps: float):
        old = w
        n_iter = 1
        for n_iter in range(2, self.max_iter + 1):
            w = N @ old
            w /= np.sqrt(w @ w) + eps
            diff = w - old
            if diff @ diff < self.tol:
                return w, n_iter
            old = w
        warnings.warn("NipalsPLS: maximum number of iterations reached", RuntimeWarning, stacklevel=2)
        return w, n_iter

    def predict(self, X) -> np.ndarray:
        """``(X - mean) W (P^T W)^+ Q^T + mean_Y``; float32 ``X`` is centred in float32, as scikit-learn's in-place
        ``X -= x_mean`` does, and projected in float64."""
        X = np.asarray(X)
        if X.dtype == np.float32:
            centred = (X - self._x_mean).astype(np.float32).astype(np.float64)
        else:
            centred = X.astype(np.float64, copy=False) - self._x_mean
        return (centred @ self.x_rotations_) @ self.y_loadings_.T + self._y_mean


def _start_column(nonzero: np.ndarray, Y: np.ndarray | None = None, *, ss: np.ndarray | None = None):
    """``(j, |Y[:, j]|^2)`` for the first ``j`` with ``nonzero[j]``, or None."""
    columns = np.flatnonzero(nonzero)
    if len(columns) == 0:
        return None
    j = int(columns[0])
    return j, float(ss[j]) if Y is None else float(Y[:, j] @ Y[:, j])


class CentredMoments:
    """Cross-products of all rows of ``X`` and ``Y``, from which any subset's centred moments follow cheaply.

    Rows are centred on the all-row means :math:`\\bar x, \\bar y` (which keeps the subtraction below well
    conditioned); :math:`C = X_c^\\top X_c`, :math:`S = X_c^\\top Y_c` and the column sums of squares of
    :math:`Y_c` are formed once. For a subset ``R`` of ``m`` rows with left-out rows ``O``,
    :math:`C_R = C - X_O^\\top X_O` (or :math:`X_R^\\top X_R` when ``R`` is the smaller side), and re-centring on
    the subset's mean :math:`\\bar x + d` subtracts :math:`m\\, d d^\\top`. Cross-validation then costs one
    ``n x p x p`` product for all folds plus one ``|O| x p x p`` product per fold, instead of every fold passing over
    its ``n x p`` rows twice per component.
    """

    def __init__(self, X, Y, *, exact_means: bool = False):
        self.exact_means = bool(exact_means)
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        self.X, self.Y = X, Y
        self.x_mean, self.y_mean = X.mean(axis=0), Y.mean(axis=0)
        self.Xc, self.Yc = X - self.x_mean, Y - self.y_mean
        self.n = X.shape[0]
        self.C = self.Xc.T @ self.Xc
        self.S = self.Xc.T @ self.Yc
        self.ss = np.einsum("ij,ij->j", self.Yc, self.Yc)
        self.x_sum, self.y_sum = self.Xc.sum(axis=0), self.Yc.sum(axis=0)

    def subset(self, rows):
        """``(C, S, ss, x_mean, y_mean, m)`` of the rows ``rows``, centred on their own means (fresh arrays). With
        ``exact_means`` the means are computed from the rows themselves, bit for bit as scikit-learn does: float32
        test features are centred on them in float32, where a last-bit difference in the mean would show."""
        rows = np.asarray(rows)
        m = len(np.unique(rows))
        if m != len(rows):
            raise ValueError("CentredMoments.subset: rows must not repeat")
        out = np.setdiff1d(np.arange(self.n), rows, assume_unique=True)
        if len(out) < m:
            Xo, Yo = self.Xc[out], self.Yc[out]
            C, S = self.C - Xo.T @ Xo, self.S - Xo.T @ Yo
            ss = self.ss - np.einsum("ij,ij->j", Yo, Yo)
            x_sum, y_sum = self.x_sum - Xo.sum(axis=0), self.y_sum - Yo.sum(axis=0)
        else:
            Xr, Yr = self.Xc[rows], self.Yc[rows]
            C, S, ss = Xr.T @ Xr, Xr.T @ Yr, np.einsum("ij,ij->j", Yr, Yr)
            x_sum, y_sum = Xr.sum(axis=0), Yr.sum(axis=0)
        dx, dy = x_sum / m, y_sum / m
        _subtract_outer(C, m, dx, dx)
        _subtract_outer(S, m, dx, dy)
        ss -= m * dy**2
        if self.exact_means:
            return C, S, ss, self.X[rows].mean(axis=0), self.Y[rows].mean(axis=0), m
        return C, S, ss, self.x_mean + dx, self.y_mean + dy, m


def _subtract_outer(A: np.ndarray, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """``A -= alpha * outer(x, y)`` in place, through BLAS ``dger`` on the Fortran view of a C-ordered ``A``."""
    if A.flags.c_contiguous and A.dtype == np.float64:
        updated = dger(-alpha, y, x, a=A.T, overwrite_a=True)
        if np.shares_memory(updated, A):
            return
        A[...] = updated.T
        return
    A -= alpha * np.outer(x, y)


_CONTROLLER: ThreadpoolController | None = None


def _one_blas_thread():
    """A context with one BLAS thread (the library scan happens once per process, not once per fit)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
