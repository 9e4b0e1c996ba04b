"""Where data files are looked for and cached: ``NEUROBRIDGE_DATA_PATH``, ``BRAINIO_HOME`` and ``NEUROBRIDGE_HOME``."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_path", "cache_dir", "brainio_home"]


def data_path() -> list[Path]:
    """Directories in ``NEUROBRIDGE_DATA_PATH`` (separated by ``os.pathsep``), in search order."""
    return [Path(p).expanduser() for p in os.environ.get("NEUROBRIDGE_DATA_PATH", "").split(os.pathsep) if p]


def cache_dir() -> Path:
    """neurobridge's download cache, ``NEUROBRIDGE_HOME`` (default ``~/.cache/neurobridge``)."""
    return Path(os.environ.get("NEUROBRIDGE_HOME", "~/.cache/neurobridge")).expanduser()


def brainio_home() -> Path:
    """Brain-Score's cache, ``BRAINIO_HOME`` (default ``~/.brainio``), read in place."""
    return Path(os.environ.get("BRAINIO_HOME", "~/.brainio")).expanduser()
