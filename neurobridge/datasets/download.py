"""Find, verify and download a manifest's files: the resolver.

:func:`resolve` finds a file by searching, in order,

1. ``NEUROBRIDGE_DATA_PATH`` (directories separated by ``os.pathsep``, searched recursively by file name);
2. Brain-Score's cache ``$BRAINIO_HOME/<sha1>/<filename>`` (default ``~/.brainio``), read in place;
3. neurobridge's cache ``$NEUROBRIDGE_HOME/<dataset>/<filename>`` (default ``~/.cache/neurobridge``);

and otherwise downloads it into the cache. Every copy is verified against its checksum before use, and verified
again whenever its size, modification time or inode change; a corrupt copy is never returned. A corrupt copy early
in the search order does not hide a good one later: the good one is used and a :class:`DataWarning` names the bad one.

Downloads leave nothing partial or corrupt under the final name: the bytes go to ``.<filename>.<random>.part`` in
the destination folder, are verified, and only then renamed into place with :func:`os.replace` (atomic on POSIX and
Windows). Any failure removes the temporary file.

Paths stay inside their roots: a manifest's names are single path components (checked when it is read), and every
path built under ``BRAINIO_HOME`` or ``NEUROBRIDGE_HOME`` is checked, after resolving symlinks, to lie inside that
root (:func:`confined`), so neither a crafted manifest nor a planted symlink makes the resolver read or write
elsewhere. The search path is walked with symlinks followed (data sets are often linked in), but each real folder is
visited once, so a symlink cycle ends the walk instead of looping for ever.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import warnings
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

from neurobridge._io import atomic_write, trust_problems
from neurobridge.datasets.locations import brainio_home, cache_dir, data_path
from neurobridge.datasets.manifests import DataError, DataWarning, FileEntry, get_manifest

__all__ = ["resolve", "find_local", "local_copies", "file_checksum", "verify_file", "download_entry", "download_url",
           "confined", "walk_files"]

_BLOCK = 1 << 16


def download_url(url: str, destination: Path, *, timeout: float = 60.0, progress: bool = True, desc: str | None = None) -> None:
    """Stream ``url`` to ``destination``; raise :class:`DataError` on HTTP errors or a truncated transfer."""
    request = urllib.request.Request(url, headers={"User-Agent": "neurobridge"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DataError(f"HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise DataError(f"cannot connect ({getattr(err, 'reason', err)})") from err
    with response:
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected and expected.isdigit() else None
        received = 0
        with open(destination, "wb") as out, tqdm(
            total=expected, unit="B", unit_scale=True, desc=desc or destination.name, disable=not progress, leave=False
        ) as bar:
            while True:
                try:
                    block = response.read(_BLOCK)
                except Exception as err:  # http.client.IncompleteRead, ConnectionResetError, socket timeouts
                    raise DataError(f"transfer broke off after {received} bytes ({type(err).__name__}: {err})") from err
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise DataError(f"truncated transfer: received {received} of {expected} bytes")


def confined(root: str | os.PathLike, path: str | os.PathLike, what: str) -> Path:
    """``path``, after checking that it lies inside ``root`` once both are resolved (symlinks followed).

    :class:`DataError` naming ``what`` (e.g. ``"NEUROBRIDGE_HOME"``), the path and where it really points otherwise.
    """
    root, path = Path(root), Path(path)
    real_root, real = root.resolve(), path.resolve()
    if real != real_root and real_root not in real.parents:
        raise DataError(
            f"{path} resolves to {real}, outside {what} ({real_root}); refusing to read or write it. Remove the "
            f"symlink or the manifest entry that leads there"
        )
    return path


def _cache_folder(entry: FileEntry) -> Path:
    root = cache_dir()
    if root.exists() and not root.is_dir():
        raise DataError(f"NEUROBRIDGE_HOME={root} is a file, not a folder; point NEUROBRIDGE_HOME at a folder (it is created if missing)")
    return confined(root, root / entry.dataset, "NEUROBRIDGE_HOME")


def download_entry(entry: FileEntry, directory: Path, *, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``entry`` into ``directory`` from the first URL that works, verify it and rename it into place."""
    if not entry.urls:
        raise DataError(
            f"{entry.name}: {entry.filename} is missing and has no download URL "
            f"(expected {entry.algorithm} {entry.checksum}). {entry.where_to_put()}"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"{entry.name}: cannot create the download folder {directory} ({err.strerror}); point "
                        "NEUROBRIDGE_HOME at a writable folder") from None
    target = confined(directory, directory / entry.filename, f"the download folder {directory}")
    failures = []
    for url in entry.urls:
        def fetch(tmp: str, url: str = url) -> None:
            download_url(url, Path(tmp), timeout=timeout, progress=progress, desc=entry.filename)
            verify_file(entry, Path(tmp))

        try:
            return atomic_write(target, fetch)
        except DataError as err:
            failures.append(f"{url}: {err}")
    raise DataError(
        f"{entry.name}: could not download {entry.filename} (expected {entry.algorithm} {entry.checksum}).\n  "
        + "\n  ".join(failures)
        + f"\nIf you are offline, {entry.where_to_put()}"
    )


