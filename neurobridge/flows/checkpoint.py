"""Atomic checkpoint files: write to a temporary file in the same folder, then ``os.replace`` it into place, so a
crash mid-write never leaves a truncated checkpoint behind."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .._io import CorruptFileError, atomic_write, read_torch

__all__ = ["CHECKPOINT_NAME", "atomic_save", "read_checkpoint", "check_checkpoint_dir"]

CHECKPOINT_NAME = "checkpoint.pt"


def check_checkpoint_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` if missing and check that a checkpoint can be written in it, before any training step.

    A ``ValueError`` naming ``checkpoint_dir`` and the reason (a file in the way, no permission) otherwise, so that a
    bad folder costs nothing instead of the whole fit when the first checkpoint is written.
    """
    import tempfile

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"checkpoint_dir={str(directory)!r} is a file, not a folder; give a folder (it is created if "
                         "missing) or checkpoint_dir=None")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".write-check."):
            pass
    except OSError as err:
        raise ValueError(f"checkpoint_dir={str(directory)!r} cannot be written ({err.strerror or err}); give a folder "
                         "you can write to, or checkpoint_dir=None") from None
    return directory


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
