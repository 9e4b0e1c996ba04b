"""Coupling methods as objects: ``METHODS`` maps each name to its class (``fit(x, y, bridges) -> Coupling``).

Adding a method: one module here with a :class:`CouplingMethod` subclass, one import line and one entry below.
"""
from ._base import CouplingMethod
from .bridge_ot import BridgeOT
from .exemplar import Exemplar
from .fgw import FusedGromovWasserstein
from .gw import GromovWasserstein
from .map import MapCoupling
from .minibatch_bridge_ot import MinibatchBridgeOT
from .relative import RelativeCoupling
from .supervised import Supervised

METHODS: dict[str, type] = {
    "bridge-ot": BridgeOT,
    "minibatch-bridge-ot": MinibatchBridgeOT,
    "exemplar": Exemplar,
    "supervised": Supervised,
    "gw": GromovWasserstein,
    "fgw": FusedGromovWasserstein,
    "map": MapCoupling,
    "relative": RelativeCoupling,
}

__all__ = ["CouplingMethod", "METHODS", "BridgeOT", "MinibatchBridgeOT", "Exemplar", "Supervised", "GromovWasserstein",
           "FusedGromovWasserstein", "MapCoupling", "RelativeCoupling"]