def walk_files(directory: str | os.PathLike):
    """``(folder, sorted file names)`` for every real folder under ``directory``, each visited once.

    Symlinked folders are followed, but a folder whose (device, inode) was already visited, through a symlink cycle
    or a second link to it, is skipped: the walk is finite and its order (sorted, depth first) reproducible.
    Unreadable folders are skipped.
    """
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(directory, followlinks=True):
        try:
            info = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        kept = []
        for name in sorted(dirs):
            try:
                child = os.stat(os.path.join(root, name))
            except OSError:
                continue
            if (child.st_dev, child.st_ino) not in seen:
                kept.append(name)
        dirs[:] = kept
        yield root, sorted(files)


@lru_cache(maxsize=64)
def _index_directory(directory: str, mtime_ns: int) -> dict[str, tuple[str, ...]]:
    """File name -> every path under ``directory`` with that name (see :func:`walk_files` for the order)."""
    index: dict[str, list[str]] = {}
    for root, files in walk_files(directory):
        for name in files:
            index.setdefault(name, []).append(os.path.join(root, name))
    return {name: tuple(paths) for name, paths in index.items()}


def local_copies(entry: FileEntry) -> list[Path]:
    """Every local copy of ``entry``, in the search order of :func:`resolve`. Not verified here."""
    found: list[Path] = []
    for directory in data_path():
        if directory.is_dir():
            hits = _index_directory(str(directory), directory.stat().st_mtime_ns).get(entry.filename, ())
            found.extend(Path(hit) for hit in hits if os.path.isfile(hit))
    if entry.algorithm == "sha1":
        home = brainio_home()
        found.append(confined(home, home / entry.checksum / entry.filename, "BRAINIO_HOME"))
    folder = _cache_folder(entry)
    found.append(confined(folder, folder / entry.filename, "NEUROBRIDGE_HOME"))
    unique: list[Path] = []
    seen: set[str] = set()
    for path in found:
        if path.is_file() and str(path.resolve()) not in seen:
            seen.add(str(path.resolve()))
            unique.append(path)
    return unique


def find_local(entry: FileEntry) -> Path | None:
    """The first local copy of ``entry`` in the search order, or None. Not verified here."""
    copies = local_copies(entry)
    return copies[0] if copies else None


def file_checksum(path: str | os.PathLike, algorithm: str, of: str = "file") -> str:
    """Hex digest of a file's bytes (``of="gunzip"``: of its decompressed content), read in 1 MiB blocks."""
    try:
        digest = hashlib.new(algorithm)
    except ValueError as err:
        raise DataError(f"unknown checksum algorithm {algorithm!r} (use sha1 or sha256)") from err
    opener = gzip.open if of == "gunzip" else open
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: set[tuple] = set()


