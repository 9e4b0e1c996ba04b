"""Conditional flow matching between latent spaces (GENOT-style): networks, objective, integrators, training, model.

- :mod:`.velocity`: adaLN-Zero and concatenation MLPs ``v_theta(t, z; x)``
- :mod:`.matcher`: the straight-path flow-matching loss
- :mod:`.ode`: Euler / midpoint / RK4 and dopri5 transport
- :mod:`.pairs`: the :class:`PairSampler` protocol shared with :mod:`neurobridge.couplings`, and :class:`FixedPairs`
- :mod:`.trainer`: the training loop (schedule, EMA, mixed precision, validation, checkpoints, DDP)
- :mod:`.model`: :class:`ConditionalFlow`, fit / transport / save / load

Importing this package does not initialise CUDA.
"""
from __future__ import annotations

from .distributed import DistributedContext, current_context, init_from_env
from .matcher import FlowMatcher, PathNoise
from .model import MODEL_FORMAT, ConditionalFlow, TransportResult
from .normalize import Standardizer
from .ode import METHODS, integrate
from .pairs import FixedPairs, PairSampler, check_pair_indices
from .trainer import NonFiniteLossError, TrainConfig, Trainer, WarmupCosine
from .velocity import NETWORKS, AdaLNZeroMLP, ConcatMLP, build_velocity, count_parameters

# The user API first; then the building blocks (FlowMatcher, PathNoise, Trainer, WarmupCosine, the velocity networks,
# Standardizer, the distributed helpers), importable from here too but not in the API reference.
__all__ = [
    "ConditionalFlow",
    "TransportResult",
    "MODEL_FORMAT",
    "PairSampler",
    "FixedPairs",
    "TrainConfig",
    "NonFiniteLossError",
    "integrate",
    "METHODS",
    "NETWORKS",
    # building blocks
    "FlowMatcher",
    "PathNoise",
    "Trainer",
    "WarmupCosine",
    "AdaLNZeroMLP",
    "ConcatMLP",
    "build_velocity",
    "count_parameters",
    "Standardizer",
    "check_pair_indices",
    "DistributedContext",
    "current_context",
    "init_from_env",
]
