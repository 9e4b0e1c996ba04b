"""Parameter checks shared across the package: numbers that are not strings or booleans, integers, seeds, choices.

Each error names the argument, the value and what is expected: a wrong type is a ``TypeError``, a wrong value a
``ValueError``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["check_number", "check_integer", "check_seed", "check_choice"]


def check_number(value, name: str, *, low: float | None = None, strict: bool = True, allow_none: bool = False,
                 allow_inf: bool = False) -> float | None:
    """A real number (not a string, not a boolean), optionally bounded below: ``> low`` (``strict``) or ``>= low``.

    A wrong type is a :class:`TypeError`, a wrong value a :class:`ValueError`; both name ``name``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}"
                        + (". Pass it as a number, not a string" if isinstance(value, str) else ""))
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if low is not None and (number <= low if strict else number < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}; got {value!r}")
    return number


def check_integer(value, name: str, *, low: int = 1) -> int:
    """An integer ``>= low`` (not a boolean, not a float, not a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def check_seed(seed, name: str = "seed") -> int:
    """A non-negative integer seed (NumPy and torch generators reject negative seeds)."""
    return check_integer(seed, name, low=0)


def check_choice(value, name: str, choices) -> str:
    """One of ``choices`` (strings); the message lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value
