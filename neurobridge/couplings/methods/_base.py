"""The coupling-method contract: an object that holds its own parameters and turns two pools into a Coupling.

    method = BridgeOT(epsilon=1e-2)                  # parameters only; nothing is checked or computed yet
    coupling = method.fit(x, y, bridges)             # x: (n, d_x), y: (m, d_y) float arrays; bridges: Bridges
    sampler = coupling.pair_sampler()                # sample(batch_size, rng) -> (source_index, target_index)

This is ott-jax's problem/solver split and scikit-learn's estimator convention: hyper-parameters are the
``__init__`` keywords (stored unchanged under the same names), ``get_params``/``set_params`` read and write them,
and validation happens in :meth:`fit`. A subclass sets ``name`` (its key in :data:`neurobridge.couplings.METHODS`)
and implements :meth:`fit` (and :meth:`check_params`, which ``fit`` and the Aligner call before any computation);
a ``fit`` that works on NumPy pools opens with :meth:`_prepare` (the parameter check, the pools as float64 arrays and
the bridges checked against them).
``pin_bridges`` tells the Aligner whether sampled bridges may be pinned to their known partners (True for every
method that proposes partners for all points; False for one that samples the bridges themselves).
"""
from __future__ import annotations

import inspect

from ._support import check_bridges, pool_arrays

__all__ = ["CouplingMethod"]


class CouplingMethod:
    """Base class of every coupling method. Subclasses define ``__init__`` keywords and ``fit``."""

    name: str = ""
    pin_bridges: bool = True

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def get_params(self, deep: bool = True) -> dict:
        """The ``__init__`` keywords and their current values (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> CouplingMethod:
        """Set ``__init__`` keywords; an unknown name is an error that lists the valid ones."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; valid parameters: {', '.join(valid)}")
            setattr(self, key, value)
        return self

    def check_params(self) -> None:
        """Validate the parameters; :meth:`fit` calls it first (and the Aligner before any training).
        Subclasses raise ``TypeError`` for a wrong type and ``CouplingError`` (a ``ValueError``) for a wrong value,
        naming the parameter."""

    def _prepare(self, x, y, bridges):
        """The common opening of ``fit``: :meth:`check_params`, then ``(X, Y, bridges)`` with ``x`` and ``y`` as
        finite float64 arrays and ``bridges`` checked against their sizes (errors name the method)."""
        self.check_params()
        X, Y = pool_arrays(x, y)
        return X, Y, check_bridges(bridges, len(X), len(Y), self.name)

    def fit(self, x, y, bridges):
        """Couple ``x`` (n x d_x) and ``y`` (m x d_y) through ``bridges``; return a :class:`Coupling`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
