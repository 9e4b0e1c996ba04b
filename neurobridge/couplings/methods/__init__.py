"""Coupling methods as objects: ``METHODS`` maps each name to its class (``fit(x, y, bridges) -> Coupling``)."""
from ._base import CouplingMethod

METHODS: dict[str, type] = {}

__all__ = ["CouplingMethod", "METHODS"]
