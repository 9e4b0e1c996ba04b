"""What one experiment run is asked to do."""
from __future__ import annotations

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
        self.out = Path(self.out)
        bad = [f for f in self.fractions if not 0 < f <= 1]
        if bad:
            raise ValueError(f"fractions must lie in (0, 1]; got {bad}")
        if not self.seeds:
            raise ValueError("seeds must not be empty")
