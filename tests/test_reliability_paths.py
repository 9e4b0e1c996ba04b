"""Paths from manifests and archives stay inside their folders; search-path walks end on symlink cycles; cached
files another user could write are refused (or warned about, for checksummed data)."""
import hashlib
import http.server
import json
import os
import threading
import zipfile

import pytest

from neurobridge.cli import main as cli_main
from neurobridge.datasets import download
from neurobridge.datasets.download import local_copies, resolve
from neurobridge.datasets.manifests import DataError, DataWarning, get_manifest

PAYLOAD = b"neurobridge test payload\n" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/payload.bin"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    monkeypatch.setenv("NEUROBRIDGE_MANIFESTS", str(manifests))
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(tmp_path / "search"))
    (tmp_path / "search").mkdir()
    return tmp_path


def _manifest(env, name, filename, url=None, checksum=SHA, algorithm="sha256"):
    entry = {"key": "f", "filename": filename, "urls": [url] if url else [],
             "checksum": {"algorithm": algorithm, "value": checksum}}
    (env / "manifests" / "evil.json").write_text(json.dumps({"name": name, "files": [entry]}))


@pytest.mark.parametrize("filename", ["../escaped.pth", "ABSOLUTE", "sub/escaped.pth", "..", "C:escaped.pth",
                                      "a\\..\\escaped.pth"])
