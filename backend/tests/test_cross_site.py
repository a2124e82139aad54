"""Cross-site requests and DNS rebinding (issue 16, point 1): Origin and Host checks, body types.

A keyless server (the default on loopback) must not do anything for a page on another site or for
a page whose name was re-pointed at us. The checks answer before any route, for every route.
"""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from atelier.api.site_guard import SitePolicy
from atelier.core.config import Settings
from atelier.main import create_app
from conftest import TESTCLIENT_HOST
from test_access import assert_envelope

EVIL = "http://evil.example"


def _settings(tmp_path, **kw) -> Settings:
    return Settings(models="tiny", models_dir=tmp_path / "models", data_dir=tmp_path / "data",
                    ui_dir=tmp_path / "ui", _env_file=None, **kw)


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _jobs(client) -> int:
    return len(client.app.state.services.worker._jobs)


# ---------------------------------------------------------------------------- another site's page
def test_simple_cross_site_requests_are_refused_and_run_nothing(client):
    """What a page on another site can send without a preflight: text/plain, no body, a form."""
    before = _jobs(client)
    refused = [
        client.post("/v1/model/unload", content=b'{"model_id": null}',
                    headers={"Origin": EVIL, "Content-Type": "text/plain"}),
        client.post("/v1/models/tiny-sdxl/download", headers={"Origin": EVIL}),
        client.post("/v1/images/edits", headers={"Origin": EVIL},
                    files={"image": ("a.png", _png(), "image/png")}, data={"prompt": "a red fox"}),
        client.post("/v1/generate", json={"prompt": "a red fox", "steps": 1, "width": 64, "height": 64},
                    headers={"Origin": EVIL}),
        client.delete("/v1/jobs/job_x", headers={"Origin": "null"}),
        client.get("/v1/status", headers={"Origin": EVIL}),
    ]
    for r in refused:
        err = assert_envelope(r, 403, "forbidden")
        assert err["param"] == "Origin"
        assert "access-control-allow-origin" not in r.headers
    assert _jobs(client) == before  # not one job queued


def test_bodies_a_browser_sends_without_a_preflight_are_refused_even_without_an_origin(client):
    before = _jobs(client)
    for headers, body in [({"Content-Type": "text/plain"}, b"{}"),
                          ({"Content-Type": "application/x-www-form-urlencoded"}, b"model_id=x"),
                          ({}, b'{"model_id": "tiny-vlm"}')]:  # no Content-Type: FastAPI would parse it as JSON
        r = client.post("/v1/model/unload", content=body, headers=headers)
        err = assert_envelope(r, 415, "unsupported_media_type")
        assert err["param"] == "Content-Type"
    # multipart reaches only the route whose schema declares it
    r = client.post("/v1/model/unload", files={"f": ("a.txt", b"x", "text/plain")})
    assert_envelope(r, 415, "unsupported_media_type")
    r = client.post("/v1/images/edits", files={"mask": ("m.png", _png(), "image/png")}, data={"prompt": "x"})
    assert_envelope(r, 400, "invalid_image")  # past the guard: the route itself says what is missing
    assert _jobs(client) == before
    # The same calls as the UI and the OpenAI clients make them still work.
    assert client.post("/v1/model/unload", json={}).status_code == 200
    assert client.post("/v1/model/unload").status_code == 200  # no body at all


def test_the_served_ui_and_local_dev_servers_may_call(client):
    for origin, host in [("http://testserver", TESTCLIENT_HOST),  # same origin as the request's Host
                         ("http://127.0.0.1:8080", "127.0.0.1:8080"),
                         ("http://localhost:5173", None),  # `make dev`: Vite on loopback
                         ("http://127.0.0.1:4173", None), ("http://[::1]:3000", None)]:
        headers = {"Origin": origin, **({"Host": host} if host else {})}
        r = client.post("/v1/model/unload", json={}, headers=headers)
        assert r.status_code == 200, (origin, r.text)


# ---------------------------------------------------------------------------- DNS rebinding
REBIND = ["rebind.attacker.example", "rebind.attacker.example:8080", "127.0.0.1.nip.io", "localhost.attacker.example",
          "attacker.example.", "evil.com:80", "nas.local", "nas"]


@pytest.mark.parametrize("host", REBIND)
def test_a_loopback_server_answers_only_to_loopback_names(client, host):
    before = _jobs(client)
    for r in (client.get("/v1/status", headers={"Host": host}),
              client.post("/v1/model/unload", json={}, headers={"Host": host}),
              client.get("/", headers={"Host": host})):
        err = assert_envelope(r, 403, "forbidden")
        assert err["param"] == "Host"
    assert _jobs(client) == before


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "atelier.localhost:8080",
                                  "192.168.1.20:8080", "10.0.0.5"])
def test_loopback_names_and_addresses_are_answered(client, host):
    assert client.get("/v1/status", headers={"Host": host}).status_code == 200


def test_lan_names_and_configured_hosts_when_listening_beyond_loopback(tmp_path):
    lan = SitePolicy(_settings(tmp_path, host="0.0.0.0", allowed_hosts=["atelier.example.com", "*.example.org"]))
    for ok in ("nas", "nas:8080", "nas.local", "NAS.LAN:8080", "box.home.arpa", "gpu.internal", "srv.localdomain",
               "192.168.1.20:8080", "[fd00::1]:8080", "atelier.example.com", "a.example.org", "localhost"):
        assert lan.host_allowed(ok), ok
    for bad in ("rebind.attacker.example", "example.org.evil.com", "evil-example.org", "atelier.example.com.evil.io"):
        assert not lan.host_allowed(bad), bad
    loop = SitePolicy(_settings(tmp_path, host="127.0.0.1"))
    assert not loop.host_allowed("nas.local") and not loop.host_allowed("nas")
    anything = SitePolicy(_settings(tmp_path, host="127.0.0.1", allowed_hosts=["*"]))
    assert anything.host_allowed("rebind.attacker.example")
    # Same origin behind a TLS proxy that keeps the Host header (DEPLOYMENT.md's nginx and Caddy do).
    assert lan.origin_allowed("https://atelier.example.com", "atelier.example.com")
    assert not lan.origin_allowed("https://atelier.example.com", "127.0.0.1:8080")


# ---------------------------------------------------------------------------- CORS agrees with the check
ORIGINS = ["http://ui.lan:5173", "http://localhost:5173", "http://127.0.0.1:9999", "http://[::1]:5173",
           "http://app.localhost:3000", EVIL, "null", "http://ui.lan:5174", "http://ui.lan:5173.evil.example",
           "http://localhost.evil.example", "http://127.0.0.1.evil.example:5173", "file://", "http://192.168.1.7:5173"]


def test_cors_allows_exactly_the_origins_the_check_lets_through(tmp_path):
    settings = _settings(tmp_path, cors_origins=["http://ui.lan:5173"], allowed_hosts=[TESTCLIENT_HOST])
    c = TestClient(create_app(settings))  # no lifespan: both answers come before any route
    policy = SitePolicy(settings)
    allowed = []
    for origin in ORIGINS:
        pre = c.options("/v1/generate", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "authorization, content-type"})
        cors = pre.headers.get("access-control-allow-origin") == origin
        assert cors == policy.origin_allowed(origin, "somewhere.else:8080"), origin
        assert cors == (pre.status_code == 200), (origin, pre.status_code)
        if cors:
            allowed.append(origin)
        else:
            assert_envelope(pre, 403, "forbidden")
    assert allowed == ["http://ui.lan:5173", "http://localhost:5173", "http://127.0.0.1:9999", "http://[::1]:5173",
                       "http://app.localhost:3000"]
