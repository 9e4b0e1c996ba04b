"""Data manifests and the file resolver.

Each data set is described by one JSON file in ``data_manifests/``: for every file its name, URLs, checksum
(``sha1`` where the source publishes sha1, ``sha256`` otherwise; ``"of": "gunzip"`` checks the uncompressed content),
size, licence and layout.

:func:`resolve` finds a file by searching, in order,

1. ``NEUROBRIDGE_DATA_PATH`` (directories separated by ``os.pathsep``, searched recursively by file name);
2. Brain-Score's cache ``$BRAINIO_HOME/<sha1>/<filename>`` (default ``~/.brainio``), read in place;
3. neurobridge's cache ``$NEUROBRIDGE_HOME/<dataset>/<filename>`` (default ``~/.cache/neurobridge``);

and otherwise downloads it into the cache (see :mod:`neurobridge.datasets.download`). Every file is verified against
its checksum before use; a corrupt file is never returned.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DataError",
    "FileEntry",
    "Manifest",
    "manifest_dirs",
    "list_manifests",
    "get_manifest",
    "data_path",
    "cache_dir",
    "brainio_home",
    "find_local",
    "resolve",
    "file_checksum",
    "verify_file",
]


class DataError(RuntimeError):
    """A data file is missing, cannot be downloaded, or fails its checksum; the message says what to do."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a data set as its manifest describes it."""

    dataset: str
    key: str
    filename: str
    algorithm: str
    checksum: str
    urls: tuple[str, ...] = ()
    checksum_of: str = "file"
    size: int | None = None
    layout: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.key}"

    def where_to_put(self) -> str:
        return (
            f"place {self.filename} in a directory listed in NEUROBRIDGE_DATA_PATH, or at "
            f"{cache_dir() / self.dataset / self.filename}"
        )


@dataclass(frozen=True)
class Manifest:
    """A data set's manifest: its files, licence and citation."""

    name: str
    description: str
    licence: str
    files: tuple[FileEntry, ...]
    citation: str = ""
    path: Path | None = None

    def file(self, key: str) -> FileEntry:
        for entry in self.files:
            if entry.key == key or entry.filename == key:
                return entry
        raise DataError(f"data set {self.name!r} has no file {key!r}; its files are {[f.key for f in self.files]}")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Manifest":
        path = Path(path)
        raw = json.loads(path.read_text())
        missing = {"name", "files"} - set(raw)
        if missing:
            raise DataError(f"manifest {path} lacks the fields {sorted(missing)}")
        files = []
        for item in raw["files"]:
            checksum = item.get("checksum") or {}
            if not checksum.get("algorithm") or not checksum.get("value"):
                raise DataError(f"manifest {path}: file {item.get('filename')!r} has no checksum algorithm/value")
            known = {"key", "filename", "urls", "checksum", "size", "layout"}
            files.append(
                FileEntry(
                    dataset=raw["name"],
                    key=item.get("key", item["filename"]),
                    filename=item["filename"],
                    algorithm=checksum["algorithm"],
                    checksum=checksum["value"].lower(),
                    checksum_of=checksum.get("of", "file"),
                    urls=tuple(item.get("urls") or ()),
                    size=item.get("size"),
                    layout=item.get("layout", ""),
                    extra={k: v for k, v in item.items() if k not in known},
                )
            )
        return cls(
            name=raw["name"],
            description=raw.get("description", ""),
            licence=raw.get("licence", ""),
            citation=raw.get("citation", ""),
            files=tuple(files),
            path=path,
        )


