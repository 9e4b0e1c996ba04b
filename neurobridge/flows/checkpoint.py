"""Atomic checkpoint files: write to a temporary file in the same folder, then ``os.replace`` it into place, so a
crash mid-write never leaves a truncated checkpoint behind."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .._io import CorruptFileError, atomic_write, read_torch

__all__ = ["CHECKPOINT_NAME", "atomic_save", "read_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` through a temporary file and ``os.replace``."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def read_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`atomic_save` (tensors, dicts, lists and Python scalars only).

    A truncated or corrupt file raises :class:`~neurobridge._io.CorruptFileError` naming it."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train with checkpoint_dir=... first")
    state = read_torch(path, what="checkpoint", map_location=map_location)
    if not isinstance(state, dict):
        raise CorruptFileError(f"checkpoint file {path} holds a {type(state).__name__}, not a checkpoint dict; delete it and train again")
    return state
