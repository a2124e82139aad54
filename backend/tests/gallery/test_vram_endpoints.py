"""GET /v1/status, POST /v1/model/switch, /v1/model/unload and /v1/vram/mode, on an app whose
manager serves tiny real models behind a simulated card."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from atelier.api.deps import Services
from atelier.engine.worker import GPUWorker
from conftest import TESTCLIENT_HOST
from tests.engine.test_vram_manager import SPECS, make_manager, tiny_dir  # noqa: F401 - fixture


@pytest.fixture
def app_client(tiny_dir, monkeypatch, tmp_path):  # noqa: F811
    import atelier.main as main

    mgr, fam, _ = make_manager(tiny_dir, mode="balanced")
    settings = mgr.settings.model_copy(update={"ui_dir": tmp_path, "api_key": None, "allowed_hosts": [TESTCLIENT_HOST]})
    mgr.settings = settings

    def build(_settings):
        worker = GPUWorker(max_queue=8, idle_hook=mgr.evict_expired, idle_interval=0.05)
        return Services(settings=settings, catalog=mgr.catalog, manager=mgr, worker=worker)

    monkeypatch.setattr(main, "build_services", build)
    with TestClient(main.create_app(settings)) as c:
        yield c, mgr


def test_status_reports_device_mode_models_and_queue(app_client):
    client, _ = app_client
    body = client.get("/v1/status").json()
    assert body["object"] == "status" and isinstance(body["version"], str)
    dev = body["device"]
    assert dev["type"] == "cuda" and dev["name"] == "Simulated card"
    assert dev["total_bytes"] >= dev["free_bytes"] >= 0 and dev["used_bytes"] == dev["total_bytes"] - dev["free_bytes"]
    assert body["mode"] == {"configured": "balanced", "effective": "balanced", "reason": "ATELIER_VRAM_MODE=balanced",
                            "pending": None}
    assert {m["id"] for m in body["models"]} == {s.id for s in SPECS}
    for m in body["models"]:
        assert set(m) >= {"id", "kind", "state", "dtype", "quantization", "bytes", "last_used", "expires_at"}
        assert m["state"] in ("not_downloaded", "on_disk", "in_ram", "on_gpu", "offloaded")
    assert set(body["queue"]) >= {"running", "queued", "max_queue", "completed"}
    assert body["ram_cache"]["budget_bytes"] > 0


def test_status_tells_how_a_model_not_loaded_would_be_placed(app_client):
    client, _ = app_client
    row = next(m for m in client.get("/v1/status").json()["models"] if m["id"] == "a")
    assert row["state"] == "on_disk" and row["bytes"] == {}
    planned = row["planned"]
    assert planned["gpu_bytes"] > 0 and planned["fits"] is True
    placement = client.post("/v1/model/switch", json={"model_id": "a"}).json()["placement"]
    assert {k: planned[k] for k in placement} == placement
    loaded = next(m for m in client.get("/v1/status").json()["models"] if m["id"] == "a")
    assert "planned" not in loaded


def test_switch_preloads_with_timings_then_unload_frees(app_client):
    client, mgr = app_client
    r = client.post("/v1/model/switch", json={"model_id": "a"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "a" and body["source"] == "disk" and body["load_ms"] > 0
    assert body["placement"]["dtype"] == "float16" and body["plan"]
    row = next(m for m in client.get("/v1/status").json()["models"] if m["id"] == "a")
    assert row["state"] == "on_gpu" and sum(row["bytes"].values()) > 0 and row["last_used"]

    again = client.post("/v1/model/switch", json={"model_id": "a"}).json()
    assert again["source"] == "gpu" and again["load_ms"] == 0

    client.post("/v1/model/switch", json={"model_id": "b"})
    r = client.post("/v1/model/unload", json={"model_id": "a"})
    assert r.json() == {"object": "model.unload", "unloaded": ["a"]}
    r = client.post("/v1/model/unload")
    assert r.json()["unloaded"] == ["b"]
    assert all(m["state"] in ("on_disk", "not_downloaded") for m in client.get("/v1/status").json()["models"])


def test_switch_unknown_model_is_404_in_the_envelope(app_client):
    client, _ = app_client
    r = client.post("/v1/model/switch", json={"model_id": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_vram_mode_switch_applies_and_validates(app_client):
    client, mgr = app_client
    client.post("/v1/model/switch", json={"model_id": "a"})
    r = client.post("/v1/vram/mode", json={"mode": "low"})
    assert r.status_code == 200 and r.json()["configured"] == "low" and r.json()["effective"] == "low"
    assert mgr.tier("a") == "ram"  # left the GPU at the switch
    assert client.get("/v1/status").json()["mode"]["configured"] == "low"
    bad = client.post("/v1/vram/mode", json={"mode": "turbo"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "mode"
