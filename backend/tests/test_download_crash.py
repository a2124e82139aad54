"""A download is complete only when every file is (issue 16, point 6): SIGKILL mid-download, restart, resume.

The server (`python -m atelier`, real catalog) downloads from a fake Hugging Face hub on loopback
(HF_ENDPOINT), a small HTTP server that answers the calls huggingface_hub makes: the repo listing
(`/api/models/{repo}/revision/{rev}`) and `HEAD`/`GET /{repo}/resolve/{rev}/{file}` with ETags,
commit and size headers and byte ranges. It stops sending the weights half-way, the server is
killed with SIGKILL there, and a new server on the same cache must say "partial", refuse to load
the model (409, not a 500), and finish the download from where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from servers import ServerProcess, free_port

REPO = "HuggingFaceTB/SmolVLM-256M-Instruct"
MODEL = "smolvlm-256m"
COMMIT = "5a1e" * 10
WEIGHTS = bytes(range(256)) * (96 * 1024)  # 24 MiB
BIG = "model-00002-of-00002.safetensors"
FILES = {
    "config.json": b'{"model_type": "idefics3"}',
    "tokenizer.json": b'{"version": "1.0"}',
    # Sharded weights: the small shard arrives whole, so a look at the snapshot folder alone (the
    # old check: config.json and a .safetensors) says "downloaded" while the big one is cut short.
    "model-00001-of-00002.safetensors": b"\x00" * 4096,
    BIG: WEIGHTS,
    "README.md": b"# not fetched",
}
LFS = {"model-00001-of-00002.safetensors", BIG}
# Bytes of the weights sent before the hub stalls: past huggingface_hub's 10 MB write chunk, so
# that some of them are on disk when the server dies.
HOLD_AFTER = 12 * 1024 * 1024


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.stall = threading.Event()  # set: the weights stop at HOLD_AFTER until `release`
        self.release = threading.Event()
        self.stalled = threading.Event()
        self.ranges: list[str | None] = []  # Range headers of the weights' GETs

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if re.match(rf"^/api/models/{re.escape(REPO)}(/revision/[^/]+)?$", path):
            siblings = [{"rfilename": name, "size": len(data), "blobId": _git_blob_id(data),
                         **({"lfs": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                     "pointerSize": 134}} if name in LFS else {})}
                        for name, data in FILES.items()]
            return self._json({"id": REPO, "sha": COMMIT, "private": False, "siblings": siblings})
        m = re.match(rf"^/{re.escape(REPO)}/resolve/[^/]+/(.+)$", path)
        if not m or m.group(1) not in FILES:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            return
        name = m.group(1)
        data = FILES[name]
        start = 0
        rng = self.headers.get("Range")
        if rng and (r := re.match(r"bytes=(\d+)-", rng)):
            start = int(r.group(1))
        if not head and name == BIG:
            self.server.ranges.append(rng)
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", COMMIT)
        if name in LFS:
            self.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("ETag", f'"{_git_blob_id(data)}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if head:
            return
        body = data[start:]
        try:
            if name == BIG and self.server.stall.is_set() and start == 0:
                self.wfile.write(body[:HOLD_AFTER])
                self.wfile.flush()
                self.server.stalled.set()
                self.server.release.wait(60)
                return  # the client is dead by now
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hub():
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()


def _server(hub: FakeHub, hf_home, cwd) -> ServerProcess:
    srv = ServerProcess({"ATELIER_MODELS": "real", "ATELIER_MODELS_DIR": str(cwd / "models"),
                         "ATELIER_DATA_DIR": str(cwd / "data"), "HF_ENDPOINT": hub.url, "HF_HOME": str(hf_home),
                         "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1",
                         "HF_HUB_DISABLE_TELEMETRY": "1", "ATELIER_NSFW_DETECTOR": "off"}, cwd=cwd)
    srv.wait_ready()
    return srv


def _model(url: str) -> dict:
    return httpx.get(f"{url}/v1/models/{MODEL}", timeout=30).json()


def test_sigkill_mid_download_leaves_a_partial_model_that_resumes(hub, tmp_path):
    hf_home, cwd = tmp_path / "hf", tmp_path / "cwd"
    cwd.mkdir()
    repo_cache = hf_home / "hub" / f"models--{REPO.replace('/', '--')}"
    hub.stall.set()

    first = _server(hub, hf_home, cwd)
    try:
        r = httpx.post(f"{first.url}/v1/models/{MODEL}/download", timeout=30)
        assert r.status_code == 202, r.text
        assert hub.stalled.wait(60), "the download never reached the weights"
        time.sleep(0.3)  # the first megabyte is on disk
    finally:
        first.kill()  # SIGKILL: no shutdown handler runs
        first.stop()
    hub.stall.clear()
    hub.release.set()
    assert list((repo_cache / "blobs").glob("*.incomplete")), "the weights were not interrupted mid-file"

    second = _server(hub, hf_home, cwd)
    try:
        url = second.url
        assert _model(url)["downloaded"] is False
        row = next(m for m in httpx.get(f"{url}/v1/status", timeout=30).json()["models"] if m["id"] == MODEL)
        assert row["state"] == "not_downloaded"
        assert 0 < row["partial_download"]["bytes_done"] < row["partial_download"]["bytes_total"], row
        progress = httpx.get(f"{url}/v1/models/{MODEL}/download", timeout=30).json()
        assert progress["state"] == "partial", progress
        assert 0 < progress["bytes_done"] < progress["bytes_total"], progress
        chat = httpx.post(f"{url}/v1/chat/completions", timeout=30, json={
            "model": MODEL, "messages": [{"role": "user", "content": "hello"}]})
        assert chat.status_code == 409 and chat.json()["error"]["code"] == "model_not_downloaded", chat.text

        # Resume: the weights continue from the bytes already on disk.
        assert httpx.post(f"{url}/v1/models/{MODEL}/download", timeout=30).status_code == 202
        deadline = time.time() + 60
        while time.time() < deadline:
            progress = httpx.get(f"{url}/v1/models/{MODEL}/download", timeout=30).json()
            if progress["state"] in ("done", "error"):
                break
            time.sleep(0.1)
        assert progress["state"] == "done", progress
        resumed = [r for r in hub.ranges[1:] if r]
        assert resumed and int(re.match(r"bytes=(\d+)-", resumed[-1]).group(1)) >= HOLD_AFTER // 2, hub.ranges
        assert _model(url)["downloaded"] is True
        assert not list((repo_cache / "blobs").glob("*.incomplete"))
        record = json.loads(next(repo_cache.glob(".atelier-install-*.json")).read_text())
        assert record["state"] == "complete" and set(record["files"]) == set(FILES) - {"README.md"}
    finally:
        second.stop()
