"""Coupling methods as objects: ``METHODS`` maps each name to its class (``fit(x, y, bridges) -> Coupling``)."""
from ._base import CouplingMethod
from .auto import AutoCoupling
from .geodesic import GeodesicCoupling
from .label_spreading import LabelSpreadingCoupling
from .map_refined import MapRefinedCoupling, RegressionMapCoupling
from .relation import RelationCoupling

METHODS: dict[str, type] = {}
METHODS["map-refined"] = MapRefinedCoupling
METHODS["regression-map"] = RegressionMapCoupling
METHODS["geodesic"] = GeodesicCoupling
METHODS["label-spreading"] = LabelSpreadingCoupling
METHODS["relation"] = RelationCoupling
METHODS["auto"] = AutoCoupling

__all__ = ["CouplingMethod", "METHODS", "AutoCoupling", "GeodesicCoupling", "LabelSpreadingCoupling", "MapRefinedCoupling",
           "RegressionMapCoupling", "RelationCoupling"]
