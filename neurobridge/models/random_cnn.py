"""A small CNN with seeded random weights: a model stand-in whose layers need no download (the MajajHong2015
experiment's default source model, and the notebooks')."""
from __future__ import annotations

import torch

__all__ = ["RandomCNN"]


class RandomCNN(torch.nn.Module):
    """A small CNN with seeded random weights: fixed, reproducible features without downloading anything."""

    def __init__(self, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            self.conv1 = torch.nn.Conv2d(1, 16, 5, stride=2, padding=2)
            self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
            self.pool = torch.nn.AdaptiveAvgPool2d(4)

    def forward(self, x):
        return self.pool(torch.relu(self.conv2(torch.relu(self.conv1(x))))).flatten(1)
