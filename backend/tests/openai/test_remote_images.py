"""Remote image URLs: off by default; when on, only public addresses, bounded in size and time."""

import asyncio
import http.server
import threading
import time

import pytest

from atelier.core import remote_images as ri
from atelier.core.errors import InvalidImage, PayloadTooLarge
from conftest import png_data_url


@pytest.mark.parametrize("ip, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.1.10", False), ("172.16.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
    ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False),
    ("93.184.216.34", True), ("2606:4700::1111", True),
])
def test_only_public_addresses_are_fetchable(ip, public):
    assert ri.is_public_address(ip) is public


@pytest.fixture(scope="module")
def image_server():
    import base64

    png = base64.b64decode(png_data_url().split(",", 1)[1])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow":
                time.sleep(1.5)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/img.png")
                self.end_headers()
                return
            body = png * (200 if self.path == "/big" else 1)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", png
    srv.shutdown()


def test_loopback_url_is_refused_even_when_remote_images_are_on(image_server):
    with pytest.raises(InvalidImage, match="non-public"):
        asyncio.run(ri.fetch_image_bytes(image_server[0] + "/img.png", max_bytes=10**6, timeout=5))


def test_fetch_follows_redirects_and_bounds_size_and_time(image_server, monkeypatch):
    base, png = image_server
    # Pretend loopback is public so the transfer limits can be exercised against a local server.
    monkeypatch.setattr(ri, "is_public_address", lambda ip: True)
    assert asyncio.run(ri.fetch_image_bytes(base + "/redirect", max_bytes=10**6, timeout=5)) == png
    with pytest.raises(PayloadTooLarge):
        asyncio.run(ri.fetch_image_bytes(base + "/big", max_bytes=len(png) * 10, timeout=5))
    with pytest.raises(InvalidImage, match="longer than"):
        asyncio.run(ri.fetch_image_bytes(base + "/slow", max_bytes=10**6, timeout=0.3))


def test_non_http_schemes_are_refused():
    with pytest.raises(InvalidImage):
        asyncio.run(ri.fetch_image_bytes("file:///etc/passwd", max_bytes=10, timeout=1))


def test_chat_with_remote_images_on_still_refuses_private_hosts(tiny_settings, image_server):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    settings = tiny_settings.model_copy(update={"allow_remote_images": True})
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": image_server[0] + "/img.png"}}]}]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_image" and "non-public" in r.json()["error"]["message"]
