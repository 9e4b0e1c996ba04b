"""What one experiment run is asked to do."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RunConfig"]


@dataclass
class RunConfig:
    """One experiment run: which labelled fractions, seeds and methods, where to write, how small.

    ``options`` carries experiment-specific settings (e.g. ``region`` for majaj, ``features``/``classes`` for
    imagenet-features). Every method sees the same data splits and bridges for a given (fraction, seed).
    """

    experiment: str
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    out: Path
    quick: bool = False
    device: str = "auto"
    progress: bool = True
    resume: bool = True
    options: dict = field(default_factory=dict)

    def units(self) -> list[tuple[float, int, str]]:
        """The (fraction, seed, method) units of this run."""
        return [(f, s, m) for f in self.fractions for s in self.seeds for m in self.methods]

    def __post_init__(self):
        self.fractions = _sequence("fractions", self.fractions, "labelled fractions in (0, 1], e.g. 0.01,0.05")
        for f in self.fractions:
            if isinstance(f, bool) or not isinstance(f, numbers.Real):
                raise ValueError(f"fractions must be numbers in (0, 1]; got {f!r} in {list(self.fractions)}")
        bad = [f for f in self.fractions if not 0 < f <= 1]
        if bad:
            raise ValueError(f"fractions must lie in (0, 1]; got {bad}")
        self.fractions = tuple(float(f) for f in self.fractions)
        self.seeds = _sequence("seeds", self.seeds, "non-negative integers, e.g. 0,1,2")
        for s in self.seeds:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise ValueError(f"seeds must be non-negative integers; got {s!r} in {list(self.seeds)}")
            if s < 0:
                raise ValueError(f"seeds must be non-negative integers; got {s} (a negative seed)")
        self.seeds = tuple(int(s) for s in self.seeds)
        self.methods = _sequence("methods", self.methods, "method names, e.g. bridge-ot,ridge")
        if not all(isinstance(m, str) and m for m in self.methods):
            raise ValueError(f"methods must be method names; got {list(self.methods)}")
        if not isinstance(self.options, dict):
            raise ValueError(f"options must be a mapping of option names to values; got {self.options!r}")
        self.out = Path(self.out)
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"--out {self.out} is a file; give a folder (it is created if missing)")


def _sequence(name: str, values, expected: str) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be a list of {expected}; got {values!r}")
    if not values:
        raise ValueError(f"{name} is empty; give at least one: {expected}")
    return tuple(values)
