"""Regression maps fitted on the bridges alone: the supervised alternative to transport.

``RegressionMap(kind).fit(x_bridges, y_bridges).transform(x)`` predicts target-space points from source points:

- ``"ridge"``: ``y = W x + b`` minimising ``||Y - X W||^2 + alpha ||W||^2`` on standardised ``x`` (Hoerl & Kennard
  1970);
- ``"pls"``: partial least squares with ``n_components`` latent directions (Wold 1966), as Brain-Score maps model
  features to neurons;
- ``"procrustes"``: orthogonal Procrustes (Schoenemann 1966): centre both sides, scale each to unit RMS norm,
  zero-pad the smaller space to the larger dimension ``d``, then ``R = argmin_{R^T R = I} ||X R - Y||_F = U V^T``
  with ``U S V^T = svd(X^T Y)``; ``y = sy * [(x - mx) / sx, 0] R [:, :d_y] + my``. Isotropic scaling (default)
  keeps an orthogonal relation exact; ``scaling="feature"`` z-scores each feature as latent-space translation work
  does (Maiorca et al. 2023, "Latent space translation via semantic alignment").

Rows of ``x_bridges`` and ``y_bridges`` are paired by position (row ``k`` of each is bridge ``k``).
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from neurobridge._procrustes import pad, rotation, scaling_stats
from neurobridge._validation import check_integer, check_number

__all__ = ["RegressionMap"]

_KINDS = ("ridge", "pls", "procrustes")


def _matrix(data, name) -> np.ndarray:
    values = np.asarray(data.values if isinstance(data, xr.DataArray) else data, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_points, n_features) or an assembly; got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains non-finite values")
    return values


class RegressionMap(BaseEstimator):
    """Map from source to target space fitted on bridge pairs; ``kind`` is ``"ridge"``, ``"pls"`` or ``"procrustes"``.

    A scikit-learn estimator: the parameters are the ``__init__`` keywords (``get_params``/``set_params``), checked
    in :meth:`fit`.
    """

    def __init__(self, kind: str = "ridge", *, alpha: float = 1.0, n_components: int = 10, scaling: str | None = "isotropic"):
        self.kind = kind
        self.alpha = alpha
        self.n_components = n_components
        self.scaling = scaling

    def _check_params(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}; got {self.kind!r}")
        if self.scaling not in ("isotropic", "feature", None):
            raise ValueError(f"scaling must be 'isotropic', 'feature' or None; got {self.scaling!r}")
        check_number(self.alpha, "alpha", low=0.0, strict=False)
        check_integer(self.n_components, "n_components")

    def fit(self, x_bridges, y_bridges) -> RegressionMap:
        """Fit on ``K`` bridge pairs: ``x_bridges (K, d_x)`` source exemplars, ``y_bridges (K, d_y)`` their partners."""
        self._check_params()
        x, y = _matrix(x_bridges, "x_bridges"), _matrix(y_bridges, "y_bridges")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x_bridges has {x.shape[0]} rows and y_bridges {y.shape[0]}; row k of each must be bridge k")
        self.n_features_in_, self.n_features_out_ = x.shape[1], y.shape[1]
        self.neuroid_id_ = y_bridges.coords["neuroid_id"].values if isinstance(y_bridges, xr.DataArray) and "neuroid_id" in y_bridges.coords else None
        if self.kind == "ridge":
            self.model_ = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=self.alpha))]).fit(x, y)
        elif self.kind == "pls":
            if x.shape[0] < 2:
                raise ValueError("kind='pls' needs at least 2 bridges")
            k = min(self.n_components, x.shape[0] - 1, x.shape[1], y.shape[1])
            self.model_ = PLSRegression(n_components=k, scale=True).fit(x, y)
        else:
            self._fit_procrustes(x, y)
        return self

    def _fit_procrustes(self, x, y):
        scaling = self.scaling
        self.x_mean_, self.x_scale_ = scaling_stats(x, scaling)
        self.y_mean_, self.y_scale_ = scaling_stats(y, scaling)
        d = max(x.shape[1], y.shape[1])
        xs = pad((x - self.x_mean_) / self.x_scale_, d)
        ys = pad((y - self.y_mean_) / self.y_scale_, d)
        self.rotation_ = rotation(xs, ys)

    def transform(self, x):
        """Predicted target points ``(n, d_y)``; for an assembly in, an assembly with its presentation coords."""
        if not hasattr(self, "n_features_in_"):
            raise RuntimeError("RegressionMap is not fitted; call fit(x_bridges, y_bridges) first")
        values = _matrix(x, "x")
        if values.shape[1] != self.n_features_in_:
            raise ValueError(f"x has {values.shape[1]} features; the map was fitted on {self.n_features_in_} (the source space)")
        if self.kind == "procrustes":
            d = self.rotation_.shape[0]
            out = (pad((values - self.x_mean_) / self.x_scale_, d) @ self.rotation_)[:, : self.n_features_out_]
            out = out * self.y_scale_ + self.y_mean_
        else:
            out = np.asarray(self.model_.predict(values)).reshape(len(values), -1)
        return self._wrap(out, x) if isinstance(x, xr.DataArray) else out

    def _wrap(self, values, like):
        from neurobridge.assemblies import make_assembly, presentation_coords

        coords = {k: like.coords[k].values for k in presentation_coords(like) if k != "stimulus_id"}
        return make_assembly(values, stimulus_id=like.coords["stimulus_id"].values, neuroid_id=self.neuroid_id_,
                             presentation=coords, name=f"{self.kind}_map")

    def fit_transform(self, x_bridges, y_bridges):
        """``fit`` then map the bridges' own source points."""
        return self.fit(x_bridges, y_bridges).transform(x_bridges)

    def readout(self, x, probe, labels=None):
        """Map ``x`` into the target space and score it with a fitted target-space ``probe`` (e.g.
        :class:`~neurobridge.evaluate.readout.LinearProbe`); labels come from ``x``'s label coord or ``labels``."""
        return probe.score(self.transform(x), labels)

