"""Access (issue 9, point 1): the API key on every /v1 route, the start-up warning, CORS, no shell.

Most of these need no model: the key check and CORS answer before any route runs, so the app is
built without running its lifespan (no worker, no tiny models) and each test takes milliseconds.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from atelier.core.config import Settings
from atelier.main import create_app, is_loopback
from conftest import TESTCLIENT_HOST

KEY = "s3cret-key-for-tests"
PACKAGE = Path(__file__).resolve().parents[1] / "atelier"


def _settings(tmp_path, **kw) -> Settings:
    return Settings(models="tiny", models_dir=tmp_path / "models", data_dir=tmp_path / "data",
                    ui_dir=tmp_path / "ui", _env_file=None,
                    **{"allowed_hosts": [TESTCLIENT_HOST], **kw})


def _routes(app):
    """Every route the app serves, with included routers flattened (FastAPI >= 0.16x keeps them
    as `_IncludedRouter` entries in app.routes; `iter_route_contexts` resolves their prefixes)."""
    from fastapi import routing

    if hasattr(routing, "iter_route_contexts"):
        return list(routing.iter_route_contexts(app.routes))
    return [r for r in app.routes if isinstance(r, APIRoute)]


def _v1_operations(app) -> list[tuple[str, str]]:
    ops = []
    for route in _routes(app):
        path, methods = route.path, route.methods
        if path and methods and path.startswith("/v1"):
            path = re.sub(r"\{[^}]+\}", "some-id", path)
            ops += [(method, path) for method in sorted(methods - {"HEAD"})]
    return ops


def assert_envelope(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


@pytest.fixture
def keyed_app(tmp_path):
    return create_app(_settings(tmp_path, api_key=KEY))


def test_every_v1_route_refuses_requests_without_the_key(keyed_app):
    ops = _v1_operations(keyed_app)
    assert len(ops) >= 15, ops  # the routers are all mounted: a route list this short means a router went missing
    c = TestClient(keyed_app)  # no lifespan: the guard answers before any route would need services
    for method, path in ops:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
                        {"Authorization": f"Basic {KEY}"}, {"Authorization": f"Bearer {KEY} "}):
            r = c.request(method, path, headers=headers, json={})
            err = assert_envelope(r, 401, "invalid_api_key")
            assert err["type"] == "authentication_error", (method, path)
            assert r.headers.get("x-should-retry") == "false"


def test_every_operation_in_the_schema_is_under_v1(keyed_app):
    # The key guards /v1 only; an API route published elsewhere would be unguarded.
    paths = keyed_app.openapi()["paths"]
    assert paths and all(p.startswith("/v1/") for p in paths), sorted(paths)


def test_the_right_key_is_let_through(tiny_settings):
    with TestClient(create_app(tiny_settings.model_copy(update={"api_key": KEY}))) as c:
        assert c.get("/v1/status", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert c.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        # The UI itself (not /v1) loads without a key: it asks the user for one.
        assert c.get("/").status_code == 200


def test_without_a_key_configured_v1_is_open(tmp_path):
    # No lifespan here, so the route itself fails for want of services: what matters is that the
    # request got past the (absent) key check.
    c = TestClient(create_app(_settings(tmp_path)), raise_server_exceptions=False)
    assert c.get("/v1/jobs/nope").status_code != 401


def test_v1_paths_cannot_dodge_the_guard_through_the_ui_fallback(keyed_app):
    c = TestClient(keyed_app)
    for path in ("/v1/", "/v1", "/v1/no-such-route", "/v1/../v1/status", "/v1/%2e%2e/v1/status"):
        assert c.get(path).status_code == 401, path
    # Other spellings never reach an API route: the SPA fallback answers them (no data).
    for path in ("/V1/status", "//v1/status"):
        r = c.get(path)
        assert r.status_code in (200, 404) and "queue" not in r.text, path


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("atelier.lan", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_startup_warns_when_listening_beyond_loopback_without_a_key(tiny_settings, caplog):
    caplog.set_level(logging.WARNING, logger="atelier")
    with TestClient(create_app(tiny_settings.model_copy(update={"host": "0.0.0.0", "api_key": None}))):
        pass
    assert any("without ATELIER_API_KEY" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with TestClient(create_app(tiny_settings.model_copy(update={"host": "0.0.0.0", "api_key": KEY}))):
        pass
    with TestClient(create_app(tiny_settings.model_copy(update={"host": "127.0.0.1", "api_key": None}))):
        pass
    assert not any("without ATELIER_API_KEY" in r.getMessage() for r in caplog.records)


def _preflight(c: TestClient, origin: str):
    return c.options("/v1/status", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization, content-type"})


def test_cors_allows_only_configured_origins(tmp_path):
    app = create_app(_settings(tmp_path, cors_origins=["http://ui.lan:5173"], api_key=KEY))
    c = TestClient(app)
    ok = _preflight(c, "http://ui.lan:5173")
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://ui.lan:5173"
    for origin in ("http://evil.example", "http://ui.lan:5174", "null", "http://ui.lan:5173.evil.example"):
        r = _preflight(c, origin)
        assert "access-control-allow-origin" not in r.headers, origin
        simple = c.get("/v1/status", headers={"Origin": origin, "Authorization": "Bearer wrong"})
        assert "access-control-allow-origin" not in simple.headers, origin
    # A refused key still answers with CORS headers for the allowed origin, so the UI can say "wrong key".
    r = c.get("/v1/status", headers={"Origin": "http://ui.lan:5173"})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "http://ui.lan:5173"


def test_no_cors_headers_for_other_sites_by_default(tmp_path):
    c = TestClient(create_app(_settings(tmp_path)))
    r = _preflight(c, "http://evil.example")
    assert "access-control-allow-origin" not in r.headers
    assert_envelope(r, 403, "forbidden")  # the Origin check (test_cross_site.py) answers first


# Modules and call names that run programs or install packages. The package may use none of them:
# no endpoint may run shell commands, pip or npm (the reference project did all three).
FORBIDDEN_IMPORTS = {"subprocess", "pty", "shlex", "multiprocessing", "pip", "ensurepip", "runpy", "ctypes"}
FORBIDDEN_CALLS = {"system", "popen", "spawnl", "spawnle", "spawnlp", "spawnv", "spawnve", "spawnvp",
                   "execl", "execle", "execlp", "execv", "execve", "execvp", "execvpe", "fork", "forkpty",
                   "eval", "exec", "__import__", "startfile", "create_subprocess_exec",
                   "create_subprocess_shell"}
# Reviewed exceptions, as "relative/path.py:name". Empty: add one only with a reason beside it.
ALLOWED: set[str] = {
    # malloc_trim(0): hands freed heap pages back to the OS after large jobs (issue 16); no program runs.
    "core/memory.py:ctypes",
}


def test_no_module_runs_shell_commands_or_installs_anything():
    found = []
    for py in sorted(PACKAGE.rglob("*.py")):
        rel = py.relative_to(PACKAGE).as_posix()
        tree = ast.parse(py.read_text(), filename=str(py))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                    names = [node.module]
                elif node.module in ("os", "asyncio"):
                    names = [a.name for a in node.names if a.name in FORBIDDEN_CALLS]
            elif isinstance(node, ast.Call):
                f = node.func
                # os.system(...), asyncio.create_subprocess_shell(...); a bare eval(...)/exec(...).
                # (model.eval() is a method of torch modules, not the builtin.)
                if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                        and f.value.id in ("os", "asyncio", "posix") and f.attr in FORBIDDEN_CALLS):
                    names = [f"{f.value.id}.{f.attr}"]
                elif isinstance(f, ast.Name) and f.id in ("eval", "exec", "__import__"):
                    names = [f.id]
            found += [f"{rel}:{n}" for n in names if f"{rel}:{n}" not in ALLOWED]
    assert not found, f"shell/exec/install primitives in the package: {found}"
    # Nor do strings smuggle them in (e.g. a command line built for a later exec).
    text = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert not re.search(r"\b(pip|npm|apt-get|sudo)\s+install\b", text), "an install command line in the package"


def test_the_api_description_follows_the_key(tmp_path):
    """/docs, /redoc and /openapi.json describe every route: with a key set they want it too."""
    keyed = TestClient(create_app(_settings(tmp_path, api_key=KEY)))
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert_envelope(keyed.get(path), 401, "invalid_api_key")
        assert keyed.get(path, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200, path
    assert keyed.get("/").status_code in (200, 404)  # the UI itself asks the user for the key
    open_app = TestClient(create_app(_settings(tmp_path)))
    assert open_app.get("/openapi.json").status_code == 200


def test_malformed_json_names_the_body_not_a_byte_offset(client):
    r = client.post("/v1/generate", content=b'{"prompt": "a fox", "steps": }', headers={"Content-Type": "application/json"})
    err = assert_envelope(r, 400, "invalid_parameter")
    assert err["param"] == "body", err
    assert "not valid JSON" in err["message"], err
