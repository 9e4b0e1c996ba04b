r"""The rule ``coupling="auto"`` chooses by (:class:`~neurobridge.couplings.methods.AutoCoupling`), given each
candidate's validation scores over the scored folds.

**Choice** (``rule="one-se"``, the default): the one-standard-error rule (Hastie, Tibshirani & Friedman, *The Elements
of Statistical Learning*, 2nd ed., sec. 7.10): among the candidates whose mean score is within one standard error of
the best mean, the earliest in ``candidates`` (the preference order) wins. The standard error of candidate ``c`` is
that of its *paired* difference to the best candidate over the ``J`` scored folds, ``d_f = s_{best,f} - s_{c,f}``,
with Nadeau & Bengio's correction for the overlap of training sets across (repeated) folds (Machine Learning 52, 2003):

.. math::
    \mathrm{SE}_c = \mathrm{sd}(d_1, \dots, d_J) \sqrt{1/J + n_\mathrm{test}/n_\mathrm{train}},
    \qquad n_\mathrm{test}/n_\mathrm{train} = 1/(k - 1),

and the tie margin is ``max(tolerance, SE_c)`` (with ``J < 2`` the difference has no standard error and the
preferred candidate stays). ``rule="tolerance"`` is the earlier rule: the margin is ``tolerance`` alone.
"""
from __future__ import annotations

import math

import numpy as np

from ..result import CouplingError

__all__ = ["RULES", "choose"]

RULES = ("one-se", "tolerance")


def choose(names, scores: dict, errors: dict, folds: int, *, rule: str = "one-se", tolerance: float = 0.02) -> tuple[str, dict]:
    """The winner among ``names`` (in preference order) and each valid candidate's ``mean``, ``gap``, ``se`` and
    ``margin``. ``scores[name]`` holds one score per scored fold (the same folds for every candidate); a name in
    ``errors`` or without scores takes no part; ``folds`` is ``k`` of the k-fold split."""
    valid = [name for name in names if name not in errors and scores[name]]
    if not valid:
        raise CouplingError(f"auto: every candidate failed during validation: {errors}")
    S = np.array([scores[name] for name in valid], dtype=np.float64)
    means = S.mean(1)
    best = int(np.argmax(means))
    J = S.shape[1]
    diff = S[best][None, :] - S
    if J >= 2:
        se = diff.std(1, ddof=1) * math.sqrt(1.0 / J + 1.0 / max(folds - 1, 1))
    else:
        se = np.where(np.arange(len(valid)) == best, 0.0, np.inf)
    margin = np.full(len(valid), float(tolerance)) if rule == "tolerance" else np.maximum(float(tolerance), se)
    gap = means[best] - means
    stats = {name: {"mean": float(means[i]), "gap": float(gap[i]), "se": float(se[i]), "margin": float(margin[i])}
             for i, name in enumerate(valid)}
    chosen = next(name for i, name in enumerate(valid) if gap[i] <= margin[i])
    return chosen, stats
