"""``"supervised"``: the ``K`` bridges alone, the baseline that ignores every unlabelled point."""
from __future__ import annotations

from ..reference import supervised_only
from ._base import CouplingMethod

__all__ = ["Supervised"]


class Supervised(CouplingMethod):
    """Pairs drawn from the bridges only (with replacement when ``replace``, else in epochs)."""

    name = "supervised"
    pin_bridges = False

    def __init__(self, replace=True):
        self.replace = replace

    def check_params(self) -> None:
        if not isinstance(self.replace, bool):
            raise TypeError(f"replace must be True or False; got {self.replace!r}")

    def fit(self, x, y, bridges):
        self.check_params()
        return supervised_only(bridges, replace=self.replace)
