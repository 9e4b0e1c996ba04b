"""Couplings between a source and a target pool: coupling methods, bridge cost, OT solvers, pair samplers.

A coupling method (``METHODS[name]``, e.g. :class:`BridgeOT`) holds its parameters and has
``fit(x, y, bridges) -> Coupling``; every :class:`Coupling` offers ``pair_sampler()`` with
``sample(batch_size, rng) -> (source_index, target_index)`` for the flow trainer. Layout: ``methods/`` (one module per
method), ``cost``, ``sinkhorn`` and ``solvers`` (numerical kernels), ``sampling`` and ``exemplar`` (pair samplers),
``reference`` (the reference couplings), ``result`` and ``errors`` (leaf types).
"""
from .cost import BridgeCost, bridge_cost, class_min, distances, exemplar_cost, min_plus, soft_min_plus
from .diagnostics import marginal_error, match_accuracy, plan_match_accuracy, row_entropy
from .errors import ConvergenceError, CouplingError
from .exemplar import ExemplarSampler, exemplar_coupling, nearest_exemplars
from .methods import (
    METHODS,
    AutoCoupling,
    BridgeOT,
    CouplingMethod,
    Exemplar,
    FusedGromovWasserstein,
    GeodesicCoupling,
    GromovWasserstein,
    LabelSpreadingCoupling,
    MapCoupling,
    MapRefinedCoupling,
    MinibatchBridgeOT,
    RegressionMapCoupling,
    RelationCoupling,
    RelativeCoupling,
    RidgeCoupling,
    SelfTrainingCoupling,
    SelfTrainingKernelCoupling,
    Supervised,
)
from .minibatch import MinibatchBridgeSampler
from .reference import fused_gromov_wasserstein, gromov_wasserstein, map_coupling, relative_coupling, supervised_only
from .result import Coupling
from .sampling import (
    BridgeSampler,
    PairSampler,
    PinnedBridges,
    PlanSampler,
    hard_assignment,
    pairs_for_epoch,
    sample_pairs,
)
from .sinkhorn import sinkhorn
from .solvers import exact, marginal_residuals, pot_sinkhorn, solve

# The user API first; then the building blocks (numerical kernels and raw samplers), which live in their modules
# (cost, solvers, exemplar, sampling, minibatch) and are importable from here too, but are not in the API reference.
__all__ = [
    "METHODS", "CouplingMethod",
    "BridgeOT", "MinibatchBridgeOT", "Exemplar", "Supervised", "GromovWasserstein", "FusedGromovWasserstein",
    "MapCoupling", "RelativeCoupling", "AutoCoupling", "MapRefinedCoupling", "RegressionMapCoupling", "GeodesicCoupling",
    "LabelSpreadingCoupling", "RelationCoupling", "SelfTrainingCoupling", "SelfTrainingKernelCoupling", "RidgeCoupling",
    "Coupling", "CouplingError", "ConvergenceError",
    "BridgeCost", "bridge_cost", "solve", "sinkhorn", "exact",
    "PlanSampler", "PinnedBridges", "ExemplarSampler", "sample_pairs", "hard_assignment", "pairs_for_epoch",
    "exemplar_coupling", "supervised_only", "gromov_wasserstein", "fused_gromov_wasserstein", "map_coupling", "relative_coupling",
    "match_accuracy", "plan_match_accuracy", "row_entropy", "marginal_error",
    # building blocks
    "min_plus", "soft_min_plus", "class_min", "distances", "exemplar_cost", "nearest_exemplars", "marginal_residuals",
    "pot_sinkhorn", "MinibatchBridgeSampler", "BridgeSampler", "PairSampler",
]
