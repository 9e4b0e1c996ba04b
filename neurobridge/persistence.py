"""Saving and loading fitted estimators: ``Aligner.save(path)`` and ``Aligner.load(path)``.

File format (version :data:`FORMAT`)::

    NEUROBRIDGE-ESTIMATOR\n                  magic line
    {"format": 1, "neurobridge": "0.1.0", ...}\n   one JSON header line
    <payload>                                 torch.save of the estimator object

The header names the format, the neurobridge version that wrote the file, the Python and torch versions, the
estimator's class and the SHA-256 of the payload. :func:`load` reads and checks the header (format, package
version, class, checksum) before it touches the payload, so a file from another version is refused with a message
naming both versions, without unpickling anything.

Trust. The payload is a pickle (``torch.save`` of the whole fitted object: coupling, flow network, sampler, maps).
Loading it runs ``torch.load(weights_only=False)``, which unpickles, and unpickling a file can execute arbitrary
code. **Load only files you wrote yourself or otherwise trust**; the header checks guard against version skew and
corruption, not against a malicious file. Files are written atomically (a temporary file renamed into place), so an
interrupted save leaves no partial file.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from neurobridge._io import atomic_write

__all__ = ["FORMAT", "MAGIC", "PersistenceError", "save", "load", "read_header"]

FORMAT = 1
MAGIC = b"NEUROBRIDGE-ESTIMATOR\n"


class PersistenceError(ValueError):
    """A file cannot be loaded as asked: not a neurobridge file, another format or version, or corrupt."""


def _package_version() -> str:
    return sys.modules["neurobridge"].__version__


def _class_name(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def save(estimator: Any, path: str | os.PathLike) -> Path:
    """Write a fitted ``estimator`` to ``path`` atomically, behind a format and version header (module docstring).

    Returns the path. The estimator must be fitted (it has a ``coupling_`` or other trailing-underscore attribute);
    an unfitted one is a ``ValueError``, since there is nothing to save that its parameters do not already say.
    """
    import torch

    if not any(k.endswith("_") and not k.startswith("_") for k in vars(estimator)):
        raise ValueError(f"save: this {type(estimator).__name__} is not fitted; call fit(...) before save(path)")
    buffer = io.BytesIO()
    torch.save(estimator, buffer)
    payload = buffer.getvalue()
    header = {
        "format": FORMAT,
        "neurobridge": _package_version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "class": _class_name(estimator),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
    }

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(MAGIC)
            handle.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            handle.write(payload)

    return atomic_write(path, write)


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a file written by :func:`save`, read without unpickling anything."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no file at {path}")
    with open(path, "rb") as handle:
        magic = handle.read(len(MAGIC))
        if magic != MAGIC:
            raise PersistenceError(f"load: {path} is not a file written by Aligner.save (no {MAGIC.strip().decode()} header)")
        line = handle.readline(1 << 16)
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PersistenceError(f"load: {path} has a damaged header; save the estimator again") from None
    if not isinstance(header, dict):
        raise PersistenceError(f"load: {path} has a damaged header; save the estimator again")
    return header


def load(path: str | os.PathLike, *, expected_class: str | None = None, map_location: Any = "cpu",
         check_version: bool = True) -> Any:
    """Load an estimator written by :func:`save`. **Unpickles the payload: load only files you trust.**

    Checks, before unpickling: the magic line, ``format == FORMAT``, that the file's neurobridge version equals the
    installed one (``check_version=False`` skips this, at your own risk: a fitted object from another version may
    load and then misbehave), the estimator class (``expected_class``, e.g. ``"neurobridge.align.Aligner"``) and the
    payload's SHA-256. ``map_location`` moves tensors (default ``"cpu"``, so a file saved on a GPU loads anywhere).
    """
    import torch

    path = Path(path)
    header = read_header(path)
    if header.get("format") != FORMAT:
        raise PersistenceError(
            f"load: {path} has file format {header.get('format')!r}; this neurobridge reads format {FORMAT}. Load it "
            f"with neurobridge {header.get('neurobridge', '?')}, the version that wrote it"
        )
    installed = _package_version()
    if check_version and header.get("neurobridge") != installed:
        raise PersistenceError(
            f"load: {path} was saved by neurobridge {header.get('neurobridge')!r}; this is neurobridge {installed!r}. "
            f"Install neurobridge=={header.get('neurobridge')} to load it, refit with this version, or pass "
            "check_version=False to try anyway (a fitted object may not work across versions)"
        )
    if expected_class is not None and header.get("class") != expected_class:
        raise PersistenceError(f"load: {path} holds a {header.get('class')!r}, not a {expected_class!r}")
    with open(path, "rb") as handle:
        handle.read(len(MAGIC))
        handle.readline(1 << 16)
        payload = handle.read()
    if len(payload) != header.get("bytes") or hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise PersistenceError(f"load: {path} is truncated or corrupt (its checksum does not match); save it again")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=False)
