"""Atomic file writes: write to a temporary file in the destination folder, then rename it into place."""
from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "read_torch", "CorruptFileError", "UntrustedFileError", "trust_problems", "check_trusted"]


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask: from ``/proc/self/status`` on Linux, else read by setting and restoring it, under a lock."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path next to ``path`` and ``os.replace`` it into place.

    A failure leaves neither a partial file under ``path`` nor the temporary file. The file gets the usual
    permissions of a new file (``0o666`` less the process umask, e.g. ``0o644``), not ``mkstemp``'s private ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
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


class UntrustedFileError(PermissionError, ValueError):
    """A cached file another user could have written: refused, as ssh refuses a key others can write (also a
    ``ValueError``, so the command line prints it as a one-line message)."""


def trust_problems(path: str | os.PathLike, root: str | os.PathLike) -> list[str]:
    """Why the file ``path`` could have been written by someone else: empty when it is safe to load.

    Checked, as ssh's ``StrictModes`` checks keys: the file and every folder from its own up to ``root`` (the cache
    root) must be owned by this user or by root, the file must not be writable by others, and no such folder may be
    writable by others unless it has the sticky bit (as ``/tmp``: others may add files but not replace ours).
    Group-writable is allowed (a user's private group, as many systems give each user, is the common case). On a
    system without POSIX owners (Windows) nothing is checked.
    """
    import stat

    if not hasattr(os, "getuid"):
        return []
    me = os.getuid()
    path, root = Path(path), Path(root)
    problems = []
    info = os.stat(path)
    if info.st_uid not in (me, 0):
        problems.append(f"{path} is owned by another user (uid {info.st_uid})")
    if info.st_mode & stat.S_IWOTH:
        problems.append(f"{path} is writable by every user (mode {stat.filemode(info.st_mode)})")
    folders = [path.parent]
    real_root = root.resolve()
    while folders[-1].resolve() != real_root and folders[-1].parent != folders[-1]:
        folders.append(folders[-1].parent)
    for folder in folders:
        info = os.stat(folder)
        if info.st_uid not in (me, 0):
            problems.append(f"the folder {folder} is owned by another user (uid {info.st_uid})")
        if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
            problems.append(f"the folder {folder} is writable by every user (mode {stat.filemode(info.st_mode)})")
    return problems


def check_trusted(path: str | os.PathLike, root: str | os.PathLike, *, what: str = "cached file") -> None:
    """Raise :class:`UntrustedFileError` naming the file, every problem :func:`trust_problems` found and the fix."""
    problems = trust_problems(path, root)
    if problems:
        raise UntrustedFileError(
            f"refusing to load the {what} {path}: " + "; ".join(problems) + ". Someone else could have replaced it. "
            "Make the folder and file yours and not writable by others (chown, chmod o-w), or point NEUROBRIDGE_HOME "
            "at a private folder"
        )
