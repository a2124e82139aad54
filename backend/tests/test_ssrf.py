"""Server-side request forgery (issue 9, point 4), on loopback only.

Remote image URLs are off by default; when on, no address form that reaches this machine, the
LAN or a cloud metadata service is fetched: IP literals in every spelling, DNS names that resolve
to them, redirects to them, IPv6 embeddings. Size and time are bounded. Every "internal" server
here is a loopback server that counts its hits: a refused URL must leave it at zero.

To exercise the fetch itself, one loopback address (127.0.0.2) is declared public for a test;
everything else keeps the production rule.
"""

from __future__ import annotations

import asyncio
import gzip
import http.server
import threading
import time

import pytest
from fastapi.testclient import TestClient

from atelier.core import remote_images as ri
from atelier.core.errors import InvalidImage, PayloadTooLarge
from atelier.main import create_app
from conftest import png_data_url

PNG = __import__("base64").b64decode(png_data_url().split(",", 1)[1])
PUBLIC_FOR_TESTS = "127.0.0.2"


class Recorder(http.server.BaseHTTPRequestHandler):
    """/img.png, /big (no Content-Length), /huge (declared), /gzip, /trickle, /redirect?to=URL."""

    def do_GET(self):
        self.server.hits.append((self.path, self.headers.get("Host")))
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.removeprefix("to="))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/img.png":
            self._send(PNG)
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
        elif path == "/big":  # no Content-Length: streamed until the client gives up
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b"\x00" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/gzip":  # ignores Accept-Encoding: identity; 60 KB that inflate to 60 MB
            body = gzip.compress(b"\x00" * 60_000_000, 9)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/trickle":  # headers at once, then one byte every 100 ms, forever
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"\x00")
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self.send_error(404)

    def _send(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _start(host: str):
    srv = http.server.ThreadingHTTPServer((host, 0), Recorder)
    srv.daemon_threads = True
    srv.hits = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def internal():
    """A service on 127.0.0.1 that no fetch may ever reach."""
    srv = _start("127.0.0.1")
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def public():
    """The stand-in for a public server, on 127.0.0.2."""
    srv = _start(PUBLIC_FOR_TESTS)
    yield srv
    srv.shutdown()


@pytest.fixture
def one_public_address(monkeypatch):
    real = ri.is_public_address
    monkeypatch.setattr(ri, "is_public_address", lambda ip: ip == PUBLIC_FOR_TESTS or real(ip))


def fetch(url: str, *, max_bytes: int = 10**6, timeout: float = 5.0) -> bytes:
    return asyncio.run(ri.fetch_image_bytes(url, max_bytes=max_bytes, timeout=timeout))


def _port(srv) -> int:
    return srv.server_address[1]


# ----------------------------------------------------------------------------- off by default
def test_remote_images_are_off_by_default(client, internal):
    from atelier.core.config import Settings

    assert Settings(_env_file=None).allow_remote_images is False
    url = f"http://127.0.0.1:{_port(internal)}/img.png"
    before = len(internal.hits)
    r = client.post("/v1/analyze", json={"image": url, "tasks": ["nsfw"]})
    assert r.status_code == 400 and "ATELIER_ALLOW_REMOTE_IMAGES" in r.json()["error"]["message"]
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}]}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image"
    # Generation inputs never take URLs, whatever the setting.
    r = client.post("/v1/generate", json={"prompt": "x", "image": url})
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"
    assert len(internal.hits) == before


# ----------------------------------------------------------------------------- address forms
def _literal_urls(port: int) -> list[str]:
    hosts = [
        "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0", "0.0.0.0", "localhost",
        "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[2002:7f00:1::]", "[64:ff9b::7f00:1]",
        "[::]", "[fe80::1]", "[fd00::1]", "[fec0::1]",
        "169.254.169.254", "[fd00:ec2::254]", "100.100.100.200", "[::ffff:a9fe:a9fe]",  # cloud metadata
        "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "198.18.0.1", "224.0.0.1", "255.255.255.255",
    ]
    return [f"http://{h}:{port}/img.png" for h in hosts]


def test_no_spelling_of_a_private_address_is_fetched(internal):
    before = len(internal.hits)
    for url in _literal_urls(_port(internal)):
        with pytest.raises(InvalidImage) as exc:
            fetch(url, timeout=3)
        assert "non-public" in exc.value.message or "could not resolve" in exc.value.message, (url, exc.value.message)
    assert len(internal.hits) == before, internal.hits[before:]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x",
                                 "http://user:pw@example.com/x.png", "http:///x.png", "//example.com/x.png"])
def test_other_schemes_and_credentials_are_refused(url):
    with pytest.raises(InvalidImage):
        fetch(url, timeout=2)


