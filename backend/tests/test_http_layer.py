"""The HTTP layer over real sockets (issue 16 point 2, issue 14 point 7): header limits, header and body
timeouts, the connection cap, keep-alive after a 5xx, the UI's headers, HEAD, a NUL in a path.

The server is the one `python -m atelier` runs (api/http_server.py's uvicorn configuration), on
loopback, with a short ATELIER_HEADER_TIMEOUT so that the timeouts show in about a second.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from atelier.main import create_app
from servers import raw_http, serve

TIMEOUT = 1.0  # ATELIER_HEADER_TIMEOUT for this file's server


@pytest.fixture(scope="module")
def server(tiny_settings, tmp_path_factory):
    ui = tmp_path_factory.mktemp("ui-built")
    (ui / "index.html").write_text("<!doctype html><title>Atelier</title>")
    settings = tiny_settings.model_copy(update={"header_timeout": TIMEOUT, "max_connections": 12, "ui_dir": ui})
    app = create_app(settings)
    with serve(app) as url:
        yield {"port": int(url.rsplit(":", 1)[1]), "app": app}


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `seconds`; data it sends first is read."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


# ---------------------------------------------------------------------------- keep-alive after a 5xx
def test_a_5xx_leaves_the_keep_alive_connection_usable(server, monkeypatch):
    services = server["app"].state.services

    def broken():
        raise RuntimeError("a bug in the status page")

    monkeypatch.setattr(services.manager, "status", broken)
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    try:
        for _ in range(2):
            conn.request("GET", "/v1/status")
            r = conn.getresponse()
            body = json.loads(r.read())
            assert r.status == 500 and body["error"]["code"] == "internal_error", body
            assert (r.getheader("connection") or "").lower() != "close"
            sock = conn.sock
            conn.request("GET", "/v1/jobs/job_nope")  # the next request on the same connection
            r = conn.getresponse()
            r.read()
            assert r.status == 404
            assert conn.sock is sock, "the client had to reconnect"
    finally:
        conn.close()


# ---------------------------------------------------------------------------- header limits
def test_a_16_mb_header_is_refused_at_32_kib_while_other_clients_are_served(server):
    port = server["port"]
    results: dict = {}

    def huge() -> None:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        sent = 0
        try:
            s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            chunk = b"a" * 65536
            while sent < 16 * 1024 * 1024:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        results["sent"] = sent
        try:
            results["answer"] = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            results["answer"] = b""
        s.close()

    t = threading.Thread(target=huge)
    t.start()
    status, _, _ = raw_http(port, b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    t.join(30)
    assert status == 200
    assert results["sent"] < 16 * 1024 * 1024, "the server read the whole 16 MB header"
    if results["answer"]:  # a reset can beat the answer to the client; when it arrives it is a 431
        assert results["answer"].startswith(b"HTTP/1.1 431"), results["answer"][:200]


def test_a_complete_head_over_the_limit_is_a_431_envelope(server):
    # 100 KB arriving at once, complete: h11 itself limits only incomplete heads.
    head = b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    status, headers, body = raw_http(server["port"], head)
    assert status == 431
    assert json.loads(body)["error"]["code"] == "headers_too_large"
    status, _, _ = raw_http(server["port"], b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ok: "
                            + b"a" * 20_000 + b"\r\nConnection: close\r\n\r\n")
    assert status == 200  # under the limit


# ---------------------------------------------------------------------------- timeouts
def test_a_connection_that_sends_nothing_is_closed(server):
    with socket.create_connection(("127.0.0.1", server["port"])) as s:
        assert _closed_within(s, TIMEOUT + 3)


def test_a_head_trickling_in_is_closed_at_the_header_timeout(server):
    with socket.create_connection(("127.0.0.1", server["port"])) as s:
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < TIMEOUT + 3:
            try:
                s.sendall(b"X-Slow: 1\r\n")  # a byte now and then resets no timer
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_within(s, 0.2):
                closed = True
                break
        assert closed, "a trickling head kept its connection"


def test_a_stalled_body_is_closed_and_a_keep_alive_connection_idles_out(server):
    with socket.create_connection(("127.0.0.1", server["port"])) as s:
        s.sendall(b"POST /v1/model/unload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{")
        assert _closed_within(s, TIMEOUT + 3)
    with socket.create_connection(("127.0.0.1", server["port"])) as s:
        s.sendall(b"GET /v1/jobs/job_nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(5)
        assert s.recv(65536).startswith(b"HTTP/1.1 404")
        assert _closed_within(s, TIMEOUT + 3)  # the next head never came


def test_connections_past_the_cap_get_a_503_and_are_closed(server):
    cap = server["app"].state.settings.max_connections
    held = [socket.create_connection(("127.0.0.1", server["port"])) for _ in range(cap)]
    try:
        time.sleep(0.2)  # let the server accept them all
        status, headers, body = raw_http(server["port"], b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 503 and headers.get("retry-after")
        assert json.loads(body)["error"]["code"] == "too_many_connections"
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    status, _, _ = raw_http(server["port"], b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 200


# ---------------------------------------------------------------------------- the UI's responses
def test_ui_and_api_responses_carry_security_headers(server):
    for path in ("/", "/some/client/route", "/v1/status", "/v1/jobs/job_nope"):
        conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        assert r.getheader("x-content-type-options") == "nosniff", path
        assert "frame-ancestors 'none'" in (r.getheader("content-security-policy") or ""), path
        conn.close()


def test_head_answers_like_get(server):
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    for path in ("/", "/library"):
        conn.request("GET", path)
        g = conn.getresponse()
        g_body = g.read()
        conn.request("HEAD", path)
        h = conn.getresponse()
        assert h.read() == b""
        assert h.status == g.status == 200, path
        assert h.getheader("content-type") == g.getheader("content-type")
        assert int(h.getheader("content-length")) == len(g_body)
    conn.close()


def test_a_nul_byte_in_a_ui_path_is_a_400(server):
    for path in ("/%00", "/assets%00/x.js", "/a/b%00c"):
        status, _, body = raw_http(server["port"], f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert status == 400, (path, status, body[:200])
        assert json.loads(body)["error"]["param"] == "path"
