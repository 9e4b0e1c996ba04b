"""Coupling methods as objects: ``METHODS`` maps each name to its class (``fit(x, y, bridges) -> Coupling``).

Adding a method: one module here with a :class:`CouplingMethod` subclass, one import line and one entry below.
"""
from ._base import CouplingMethod
from .auto import AutoCoupling
from .bridge_ot import BridgeOT
from .exemplar import Exemplar
from .fgw import FusedGromovWasserstein
from .geodesic import GeodesicCoupling
from .gw import GromovWasserstein
from .label_spreading import LabelSpreadingCoupling
from .map import MapCoupling
from .map_refined import MapRefinedCoupling, RegressionMapCoupling
from .minibatch_bridge_ot import MinibatchBridgeOT
from .relation import RelationCoupling
from .relative import RelativeCoupling
from .self_training import RidgeCoupling, SelfTrainingCoupling, SelfTrainingKernelCoupling
from .supervised import Supervised

METHODS: dict[str, type] = {
    "auto": AutoCoupling,
    "bridge-ot": BridgeOT,
    "minibatch-bridge-ot": MinibatchBridgeOT,
    "exemplar": Exemplar,
    "supervised": Supervised,
    "map-refined": MapRefinedCoupling,
    "regression-map": RegressionMapCoupling,
    "self-training": SelfTrainingCoupling,
    "self-training-kernel": SelfTrainingKernelCoupling,
    "ridge": RidgeCoupling,
    "geodesic": GeodesicCoupling,
    "label-spreading": LabelSpreadingCoupling,
    "relation": RelationCoupling,
    "gw": GromovWasserstein,
    "fgw": FusedGromovWasserstein,
    "map": MapCoupling,
    "relative": RelativeCoupling,
}

__all__ = ["CouplingMethod", "METHODS", "AutoCoupling", "BridgeOT", "MinibatchBridgeOT", "Exemplar", "Supervised",
           "MapRefinedCoupling", "RegressionMapCoupling", "SelfTrainingCoupling", "SelfTrainingKernelCoupling", "RidgeCoupling", "GeodesicCoupling", "LabelSpreadingCoupling", "RelationCoupling",
           "GromovWasserstein", "FusedGromovWasserstein", "MapCoupling", "RelativeCoupling"]
