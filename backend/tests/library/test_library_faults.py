"""The server killed (SIGKILL) in the middle of uploading a 200-image library, then restarted: the
upload completes, every blob's hash verifies, no partial blob is visible, no record is doubled."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servers import free_port

BACKEND = Path(__file__).resolve().parents[2]
NOW = int(time.time() * 1000)


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "atelier"], cwd=BACKEND, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/library", headers={"Authorization": "Bearer k"}, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def upload(client: httpx.Client, digest: str, data: bytes, piece: int = 64 * 1024, *, on_piece=None) -> None:
    """What the browser's sync engine does: ask HEAD where to start, send the rest in pieces."""
    head = client.head(f"/v1/library/blobs/{digest}")
    if head.status_code == 200:
        return
    offset = int(head.headers["upload-offset"])
    while offset < len(data):
        end = min(offset + piece, len(data))
        body = data[offset:end] if on_piece is None or offset == 0 else on_piece(data[offset:end])
        r = client.put(f"/v1/library/blobs/{digest}", content=body, headers={
            "Content-Type": "image/png", "Content-Range": f"bytes {offset}-{end - 1}/{len(data)}"})
        assert r.status_code in (201, 202), r.text
        offset = end


def sync_all(client, blobs, records, *, kill_at=None, kill=None):
    for i, (digest, data) in enumerate(blobs.items()):
        on_piece = None
        if i == kill_at:
            def on_piece(chunk):  # the server dies with the second piece half sent
                yield chunk[: len(chunk) // 2]
                kill()
                time.sleep(0.2)
                yield chunk[len(chunk) // 2:]
        upload(client, digest, data, on_piece=on_piece)
        if i % 50 == 49:
            batch = records[i - 49: i + 1]
            r = client.post("/v1/library/changes", json={"client_id": "c1", "changes": batch})
            assert r.status_code == 200, r.text


def test_sigkill_mid_upload_of_200_images_loses_nothing_and_doubles_nothing(tmp_path, database_url):
    port = free_port()
    data_dir = tmp_path / "data"
    (tmp_path / "models").mkdir()
    env = {**os.environ, "ATELIER_PORT": str(port), "ATELIER_HOST": "127.0.0.1", "ATELIER_DATA_DIR": str(data_dir),
           "ATELIER_MODELS_DIR": str(tmp_path / "models"), "ATELIER_API_KEY": "k", "ATELIER_UI_DIR": str(tmp_path / "ui"),
           "ATELIER_LOG_LEVEL": "warning", "PYTHONPATH": str(BACKEND)}
    if database_url:
        env["ATELIER_DATABASE_URL"] = database_url
    rng = __import__("random").Random(7)
    blobs = {}
    for _ in range(200):
        data = rng.randbytes(rng.randrange(60_000, 200_000))
        blobs[hashlib.sha256(data).hexdigest()] = data
    records = [{"id": f"img-{i:03d}", "fields": {"hash": h, "name": f"{i}.png", "rating": i % 6},
                "stamps": {"$": f"{NOW:015d}-{i:06d}-c1"}} for i, h in enumerate(blobs)]

    proc = start_server(env, port)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer k"}, timeout=30)
    with pytest.raises(httpx.TransportError):
        sync_all(client, blobs, records, kill_at=120, kill=lambda: os.kill(proc.pid, signal.SIGKILL))
    proc.wait(10)
    client.close()
    # a partial upload exists, and nothing of it is visible as a blob
    assert list((data_dir / "library" / "uploads").glob("*.part"))
    stored = {p.name for p in (data_dir / "library" / "blobs").rglob("*") if p.is_file()}
    assert len(stored) == 120 and stored <= set(blobs)

    proc = start_server(env, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer k"}, timeout=30) as c:
            sync_all(c, blobs, records)  # the whole sync again, as the engine does after a restart
            summary = c.get("/v1/library").json()
            assert summary["records"] == 200 and summary["deleted"] == 0
            pulled, cursor = [], None
            while True:
                page = c.get("/v1/library/changes", params={"limit": 64, **({"since": cursor} if cursor else {})}).json()
                pulled += page["data"]
                cursor = page["cursor"]
                if not page["has_more"]:
                    break
            assert sorted(r["id"] for r in pulled) == [r["id"] for r in records]  # each once
            assert {r["fields"]["hash"] for r in pulled} == set(blobs)
    finally:
        proc.terminate()
        proc.wait(15)
    files = [p for p in (data_dir / "library" / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 200
    for p in files:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    assert list((data_dir / "library" / "uploads").glob("*.part")) == []
