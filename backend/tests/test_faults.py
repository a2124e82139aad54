"""Faults (issue 9, point 7, backend part): a SIGKILL mid-job, and an out-of-memory error mid-job.

(a) The server process is killed with SIGKILL while a generation is at its denoising steps
    (no shutdown handler runs, as with a power cut or the kernel's OOM killer). Restarted on the
    same folders it comes back clean: /v1/status healthy, queue empty, nothing half-written in the
    models or data folders (no new, changed or partial files), and it generates again. Jobs are
    held in memory by design (the gallery lives in the browser), so the killed job is gone (404),
    not resurrected half-done.
(b) An out-of-memory error raised by the pipeline on its first call, through a real HTTP request:
    the VRAM manager's recovery (free caches, evict, tile the VAE, drop a mode, retry once) turns
    it into a 200; a second OOM on the retry becomes a 503 `out_of_memory` envelope with
    `x-should-retry: false` (the clients would otherwise send the same doomed job three times).
    Either way the process keeps serving: the reference project restarted itself on OOM.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import torch
from fastapi.testclient import TestClient

from atelier.main import create_app
from servers import ServerProcess

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".incomplete", ".lock.tmp", "~")


def _tree(*roots: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of every file under the roots (the lock file's mtime excluded).

    The library's database (`<data>/library/`) is left out: the server opens it at start-up, so it
    changes whatever a generation does, and SQLite's WAL is what keeps it whole through a SIGKILL
    (tests/library/test_library_faults.py kills the server mid-upload and checks it)."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and "library" not in p.relative_to(root).parts[:1]:
                st = p.stat()
                out[str(p)] = (st.st_size, 0 if p.name == ".lock" else st.st_mtime_ns)
    return out


def _wait_for_step(url: str, job_id: str, timeout: float = 90) -> dict:
    """Follow the job's SSE events until it reports a denoising step."""
    with httpx.stream("GET", f"{url}/v1/jobs/{job_id}/events", timeout=timeout) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data:"):
                ev = json.loads(line[5:])
                if ev["type"] == "step":
                    return ev
                assert ev["type"] not in ("done", "error", "cancelled"), ev
    raise AssertionError("the job never reached a step")


def test_sigkill_mid_generation_leaves_nothing_half_written(tiny_models_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env = {"ATELIER_MODELS": "tiny", "ATELIER_MODELS_DIR": str(tiny_models_dir), "ATELIER_DATA_DIR": str(data),
           "ATELIER_MODEL_TTL": "0"}
    before = _tree(tiny_models_dir, data)

    srv = ServerProcess(env, cwd=tmp_path)
    try:
        srv.wait_ready()
        # Long enough to be killed in the middle: 30 steps at 384x384 on the tiny SDXL.
        r = httpx.post(srv.url + "/v1/jobs", json={"prompt": "a lighthouse", "width": 384, "height": 384,
                                                   "steps": 30, "seed": 1}, timeout=30)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        ev = _wait_for_step(srv.url, job_id)
        assert ev["step"] < ev["total"]
        srv.kill()
        assert srv.proc.returncode == -9
    finally:
        srv.stop()

    after_kill = _tree(tiny_models_dir, data)
    assert after_kill == before, {k: v for k, v in after_kill.items() if before.get(k) != v}
    assert not [p for p in after_kill if p.endswith(PARTIAL_SUFFIXES)]

    srv = ServerProcess(env, cwd=tmp_path, port=srv.port)  # same port: what a supervisor restart does
    try:
        srv.wait_ready()
        st = httpx.get(srv.url + "/v1/status", timeout=10).json()
        assert st["queue"]["queued"] == [] and st["queue"]["running"] is None
        assert all(m["state"] != "on_gpu" for m in st["models"])  # a fresh process: nothing loaded yet
        r = httpx.get(f"{srv.url}/v1/jobs/{job_id}", timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = httpx.post(srv.url + "/v1/generate", json={"prompt": "a lighthouse", "seed": 1}, timeout=120)
        assert r.status_code == 200 and len(r.json()["data"]) == 1, r.text
    finally:
        srv.stop()
    assert _tree(tiny_models_dir, data) == before


@pytest.fixture
def oom_client(tiny_settings):
    with TestClient(create_app(tiny_settings.model_copy(update={"vram_mode": "high"}))) as c:
        yield c


def _inject_oom(monkeypatch, times: int) -> list[int]:
    """The diffusers pipeline raises CUDA's OutOfMemoryError on its first `times` calls."""
    from diffusers import StableDiffusionXLPipeline

    real_call = StableDiffusionXLPipeline.__call__
    calls: list[int] = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected by the test)")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionXLPipeline, "__call__", flaky)
    return calls


def test_an_oom_on_the_first_call_is_recovered_and_the_request_succeeds(oom_client, monkeypatch):
    calls = _inject_oom(monkeypatch, times=1)
    r = oom_client.post("/v1/generate", json={"prompt": "a lighthouse", "seed": 3})
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 1 and len(calls) == 2  # failed once, retried once
    st = oom_client.get("/v1/status").json()
    assert st["queue"]["running"] is None and st["queue"]["queued"] == []
    tiny = next(m for m in st["models"] if m["id"] == "tiny-sdxl")
    assert tiny["state"] in ("in_ram", "on_gpu", "offloaded")


def test_an_oom_that_survives_the_retry_is_a_503_and_the_server_keeps_serving(oom_client, monkeypatch):
    calls = _inject_oom(monkeypatch, times=2)
    r = oom_client.post("/v1/generate", json={"prompt": "a lighthouse", "seed": 3})
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "out_of_memory" and err["type"] == "server_error"
    assert r.headers["x-should-retry"] == "false"
    assert "ATELIER_VRAM_MODE=low" in err["message"] or "smaller size" in err["message"], err
    assert len(calls) == 2  # one retry, not a loop
    # Same process, next request: served.
    r = oom_client.post("/v1/generate", json={"prompt": "a lighthouse", "seed": 4})
    assert r.status_code == 200, r.text
    assert oom_client.get("/v1/status").status_code == 200


def test_an_oom_in_a_job_reaches_its_event_stream_as_an_error(oom_client, monkeypatch):
    _inject_oom(monkeypatch, times=2)
    job = oom_client.post("/v1/jobs", json={"prompt": "a lighthouse"}).json()
    deadline = time.time() + 60
    while time.time() < deadline:
        s = oom_client.get(f"/v1/jobs/{job['id']}").json()
        if s["status"] in ("done", "error", "cancelled"):
            break
        time.sleep(0.1)
    assert s["status"] == "error" and s["error"]["code"] == "out_of_memory", s