def manifest_dirs() -> list[Path]:
    """Where manifests are read from: ``NEUROBRIDGE_MANIFESTS`` (os.pathsep-separated), the checkout's
    ``data_manifests/``, and ``<prefix>/share/neurobridge/data_manifests`` for a wheel install."""
    dirs = [Path(p) for p in os.environ.get("NEUROBRIDGE_MANIFESTS", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "data_manifests")
    dirs.append(Path(sys.prefix) / "share" / "neurobridge" / "data_manifests")
    return [d for d in dirs if d.is_dir()]


def list_manifests() -> dict[str, Manifest]:
    """All manifests found, by data-set name (the first directory wins)."""
    found: dict[str, Manifest] = {}
    for directory in manifest_dirs():
        for path in sorted(directory.glob("*.json")):
            manifest = Manifest.from_json(path)
            found.setdefault(manifest.name, manifest)
    return found


def get_manifest(name: str) -> Manifest:
    manifests = list_manifests()
    if name not in manifests:
        raise DataError(f"no data manifest named {name!r}; known: {sorted(manifests)} (searched {[str(d) for d in manifest_dirs()]})")
    return manifests[name]


def data_path() -> list[Path]:
    """Directories in ``NEUROBRIDGE_DATA_PATH``."""
    return [Path(p).expanduser() for p in os.environ.get("NEUROBRIDGE_DATA_PATH", "").split(os.pathsep) if p]


def cache_dir() -> Path:
    return Path(os.environ.get("NEUROBRIDGE_HOME", "~/.cache/neurobridge")).expanduser()


def brainio_home() -> Path:
    return Path(os.environ.get("BRAINIO_HOME", "~/.brainio")).expanduser()


@lru_cache(maxsize=64)
def _index_directory(directory: str, mtime: float) -> dict[str, str]:
    index: dict[str, str] = {}
    for root, _dirs, files in os.walk(directory, followlinks=True):
        for name in files:
            index.setdefault(name, os.path.join(root, name))
    return index


def find_local(entry: FileEntry) -> Path | None:
    """The first local copy of ``entry`` in the search order, or None. Not verified here."""
    for directory in data_path():
        if directory.is_dir():
            hit = _index_directory(str(directory), directory.stat().st_mtime).get(entry.filename)
            if hit and os.path.isfile(hit):
                return Path(hit)
    if entry.algorithm == "sha1":
        candidate = brainio_home() / entry.checksum / entry.filename
        if candidate.is_file():
            return candidate
    candidate = cache_dir() / entry.dataset / entry.filename
    if candidate.is_file():
        return candidate
    return None


def file_checksum(path: str | os.PathLike, algorithm: str, of: str = "file") -> str:
    """Hex digest of a file's bytes (``of="gunzip"``: of its decompressed content), read in 1 MiB blocks."""
    try:
        digest = hashlib.new(algorithm)
    except ValueError as err:
        raise DataError(f"unknown checksum algorithm {algorithm!r}") from err
    opener = gzip.open if of == "gunzip" else open
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: dict[tuple[str, int, float], bool] = {}


def verify_file(entry: FileEntry, path: str | os.PathLike) -> None:
    """Raise :class:`DataError` unless ``path`` has ``entry``'s checksum (results are memoised per size and mtime)."""
    path = Path(path)
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime)
    if _VERIFIED.get(memo):
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
    _VERIFIED[memo] = True


def resolve(dataset: str, key: str, *, download: bool | None = None, progress: bool = True) -> Path:
    """Path of a verified local copy of ``dataset``'s file ``key``, downloading it into the cache if needed.

    ``download=None`` downloads unless ``NEUROBRIDGE_OFFLINE`` is set to 1/true.
    """
    entry = get_manifest(dataset).file(key)
    local = find_local(entry)
    if local is not None:
        verify_file(entry, local)
        return local
    if download is None:
        download = os.environ.get("NEUROBRIDGE_OFFLINE", "").lower() not in {"1", "true", "yes"}
    if not download:
        raise DataError(
            f"{entry.name}: {entry.filename} is not present locally and downloads are off "
            f"(expected {entry.algorithm} {entry.checksum}; URL: {', '.join(entry.urls) or 'none'}). {entry.where_to_put()}"
        )
    from neurobridge.datasets.download import download_entry

    return download_entry(entry, cache_dir() / entry.dataset, progress=progress)
