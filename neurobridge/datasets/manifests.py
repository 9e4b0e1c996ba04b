"""Data manifests: what each data set's files are (metadata only; finding and fetching them is
:mod:`neurobridge.datasets.download`).

Each data set is described by one JSON file in ``data_manifests/``: for every file its name, URLs, checksum
(``sha1`` where the source publishes sha1, ``sha256`` otherwise; ``"of": "gunzip"`` checks the uncompressed content),
size, licence and layout. A malformed manifest raises :class:`DataError` naming the file and the field.

The resolver (``resolve``, ``find_local``, ``verify_file``, ``file_checksum``) lives in
:mod:`neurobridge.datasets.download`.
"""
from __future__ import annotations

import json
import os
import re
import site
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from neurobridge.datasets.locations import brainio_home, cache_dir, data_path

__all__ = [
    "DataError",
    "DataWarning",
    "FileEntry",
    "Manifest",
    "manifest_dirs",
    "list_manifests",
    "get_manifest",
    "data_path",
    "cache_dir",
    "brainio_home",
]

class DataError(RuntimeError):
    """A data file is missing, cannot be downloaded, or fails its checksum; the message says what to do."""


class DataWarning(UserWarning):
    """A data file was found in a bad state (e.g. a corrupt copy) and a good one was used instead."""


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


def _is_str(value) -> bool:
    return isinstance(value, str) and bool(value)


_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX = re.compile(r"[0-9a-fA-F]+")


def path_component_problem(value: str) -> str | None:
    """Why ``value`` cannot be one path component inside a folder (None when it can).

    A manifest's data-set ``name`` and each file's ``filename`` become ``<cache>/<name>/<filename>``. A value with a
    separator (``/`` or ``\\``), ``.`` or ``..``, an absolute path, a drive letter (``C:``) or a NUL byte could name a
    place outside the cache once joined, so each must be a single plain file or folder name.
    """
    if value in (".", ".."):
        return f"{value!r} names a folder, not a file"
    if "/" in value or "\\" in value or (os.altsep and os.altsep in value):
        return "it holds a path separator"
    if os.path.isabs(value) or _DRIVE.match(value):
        return "it is an absolute path or starts with a drive letter"
    if "\0" in value:
        return "it holds a NUL byte"
    return None


def _check_component(value: str, where: str, field_name: str) -> None:
    problem = path_component_problem(value)
    if problem is not None:
        raise DataError(
            f"{where}: {field_name!r} must be a plain file name, with no folder part; got {value!r} ({problem}). "
            "A manifest may only name files inside its data set's folder: fix the manifest"
        )


def _entry_from_json(path: Path, dataset: str, position: int, item) -> FileEntry:
    where = f"manifest {path}: files[{position}]"
    if not isinstance(item, dict):
        raise DataError(f"{where} must be a JSON object with filename and checksum; got {type(item).__name__} {item!r}")
    if not _is_str(item.get("filename")):
        raise DataError(f"{where} needs a non-empty string 'filename'; got {item.get('filename')!r}")
    _check_component(item["filename"], where, "filename")
    where = f"manifest {path}: file {item['filename']!r}"
    checksum = item.get("checksum")
    if not isinstance(checksum, dict) or not _is_str(checksum.get("algorithm")) or not _is_str(checksum.get("value")):
        raise DataError(f"{where} has no checksum algorithm/value; expected \"checksum\": {{\"algorithm\": \"sha256\", \"value\": \"<hex>\"}}, got {checksum!r}")
    if not _HEX.fullmatch(checksum["value"]):
        raise DataError(f"{where}: checksum 'value' must be a hex digest (0-9, a-f); got {checksum['value']!r}")
    urls = item.get("urls") or []
    if isinstance(urls, str) or not isinstance(urls, list) or not all(_is_str(u) for u in urls):
        raise DataError(f"{where}: 'urls' must be a list of URL strings; got {urls!r}")
    size = item.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DataError(f"{where}: 'size' must be a non-negative integer number of bytes; got {size!r}")
    key = item.get("key", item["filename"])
    if not _is_str(key):
        raise DataError(f"{where}: 'key' must be a non-empty string; got {key!r}")
    of = checksum.get("of", "file")
    if of not in ("file", "gunzip"):
        raise DataError(f"{where}: checksum 'of' must be \"file\" or \"gunzip\"; got {of!r}")
    known = {"key", "filename", "urls", "checksum", "size", "layout"}
    return FileEntry(
        dataset=dataset,
        key=key,
        filename=item["filename"],
        algorithm=checksum["algorithm"],
        checksum=checksum["value"].lower(),
        checksum_of=of,
        urls=tuple(urls),
        size=size,
        layout=str(item.get("layout", "")),
        extra={k: v for k, v in item.items() if k not in known},
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
    def from_json(cls, path: str | os.PathLike) -> Manifest:
        """Read a manifest file; :class:`DataError` naming ``path`` and the bad field when it is malformed."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read the manifest {path} ({err})") from err
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"manifest {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}; "
                "fix or remove the file"
            ) from err
        if not isinstance(raw, dict):
            raise DataError(f"manifest {path} must hold a JSON object with 'name' and 'files'; got {type(raw).__name__}")
        missing = {"name", "files"} - set(raw)
        if missing:
            raise DataError(f"manifest {path} lacks the fields {sorted(missing)}")
        if not _is_str(raw["name"]):
            raise DataError(f"manifest {path}: 'name' must be a non-empty string; got {raw['name']!r}")
        _check_component(raw["name"], f"manifest {path}", "name")
        if not isinstance(raw["files"], list):
            raise DataError(f"manifest {path}: 'files' must be a list of file objects; got {type(raw['files']).__name__}")
        files = tuple(_entry_from_json(path, raw["name"], i, item) for i, item in enumerate(raw["files"]))
        return cls(
            name=raw["name"],
            description=str(raw.get("description", "")),
            licence=str(raw.get("licence", "")),
            citation=str(raw.get("citation", "")),
            files=files,
            path=path,
        )


def manifest_dirs() -> list[Path]:
    """Where manifests are read from: ``NEUROBRIDGE_MANIFESTS`` (os.pathsep-separated), the checkout's
    ``data_manifests/``, and ``share/neurobridge/data_manifests`` under the install prefix of a regular (wheel)
    install: the environment's data path (``sys.prefix`` in a venv) or, for ``pip install --user``, the user base."""
    dirs = [Path(p) for p in os.environ.get("NEUROBRIDGE_MANIFESTS", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "data_manifests")
    prefixes = [sysconfig.get_path("data"), sys.prefix, getattr(site, "USER_BASE", None)]
    dirs.extend(Path(p) / "share" / "neurobridge" / "data_manifests" for p in prefixes if p)
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


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