def test_fetch_refuses_a_manifest_filename_outside_the_cache(env, server, filename, capsys):
    if filename == "ABSOLUTE":
        filename = str(env / "absolute" / "escaped.pth")
    _manifest(env, "evil", filename, server)
    assert cli_main(["data", "fetch", "evil", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "evil.json" in err and "'filename'" in err and repr(filename) in err
    written = [p for p in env.rglob("*") if p.is_file() and p.read_bytes() == PAYLOAD]
    assert written == []


@pytest.mark.parametrize("name", ["../outside", "ABSOLUTE", "a/b", "."])
def test_fetch_refuses_a_manifest_name_outside_the_cache(env, server, name, capsys):
    if name == "ABSOLUTE":
        name = str(env / "absolute")
    _manifest(env, name, "payload.bin", server)
    assert cli_main(["data", "fetch", name, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "evil.json" in err and "'name'" in err
    assert [p for p in env.rglob("*") if p.is_file() and p.read_bytes() == PAYLOAD] == []


def test_a_manifest_checksum_is_hex_so_it_cannot_name_a_folder(env):
    _manifest(env, "evil", "hostname", checksum="../../../etc", algorithm="sha1")
    with pytest.raises(DataError, match="hex digest"):
        get_manifest("evil")


def test_a_symlink_in_the_cache_that_leaves_it_is_refused(env, tmp_path):
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(PAYLOAD)
    _manifest(env, "ok", "payload.bin")
    (env / "home" / "ok").mkdir(parents=True)
    (env / "home" / "ok" / "payload.bin").symlink_to(outside)
    with pytest.raises(DataError, match="outside NEUROBRIDGE_HOME"):
        resolve("ok", "f", download=False)


def test_a_good_manifest_still_downloads_into_its_folder(env, server):
    _manifest(env, "ok", "payload.bin", server)
    path = resolve("ok", "f", download=True, progress=False)
    assert path == env / "home" / "ok" / "payload.bin" and path.read_bytes() == PAYLOAD


def test_an_archive_member_that_leaves_its_folder_is_refused(env, monkeypatch):
    from neurobridge.datasets import hvm

    archive = env / "stimuli.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("../../escaped.png")
        zf.writestr(info, b"x")
    csv = env / "stimuli.csv"
    csv.write_text("image_id,image_file_name\na,escaped.png\n")
    monkeypatch.setattr(hvm, "resolve", lambda dataset, key, download=None: csv if key.endswith("csv") else archive)
    with pytest.raises(DataError, match="leaves the folder"):
        hvm._zip_paths("public", download=False)
    assert not list(env.rglob("escaped.png"))


def _cycle(root):
    data = root / "data"
    (data / "a" / "b").mkdir(parents=True)
    (data / "a" / "b" / "payload.bin").write_bytes(PAYLOAD)
    (data / "a" / "b" / "up").symlink_to(data)
    (data / "a" / "again").symlink_to(data / "a")
    (data / "loop").symlink_to(data)
    return data


def _run_with_timeout(function, seconds=20):
    result, error = [], []

    def target():
        try:
            result.append(function())
        except BaseException as err:  # noqa: BLE001 - handed back to the test thread
            error.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not finish within {seconds} s (a symlink cycle walked for ever?)"
    if error:
        raise error[0]
    return result[0]


def test_walk_visits_each_real_folder_once_through_symlink_cycles(tmp_path):
    data = _cycle(tmp_path)
    folders = _run_with_timeout(lambda: [root for root, _ in download.walk_files(data)])
    real = [os.path.realpath(f) for f in folders]
    assert sorted(set(real)) == sorted(real)
    assert set(real) == {str(data), str(data / "a"), str(data / "a" / "b")}


def test_resolve_and_data_list_finish_on_a_symlink_cycle(env, capsys, monkeypatch):
    data = _cycle(env)
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(data))
    _manifest(env, "ok", "payload.bin")
    copies = _run_with_timeout(lambda: local_copies(get_manifest("ok").file("f")))
    assert [os.path.realpath(c) for c in copies] == [str(data / "a" / "b" / "payload.bin")]
    assert _run_with_timeout(lambda: cli_main(["data", "list"])) == 0
    assert "payload.bin" in capsys.readouterr().out


def test_a_home_shortcut_to_no_user_is_a_message(env, monkeypatch, capsys):
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", "~no_such_user_neurobridge/data")
    _manifest(env, "ok", "payload.bin")
    assert cli_main(["data", "list"]) == 2
    assert "NEUROBRIDGE_DATA_PATH" in capsys.readouterr().err


def test_neurobridge_home_being_a_file_is_a_message(env, server, monkeypatch, capsys):
    home = env / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(home))
    _manifest(env, "ok", "payload.bin", server)
    assert cli_main(["data", "fetch", "ok", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "NEUROBRIDGE_HOME" in err and "is a file" in err


needs_posix_owners = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0 and not hasattr(os, "chown"),
                                        reason="POSIX owners")


def test_a_world_writable_cached_model_is_refused(tmp_path):
    import numpy as np

    from neurobridge import _io
    from neurobridge.models.cache import get_or_train

    UntrustedFileError = getattr(_io, "UntrustedFileError", PermissionError)

    labels = np.repeat(np.arange(3), 4)
    config = {"steps": 5, "latent_dim": 2, "hidden": 8}
    model = get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path / "models")
    path = model.training_info["cache_path"]
    assert get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path / "models").training_info["from_cache"]
    os.chmod(path, 0o666)
    with pytest.raises(UntrustedFileError, match="writable by every user"):
        get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path / "models")
    os.chmod(path, 0o644)
    os.chmod(tmp_path / "models", 0o777)
    with pytest.raises(UntrustedFileError, match="folder .* writable by every user"):
        get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path / "models")
    os.chmod(tmp_path / "models", 0o755)
    if os.getuid() == 0:
        os.chown(path, 12345, -1)
        with pytest.raises(UntrustedFileError, match="owned by another user"):
            get_or_train("label_vae", labels, config, seed=0, cache_dir=tmp_path / "models")


def test_a_world_writable_data_copy_is_warned_about(env):
    _manifest(env, "ok", "payload.bin")
    copy = env / "search" / "payload.bin"
    copy.write_bytes(PAYLOAD)
    os.chmod(copy, 0o666)
    with pytest.warns(DataWarning, match="writable by every user"):
        assert resolve("ok", "f", download=False) == copy
