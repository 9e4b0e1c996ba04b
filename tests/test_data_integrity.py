"""Data integrity: verification is redone when a file changes, a corrupt copy never hides a good one, malformed
manifests name their file, and the datasets modules import without a loop."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from neurobridge.datasets import download
from neurobridge.datasets.manifests import DataError, DataWarning, Manifest, get_manifest

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = bytes(range(256)) * 64


@pytest.fixture
def toy(tmp_path, monkeypatch):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    monkeypatch.setenv("NEUROBRIDGE_MANIFESTS", str(manifests))
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))
    monkeypatch.setenv("NEUROBRIDGE_OFFLINE", "1")
    files = [{"key": "blob", "filename": "blob.bin", "checksum": {"algorithm": "sha256", "value": hashlib.sha256(PAYLOAD).hexdigest()}}]
    (manifests / "toy.json").write_text(json.dumps({"name": "toy", "licence": "test", "files": files}))
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", os.pathsep.join([str(first), str(second)]))
    return {"first": first, "second": second, "manifests": manifests, "entry": get_manifest("toy").file("blob")}


def _count_hashes(monkeypatch) -> list:
    calls = []
    real = download.file_checksum

    def counting(path, algorithm, of="file"):
        calls.append(Path(path))
        return real(path, algorithm, of)

    monkeypatch.setattr(download, "file_checksum", counting)
    return calls


def test_verified_file_is_not_hashed_again_while_unchanged(toy, monkeypatch):
    path = toy["first"] / "blob.bin"
    path.write_bytes(PAYLOAD)
    calls = _count_hashes(monkeypatch)
    assert download.resolve("toy", "blob") == path
    assert download.resolve("toy", "blob") == path
    assert calls == [path]


def test_file_with_a_new_mtime_is_verified_again(toy, monkeypatch):
    path = toy["first"] / "blob.bin"
    path.write_bytes(PAYLOAD)
    download.resolve("toy", "blob")
    calls = _count_hashes(monkeypatch)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert download.resolve("toy", "blob") == path
    assert calls == [path]


def test_file_changed_in_place_after_verification_is_caught(toy):
    path = toy["first"] / "blob.bin"
    path.write_bytes(PAYLOAD)
    download.resolve("toy", "blob")
    stat = path.stat()
    path.write_bytes(PAYLOAD[:-1] + b"\x00")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(DataError, match="checksum mismatch") as info:
        download.resolve("toy", "blob")
    assert str(path) in str(info.value)


def test_file_with_a_new_size_is_caught(toy):
    path = toy["first"] / "blob.bin"
    path.write_bytes(PAYLOAD)
    download.resolve("toy", "blob")
    with open(path, "ab") as handle:
        handle.write(b"tail")
    with pytest.raises(DataError, match="checksum mismatch") as info:
        download.resolve("toy", "blob")
    assert str(path) in str(info.value)


def test_corrupt_copy_early_on_the_path_does_not_hide_a_good_one(toy):
    bad = toy["first"] / "nested" / "blob.bin"
    bad.parent.mkdir()
    bad.write_bytes(b"x" * len(PAYLOAD))
    good = toy["second"] / "blob.bin"
    good.write_bytes(PAYLOAD)
    with pytest.warns(DataWarning) as record:
        assert download.resolve("toy", "blob") == good
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and str(bad) in messages[0] and str(good) in messages[0], messages


def test_good_copy_first_gives_no_warning(toy):
    (toy["first"] / "blob.bin").write_bytes(PAYLOAD)
    (toy["second"] / "blob.bin").write_bytes(b"corrupt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert download.resolve("toy", "blob") == toy["first"] / "blob.bin"


def test_every_copy_corrupt_names_them_all(toy):
    one, two = toy["first"] / "blob.bin", toy["second"] / "blob.bin"
    one.write_bytes(b"one")
    two.write_bytes(b"two")
    with pytest.raises(DataError, match="every local copy") as info:
        download.resolve("toy", "blob")
    assert str(one) in str(info.value) and str(two) in str(info.value)


def test_corrupt_cache_copy_does_not_hide_a_data_path_copy_found_later(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(toy["second"]))
    good = toy["second"] / "blob.bin"
    good.write_bytes(PAYLOAD)
    cached = tmp_path / "home" / "toy" / "blob.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stale")
    assert download.local_copies(toy["entry"]) == [good, cached]
    assert download.resolve("toy", "blob") == good


@pytest.mark.parametrize(
    "content, culprit",
    [
        ("{not json", "not valid JSON"),
        ('["a", "list"]', "JSON object"),
        ('{"files": []}', "lacks the fields"),
        ('{"name": "bad", "files": {"filename": "x"}}', "'files' must be a list"),
        ('{"name": "bad", "files": ["x.bin"]}', "files\\[0\\]"),
        ('{"name": "bad", "files": [{"checksum": {"algorithm": "sha256", "value": "00"}}]}', "filename"),
        ('{"name": "bad", "files": [{"filename": "x.bin"}]}', "checksum"),
        ('{"name": "bad", "files": [{"filename": "x.bin", "checksum": "00ff"}]}', "checksum"),
        ('{"name": "bad", "files": [{"filename": "x.bin", "urls": "http://a", "checksum": {"algorithm": "sha256", "value": "00"}}]}', "'urls'"),
        ('{"name": "bad", "files": [{"filename": "x.bin", "size": "12", "checksum": {"algorithm": "sha256", "value": "00"}}]}', "'size'"),
        ('{"name": "bad", "files": [{"filename": "x.bin", "size": true, "checksum": {"algorithm": "sha256", "value": "00"}}]}', "'size'"),
        ('{"name": 3, "files": []}', "'name'"),
    ],
)
def test_malformed_manifest_names_the_file(tmp_path, content, culprit):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(DataError, match=culprit) as info:
        Manifest.from_json(path)
    assert str(path) in str(info.value)


def test_malformed_manifest_on_the_search_path_is_named_by_load(toy, monkeypatch):
    broken = toy["manifests"] / "zz_broken.json"
    broken.write_text('{"name": "broken", "files": [')
    with pytest.raises(DataError, match="not valid JSON") as info:
        download.resolve("toy", "blob")
    assert str(broken) in str(info.value)


def test_datasets_modules_import_without_a_loop():
    """manifests is metadata only (it imports nothing of the resolver, and no longer offers its names)."""
    code = (
        "import neurobridge.datasets.manifests as m\n"
        "assert not hasattr(m, 'resolve') and not hasattr(m, 'find_local') and not hasattr(m, 'verify_file')\n"
        "from neurobridge.datasets.download import resolve, find_local, verify_file, file_checksum\n"
        "from neurobridge.datasets.manifests import cache_dir, data_path\n"
        "import neurobridge.datasets.download as d\n"
        "assert resolve is d.resolve and find_local is d.find_local and verify_file is d.verify_file\n"
        "from neurobridge.datasets import resolve as r2, DataError\n"
        "assert r2 is d.resolve\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    source = (ROOT / "neurobridge" / "datasets" / "manifests.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("download" in line for line in top_level), top_level
