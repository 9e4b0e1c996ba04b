"""The coupling package's exceptions, in a leaf module that every other coupling module may import."""
from __future__ import annotations

__all__ = ["CouplingError", "ConvergenceError"]


class CouplingError(ValueError):
    """An argument given to a coupling function is invalid; the message names it and says what to do."""


class ConvergenceError(RuntimeError):
    """A solver stopped before the marginal error fell below its tolerance, or produced a NaN."""
