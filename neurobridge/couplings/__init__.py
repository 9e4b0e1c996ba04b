"""Couplings between a source and a target pool: bridge cost, OT solvers, pair samplers, Setting 2, baselines.

Every coupling is a :class:`Coupling`; every coupling mode offers a pair sampler with
``sample(batch_size, rng) -> (source_index, target_index)`` for the flow trainer.
"""
from .reference import fused_gromov_wasserstein, gromov_wasserstein, map_coupling, relative_coupling, supervised_only
from .cost import BridgeCost, bridge_cost, class_min, distances, exemplar_cost, min_plus, soft_min_plus
from .diagnostics import marginal_error, match_accuracy, plan_match_accuracy, row_entropy
from .exemplar import ExemplarSampler, exemplar_coupling, nearest_exemplars
from .errors import ConvergenceError, CouplingError
from .methods import (
    METHODS,
    BridgeOT,
    CouplingMethod,
    Exemplar,
    FusedGromovWasserstein,
    GromovWasserstein,
    MapCoupling,
    MinibatchBridgeOT,
    RelativeCoupling,
    Supervised,
)
from .result import Coupling
from .sampling import (
    BridgeSampler,
    MinibatchBridgeSampler,
    PairSampler,
    PinnedBridges,
    PlanSampler,
    hard_assignment,
    pairs_for_epoch,
    sample_pairs,
)
from .solvers import exact, marginal_residuals, pot_sinkhorn, sinkhorn, solve

__all__ = [
    "METHODS", "CouplingMethod", "BridgeOT", "MinibatchBridgeOT", "Exemplar", "Supervised", "GromovWasserstein",
    "FusedGromovWasserstein", "MapCoupling", "RelativeCoupling", "PinnedBridges",
    "Coupling", "CouplingError", "ConvergenceError",
    "BridgeCost", "bridge_cost", "min_plus", "soft_min_plus", "class_min", "distances", "exemplar_cost",
    "solve", "sinkhorn", "exact", "pot_sinkhorn", "marginal_residuals",
    "PairSampler", "PlanSampler", "BridgeSampler", "MinibatchBridgeSampler", "sample_pairs", "hard_assignment", "pairs_for_epoch",
    "ExemplarSampler", "exemplar_coupling", "nearest_exemplars",
    "supervised_only", "gromov_wasserstein", "fused_gromov_wasserstein", "map_coupling", "relative_coupling",
    "match_accuracy", "plan_match_accuracy", "row_entropy", "marginal_error",
]
