"""Former name of :mod:`neurobridge.couplings.reference` (the reference couplings); kept so old imports work."""
from .reference import fused_gromov_wasserstein, gromov_wasserstein, map_coupling, relative_coupling, supervised_only

__all__ = ["supervised_only", "gromov_wasserstein", "fused_gromov_wasserstein", "map_coupling", "relative_coupling"]