def test_dns_names_resolving_to_private_addresses_are_refused(monkeypatch, internal):
    answers = {"intranet.example": ["10.0.0.7"], "metadata.example": ["169.254.169.254"],
               "mixed.example": ["93.184.216.34", "127.0.0.1"], "v6.example": ["::1"],
               "rebind.example": ["127.0.0.1"]}

    async def fake_resolve(host, port):
        return answers[host]

    monkeypatch.setattr(ri, "_resolve", fake_resolve)
    before = len(internal.hits)
    for host in answers:
        with pytest.raises(InvalidImage, match="non-public"):
            fetch(f"http://{host}:{_port(internal)}/img.png")
    assert len(internal.hits) == before


def test_the_connection_goes_to_the_checked_address(monkeypatch, public, one_public_address):
    """No DNS-rebinding window: the name is resolved once, checked, and that address is dialled
    (with the original Host header), so a second lookup cannot swap in 127.0.0.1."""
    calls = []

    async def resolve_once_then_rebind(host, port):
        calls.append(host)
        return [PUBLIC_FOR_TESTS] if len(calls) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(ri, "_resolve", resolve_once_then_rebind)
    url = f"http://images.example:{_port(public)}/img.png"
    assert fetch(url) == PNG
    assert calls == ["images.example"]
    assert public.hits[-1] == ("/img.png", f"images.example:{_port(public)}")


def test_redirects_to_private_addresses_are_refused(public, internal, one_public_address):
    base = f"http://{PUBLIC_FOR_TESTS}:{_port(public)}"
    assert fetch(f"{base}/redirect?to=/img.png") == PNG  # a redirect that stays public is followed
    before = len(internal.hits)
    for target in (f"http://127.0.0.1:{_port(internal)}/img.png", f"http://localhost:{_port(internal)}/img.png",
                   f"http://[::1]:{_port(internal)}/img.png", "http://169.254.169.254/latest/meta-data/",
                   "http://[::ffff:169.254.169.254]/latest/meta-data/", "file:///etc/passwd"):
        with pytest.raises(InvalidImage):
            fetch(f"{base}/redirect?to={target}")
    assert len(internal.hits) == before


def test_redirect_chains_are_bounded(public, one_public_address):
    base = f"http://{PUBLIC_FOR_TESTS}:{_port(public)}"
    url = f"{base}/img.png"
    for _ in range(ri.MAX_REDIRECTS + 1):
        url = f"{base}/redirect?to={url}"
    with pytest.raises(InvalidImage, match="redirected more than"):
        fetch(url)


# ----------------------------------------------------------------------------- size and time
def test_size_is_bounded_declared_or_streamed_or_compressed(public, one_public_address):
    base = f"http://{PUBLIC_FOR_TESTS}:{_port(public)}"
    with pytest.raises(PayloadTooLarge):
        fetch(f"{base}/huge", max_bytes=10**6)
    t0 = time.monotonic()
    with pytest.raises(PayloadTooLarge):
        fetch(f"{base}/big", max_bytes=10**6)  # 26 MB offered without a length: cut after ~1 MB
    assert time.monotonic() - t0 < 5
    with pytest.raises(InvalidImage, match="gzip"):
        fetch(f"{base}/gzip", max_bytes=10**6)  # never inflated


def test_time_is_bounded_even_for_a_trickling_server(public, one_public_address):
    t0 = time.monotonic()
    with pytest.raises(InvalidImage, match="longer than"):
        fetch(f"http://{PUBLIC_FOR_TESTS}:{_port(public)}/trickle", timeout=0.5)
    assert time.monotonic() - t0 < 2.0


# ----------------------------------------------------------------------------- through the API
def test_api_with_remote_images_on(tiny_settings, internal, public, one_public_address):
    settings = tiny_settings.model_copy(update={"allow_remote_images": True, "remote_image_max_mb": 0.5,
                                                "remote_image_timeout": 1.0})
    before = len(internal.hits)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/analyze", json={"image": f"http://127.0.0.1:{_port(internal)}/img.png", "tasks": ["nsfw"]})
        assert r.status_code == 400 and "non-public" in r.json()["error"]["message"]
        r = c.post("/v1/analyze", json={"image": "http://169.254.169.254/latest/meta-data/", "tasks": ["nsfw"]})
        assert r.status_code == 400
        base = f"http://{PUBLIC_FOR_TESTS}:{_port(public)}"
        r = c.post("/v1/analyze", json={"image": f"{base}/img.png", "tasks": ["nsfw"]})
        assert r.status_code == 200, r.text
        r = c.post("/v1/analyze", json={"image": f"{base}/big", "tasks": ["nsfw"]})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        r = c.post("/v1/analyze", json={"image": f"{base}/trickle", "tasks": ["nsfw"]})
        assert r.status_code == 400 and "ATELIER_REMOTE_IMAGE_TIMEOUT" in r.json()["error"]["message"]
    assert len(internal.hits) == before
