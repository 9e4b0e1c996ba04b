"""Atomic file writes: write to a temporary file in the destination folder, then rename it into place."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "read_torch", "CorruptFileError"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path next to ``path`` and ``os.replace`` it into place.

    A failure leaves neither a partial file under ``path`` nor the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class CorruptFileError(ValueError):
    """A saved file (checkpoint, model) cannot be read: truncated, corrupt, or not what it claims to be."""


def read_torch(path: str | os.PathLike, *, what: str = "checkpoint", map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with a :class:`CorruptFileError` that names the file when it is
    truncated or corrupt. Only tensors, dicts, lists and Python scalars are read: nothing in the file is executed."""
    import pickle
    import zipfile

    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError, IndexError, OSError) as error:
        if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        size = path.stat().st_size if path.is_file() else 0
        raise CorruptFileError(
            f"{what} file {path} ({size} bytes) cannot be read: it is truncated, corrupt or not a {what} written by "
            f"neurobridge ({type(error).__name__}). Delete it and write it again (train again, or save again)"
        ) from None
