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
from threadpoolctl import threadpool_limits

__all__ = ["NipalsPLS"]


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
        k_max = self.n_components
        if k_max > p:
            raise ValueError(f"NipalsPLS.fit: n_components={k_max} exceeds the number of features ({p}); reduce n_components")
        self._x_mean = X.mean(axis=0)
        X -= self._x_mean
        self._y_mean = Y.mean(axis=0)
        Y -= self._y_mean
        eps = np.finfo(np.float64).eps
        S = X.T @ Y
        W = np.zeros((p, k_max))
        P = np.zeros((p, k_max))
        Q = np.zeros((q, k_max))
        T = np.zeros((n, k_max))
        self.n_iter_ = []
        with threadpool_limits(limits=1, user_api="blas"):
            for k in range(k_max):
                tiny = np.all(np.abs(Y) < 10 * eps, axis=0)
                if tiny.any():
                    Y[:, tiny] = 0.0
                    S[:, tiny] = 0.0
                w, n_iter = self._first_weights(S, Y, eps)
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
        self.x_weights_, self.x_loadings_, self.y_loadings_, self.x_scores_ = W, P, Q, T
        self.x_rotations_ = W @ pinv(P.T @ W, check_finite=False)
        self.coef_ = (self.x_rotations_ @ Q.T).T
        self.intercept_ = self._y_mean
        return self

    def _first_weights(self, S: np.ndarray, Y: np.ndarray, eps: float):
        """Power method for the first left singular vector of ``S = X_k^T Y_k``, iterate for iterate as scikit-learn.

        With ``g_i = S^T w_i`` and ``M = S^T S`` (``q x q``, used when ``q <= p``) one step is
        ``w_{i+1} = S g_i / (|S g_i| + eps)``, ``g_{i+1} = M g_i / (|S g_i| + eps)``, and the stopping quantity
        ``|w_{i+1} - w_i|^2 = |w_{i+1}|^2 + |w_i|^2 - 2 g_i^T g_i / (|S g_i| + eps)`` needs no ``p``-vector at all.
        When ``q > p`` the step runs on ``N = S S^T`` (``p x p``) directly.
        """
        nonzero = np.flatnonzero(np.any(np.abs(Y) > eps, axis=0))
        if len(nonzero) == 0:
            return None, 0
        start = nonzero[0]
        u = Y[:, start]
        w = S[:, start] / (u @ u)
        w /= np.sqrt(w @ w) + eps
        if Y.shape[1] == 1 or self.max_iter == 1:
            return w, 1
        p, q = S.shape
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
            norm = np.sqrt(g @ Mg) + eps
            new_sq = (g @ Mg) / norm**2
            diff_sq = new_sq + w_sq - 2.0 * (g @ g) / norm
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
