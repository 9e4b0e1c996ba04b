"""Where data files are looked for and cached: ``NEUROBRIDGE_DATA_PATH``, ``BRAINIO_HOME`` and ``NEUROBRIDGE_HOME``."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_path", "cache_dir", "brainio_home"]


def _expand(value: str, variable: str) -> Path:
    """``value`` with a leading ``~`` or ``~user`` expanded; a ``ValueError`` naming ``variable`` when it cannot be."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise ValueError(f"{variable} holds {value!r}, whose '~' names no user's home folder on this machine; "
                         f"write the folder out in full or fix the user name") from None


def data_path() -> list[Path]:
    """Directories in ``NEUROBRIDGE_DATA_PATH`` (separated by ``os.pathsep``), in search order."""
    return [_expand(p, "NEUROBRIDGE_DATA_PATH") for p in os.environ.get("NEUROBRIDGE_DATA_PATH", "").split(os.pathsep) if p]


def cache_dir() -> Path:
    """neurobridge's download cache, ``NEUROBRIDGE_HOME`` (default ``~/.cache/neurobridge``)."""
    return _expand(os.environ.get("NEUROBRIDGE_HOME", "~/.cache/neurobridge"), "NEUROBRIDGE_HOME")


def brainio_home() -> Path:
    """Brain-Score's cache, ``BRAINIO_HOME`` (default ``~/.brainio``), read in place."""
    return _expand(os.environ.get("BRAINIO_HOME", "~/.brainio"), "BRAINIO_HOME")
