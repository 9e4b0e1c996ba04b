"""The shared training helpers live in :mod:`neurobridge._training`; the reference models import them from here."""
from neurobridge._training import batch_indices, fit_minibatch, seeded

__all__ = ["seeded", "batch_indices", "fit_minibatch"]