def _fingerprint(path: Path, entry: FileEntry) -> tuple:
    """What must not change for a verification to stay valid: the file's identity, size, mtime and ctime.

    ctime cannot be set by user code, so a rewrite that restores the old mtime (``touch -r``, ``cp -p``) is caught.
    """
    stat = path.stat()
    return (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
            entry.algorithm, entry.checksum, entry.checksum_of)


def verify_file(entry: FileEntry, path: str | os.PathLike) -> None:
    """Raise :class:`DataError` unless ``path`` has ``entry``'s checksum.

    A success is remembered for this process while the file's size, modification time, ctime and inode stay the
    same; any change makes the next call hash the file again.
    """
    path = Path(path)
    try:
        memo = _fingerprint(path, entry)
    except OSError as err:
        raise DataError(f"{entry.name}: cannot read {path} to verify it ({err}); {entry.where_to_put()}") from err
    if memo in _VERIFIED:
        return
    try:
        actual = file_checksum(path, entry.algorithm, entry.checksum_of)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{entry.name}: cannot read {path} to verify it ({err}); {entry.where_to_put()}") from err
    if actual != entry.checksum:
        what = "uncompressed content" if entry.checksum_of == "gunzip" else "file"
        raise DataError(
            f"{entry.name}: checksum mismatch for {path}: expected {entry.algorithm} {entry.checksum} of the {what}, "
            f"got {actual}. The file is corrupt or a different version; delete it and fetch it again from "
            f"{', '.join(entry.urls) or '(no public URL)'}, or {entry.where_to_put()}"
        )
    if _fingerprint(path, entry) == memo:
        _VERIFIED.add(memo)


def _warn_untrusted(entry: FileEntry, copy: Path) -> None:
    """A :class:`DataWarning` when another user could rewrite ``copy`` (see :func:`neurobridge._io.trust_problems`).

    The copy has just passed its checksum, so this warns rather than refuses: what is at risk is the file changing
    between this check and its reading."""
    for root in [*data_path(), brainio_home(), cache_dir()]:
        if root in copy.parents:
            problems = trust_problems(copy, root)
            if problems:
                warnings.warn(f"{entry.name}: {copy} passed its checksum, but another user could replace it: "
                              + "; ".join(problems) + ". Make it yours and not writable by others (chown, chmod o-w)",
                              DataWarning, stacklevel=3)
            return


def resolve(dataset: str, key: str, *, download: bool | None = None, progress: bool = True) -> Path:
    """Path of a verified local copy of ``dataset``'s file ``key``, downloading it into the cache if needed.

    Local copies are tried in the search order (see the module docstring); the first that passes its checksum is
    returned, with a :class:`DataWarning` naming each corrupt copy before it. When every local copy is corrupt,
    :class:`DataError` lists them all. ``download=None`` downloads unless ``NEUROBRIDGE_OFFLINE`` is set to 1/true.
    """
    entry = get_manifest(dataset).file(key)
    bad: list[tuple[Path, DataError]] = []
    for copy in local_copies(entry):
        try:
            verify_file(entry, copy)
        except DataError as err:
            bad.append((copy, err))
            continue
        for path, err in bad:
            warnings.warn(f"{entry.name}: skipped the corrupt copy {path} and used {copy} ({err})", DataWarning, stacklevel=2)
        _warn_untrusted(entry, copy)
        return copy
    if bad:
        if len(bad) == 1:
            raise bad[0][1]
        raise DataError(
            f"{entry.name}: every local copy of {entry.filename} fails its checksum:\n  "
            + "\n  ".join(f"{path}: {err}" for path, err in bad)
        )
    if download is None:
        download = os.environ.get("NEUROBRIDGE_OFFLINE", "").lower() not in {"1", "true", "yes"}
    if not download:
        raise DataError(
            f"{entry.name}: {entry.filename} is not present locally and downloads are off "
            f"(expected {entry.algorithm} {entry.checksum}; URL: {', '.join(entry.urls) or 'none'}). {entry.where_to_put()}"
        )
    return download_entry(entry, _cache_folder(entry), progress=progress)
