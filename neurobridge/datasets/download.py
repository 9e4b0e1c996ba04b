"""Download a manifest file into the cache: temporary file, progress bar, checksum, atomic rename.

Nothing partial or corrupt is ever left under its final name: the bytes go to ``.<filename>.<random>.part`` in the
destination folder, are verified, and only then renamed into place with :func:`os.replace` (atomic on POSIX and
Windows). Any failure removes the temporary file.
"""
from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from neurobridge.datasets.manifests import DataError, FileEntry, verify_file

__all__ = ["download_entry", "download_url"]

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


def download_entry(entry: FileEntry, directory: Path, *, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``entry`` into ``directory`` from the first URL that works, verify it and rename it into place."""
    if not entry.urls:
        raise DataError(
            f"{entry.name}: {entry.filename} is missing and has no download URL "
            f"(expected {entry.algorithm} {entry.checksum}). {entry.where_to_put()}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / entry.filename
    failures = []
    for url in entry.urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{entry.filename}.", suffix=".part", dir=directory)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            download_url(url, tmp_path, timeout=timeout, progress=progress, desc=entry.filename)
            verify_file(entry, tmp_path)
            os.replace(tmp_path, target)
            return target
        except DataError as err:
            failures.append(f"{url}: {err}")
        finally:
            if tmp_path.exists():
                tmp_path.unlink()
    raise DataError(
        f"{entry.name}: could not download {entry.filename} (expected {entry.algorithm} {entry.checksum}).\n  "
        + "\n  ".join(failures)
        + f"\nIf you are offline, {entry.where_to_put()}"
    )
