"""The download path, for real, against an HTTP server on 127.0.0.1 that the test starts."""
import hashlib
import http.server
import json
import socket
import threading

import pytest

from neurobridge.cli import main as cli_main
from neurobridge.datasets.download import resolve
from neurobridge.datasets.manifests import DataError

PAYLOAD = bytes(range(256)) * 4000


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/good.bin"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path.endswith("/truncated.bin"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    home = tmp_path / "home"
    monkeypatch.setenv("NEUROBRIDGE_MANIFESTS", str(manifests))
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(home))
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(tmp_path / "nowhere"))
    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))
    monkeypatch.delenv("NEUROBRIDGE_OFFLINE", raising=False)
    good_sha = hashlib.sha256(PAYLOAD).hexdigest()
    down = f"http://127.0.0.1:{_free_port()}/good.bin"
    files = [
        {"key": "good", "filename": "good.bin", "urls": [server + "/good.bin"], "checksum": {"algorithm": "sha256", "value": good_sha}},
        {"key": "wrong", "filename": "wrong.bin", "urls": [server + "/good.bin"], "checksum": {"algorithm": "sha256", "value": "0" * 64}},
        {"key": "truncated", "filename": "truncated.bin", "urls": [server + "/truncated.bin"], "checksum": {"algorithm": "sha256", "value": good_sha}},
        {"key": "down", "filename": "down.bin", "urls": [down], "checksum": {"algorithm": "sha256", "value": good_sha}},
        {"key": "fallback", "filename": "fallback.bin", "urls": [down, server + "/good.bin"], "checksum": {"algorithm": "sha256", "value": good_sha}},
        {"key": "brainio", "filename": "assy.nc", "urls": [], "checksum": {"algorithm": "sha1", "value": hashlib.sha1(PAYLOAD).hexdigest()}},
    ]
    (manifests / "toy.json").write_text(json.dumps({"name": "toy", "licence": "test", "files": files}))
    return {"home": home, "cache": home / "toy", "tmp": tmp_path}


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_good_file_downloads_verified_and_atomically(env):
    path = resolve("toy", "good", progress=False)
    assert path == env["cache"] / "good.bin"
    assert path.read_bytes() == PAYLOAD
    assert _leftovers(env["cache"]) == ["good.bin"]
    assert resolve("toy", "good", progress=False) == path


@pytest.mark.parametrize("key, reason", [("wrong", "checksum mismatch"), ("truncated", "truncated|broke off"), ("down", "cannot connect")])
def test_failures_raise_and_leave_nothing(env, key, reason):
    with pytest.raises(DataError, match=reason) as info:
        resolve("toy", key, progress=False)
    message = str(info.value)
    assert f"{key}.bin" in message and "NEUROBRIDGE_DATA_PATH" in message and "http://127.0.0.1" in message
    assert "sha256" in message
    assert _leftovers(env["cache"]) == []


def test_second_url_used_when_first_is_down(env):
    assert resolve("toy", "fallback", progress=False).read_bytes() == PAYLOAD


def test_offline_error_names_file_checksum_url_and_place(env, monkeypatch):
    monkeypatch.setenv("NEUROBRIDGE_OFFLINE", "1")
    with pytest.raises(DataError) as info:
        resolve("toy", "good")
    message = str(info.value)
    assert "good.bin" in message and hashlib.sha256(PAYLOAD).hexdigest() in message and "/good.bin" in message
    assert str(env["cache"]) in message


def test_search_order_data_path_then_brainio_then_cache(env, monkeypatch):
    brainio = env["tmp"] / "brainio" / hashlib.sha1(PAYLOAD).hexdigest()
    brainio.mkdir(parents=True)
    (brainio / "assy.nc").write_bytes(PAYLOAD)
    assert resolve("toy", "brainio", download=False) == brainio / "assy.nc"
    mine = env["tmp"] / "mydata" / "deep"
    mine.mkdir(parents=True)
    (mine / "assy.nc").write_bytes(PAYLOAD)
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(env["tmp"] / "mydata"))
    assert resolve("toy", "brainio", download=False) == mine / "assy.nc"


def test_corrupt_local_file_is_reported_not_used(env, monkeypatch):
    mine = env["tmp"] / "mydata"
    mine.mkdir()
    (mine / "good.bin").write_bytes(PAYLOAD[:-1] + b"x")
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(mine))
    with pytest.raises(DataError, match="checksum mismatch"):
        resolve("toy", "good")


def test_cli_fetch_and_verify(env, capsys):
    assert cli_main(["data", "fetch", "toy/good", "--quiet"]) == 0
    assert cli_main(["data", "verify", "toy"]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "toy/good" in out
    (env["cache"] / "good.bin").write_bytes(b"corrupt")
    assert cli_main(["data", "verify", "toy/good"]) == 1
    assert cli_main(["data", "fetch", "toy/down", "--quiet"]) == 1
