"""Input limits (issue 9, point 2): every bound answers a clear 4xx in the OpenAI envelope.

Body size (ATELIER_MAX_BODY_MB, with and without Content-Length, over a real socket too), pixel
bombs (a PNG header claiming 50,000 x 50,000), width/height/steps/n/guidance/seed bounds, prompt
length and batch size, on each endpoint that takes them. Nothing here reaches a model: every
request is refused before the GPU queue.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import httpx
import pytest
from fastapi.testclient import TestClient

from atelier.main import create_app
from conftest import png_data_url
from servers import raw_http, serve

SMALL_BODY_MB = 0.05  # 52,428 bytes


def assert_envelope(r, status: int, code: str | None = None, param: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert err["message"], err
    if code is not None:
        assert err["code"] == code, err
    if param is not None:
        assert err["param"] == param, err
    return err


# ----------------------------------------------------------------------------- pixel bombs
def png_header_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header claiming width x height, with almost no data behind it (~100 bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def real_bomb_png() -> bytes:
    """A real, fully decodable 8,000 x 6,000 image (48 MP > the 40 MP default) of ~50 KB: all black."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def bombs():
    return {"header": png_header_bomb(), "real": real_bomb_png()}


@pytest.mark.parametrize("kind", ["header", "real"])
def test_pixel_bombs_are_refused_on_every_image_input(client, bombs, kind):
    bomb = bombs[kind]
    url = _data_url(bomb)
    err = assert_envelope(client.post("/v1/analyze", json={"image": url}), 400, "invalid_image", "image")
    assert "pixels" in err["message"] or "exceeds" in err["message"], err
    assert_envelope(client.post("/v1/chat/completions", json={"model": "tiny-vlm", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": url}}]}]}), 400, "invalid_image")
    assert_envelope(client.post("/v1/generate", json={"prompt": "x", "image": url}), 400, "invalid_image", "image")
    assert_envelope(client.post("/v1/generate", json={"prompt": "x", "image": png_data_url((64, 64)), "mask": url}),
                    400, "invalid_image", "mask")
    assert_envelope(client.post("/v1/images/edits", files={"image": ("b.png", bomb, "image/png")},
                                data={"prompt": "x"}), 400, "invalid_image", "image")
    # In a batch the bomb is that image's error; its neighbours are still analysed.
    r = client.post("/v1/analyze/batch", json={"images": [url, png_data_url()], "tasks": ["nsfw"]})
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert items[0]["error"]["code"] == "invalid_image" and items[0]["error"]["param"] == "images.0"
    assert "error" not in items[1]


def test_the_pixel_limit_follows_the_setting(tiny_settings):
    # 64 x 64 = 4,096 pixels: over a 4,000-pixel limit, refused before decoding.
    with TestClient(create_app(tiny_settings.model_copy(update={"max_image_pixels": 4000}))) as c:
        err = assert_envelope(c.post("/v1/analyze", json={"image": png_data_url((64, 64)), "tasks": ["nsfw"]}),
                              400, "invalid_image")
        assert "ATELIER_MAX_IMAGE_PIXELS" in err["message"]


# ----------------------------------------------------------------------------- generation bounds
GEN_BAD = [
    ({"width": 1001}, "width", "multiple of 8"),
    ({"width": 4096}, "width", "ATELIER_MAX_SIDE"),
    ({"height": 8}, "height", "between"),
    ({"width": -64}, "width", None),
    ({"steps": 0}, "steps", "between"),
    ({"steps": 151}, "steps", "ATELIER_MAX_STEPS"),
    ({"steps": 10**12}, "steps", None),
    ({"n": 0}, "n", "between"),
    ({"n": 5}, "n", "between"),
    ({"n": 10**6}, "n", None),
    ({"guidance_scale": -1}, "guidance_scale", None),
    ({"guidance_scale": 31}, "guidance_scale", None),
    ({"seed": 2**40}, "seed", None),
    ({"seed": -5}, "seed", None),
    ({"scheduler": "rm -rf"}, "scheduler", None),
    ({"strength": 0.5}, "strength", None),  # strength without an image
    ({"prompt": "   "}, "prompt", "empty"),
    ({"prompt": "x" * 4001}, "prompt", "ATELIER_MAX_PROMPT_CHARS"),
    ({"negative_prompt": "x" * 4001}, "negative_prompt", "ATELIER_MAX_PROMPT_CHARS"),
    ({"model": "../../etc/passwd"}, "model", None),
    ({"unknown_field": 1}, "unknown_field", None),
]


@pytest.mark.parametrize("extra, param, words", GEN_BAD, ids=[p for _, p, _ in GEN_BAD])
@pytest.mark.parametrize("route", ["/v1/generate", "/v1/jobs"])
def test_generation_bounds_are_400s_naming_the_parameter(client, route, extra, param, words):
    err = assert_envelope(client.post(route, json={"prompt": "a cat", **extra}), 400, param=param)
    if words:
        assert words in err["message"], err
    assert client.get("/v1/status").json()["queue"]["queued"] == []  # nothing was queued


IMAGES_BAD = [
    ({"size": "99999x99999"}, "width"),
    ({"size": "1001x1001"}, "width"),
    ({"size": "big"}, "size"),
    ({"n": 9}, "n"),
    ({"n": -1}, "n"),
    ({"steps": 500}, "steps"),
    ({"prompt": "y" * 5000}, "prompt"),
    ({"response_format": "url"}, "response_format"),
    ({"quality": "ultra"}, "quality"),
]


@pytest.mark.parametrize("extra, param", IMAGES_BAD, ids=[p for _, p in IMAGES_BAD])
def test_openai_images_bounds_are_400s(client, extra, param):
    assert_envelope(client.post("/v1/images/generations", json={"prompt": "a cat", **extra}), 400, param=param)


def test_openai_image_edit_form_fields_are_bounded(client):
    png = base64.b64decode(png_data_url((64, 64)).split(",", 1)[1])
    for fields, param in (({"n": "abc"}, "n"), ({"steps": "1e9"}, "steps"), ({"n": "50"}, "n"),
                          ({"size": "4096x4096"}, "width"), ({"prompt": "z" * 4001}, "prompt")):
        r = client.post("/v1/images/edits", files={"image": ("a.png", png, "image/png")},
                        data={"prompt": "a cat", **fields})
        assert_envelope(r, 400, param=param)


# ----------------------------------------------------------------------------- batch sizes
def test_analyze_batch_over_max_batch_is_a_400(client):
    images = [png_data_url()] * 17  # ATELIER_MAX_BATCH defaults to 16
    err = assert_envelope(client.post("/v1/analyze/batch", json={"images": images}), 400, param="images")
    assert "ATELIER_MAX_BATCH" in err["message"]
    assert_envelope(client.post("/v1/analyze/batch", json={"images": []}), 400, param="images")


def test_chat_with_more_images_than_max_batch_is_a_400(client):
    parts = [{"type": "image_url", "image_url": {"url": png_data_url()}} for _ in range(17)]
    err = assert_envelope(client.post("/v1/chat/completions", json={
        "model": "tiny-vlm", "messages": [{"role": "user", "content": parts}]}), 400)
    assert "ATELIER_MAX_BATCH" in err["message"]


@pytest.mark.parametrize("body, param", [
    ({"max_tokens": 100_000}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"n": 3}, "n"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"temperature": 5}, "temperature"),
    ({"messages": []}, "messages"),
])
def test_chat_bounds_are_400s(client, body, param):
    req = {"model": "tiny-vlm", "messages": [{"role": "user", "content": "hi"}], **body}
    assert_envelope(client.post("/v1/chat/completions", json=req), 400, param=param)


def test_analyze_bounds_are_400s(client):
    img = png_data_url()
    assert_envelope(client.post("/v1/analyze", json={"image": img, "max_tags": 51}), 400, param="max_tags")
    assert_envelope(client.post("/v1/analyze", json={"image": img, "tasks": ["objects"], "objects": ["a"] * 11}),
                    400, param="objects")
    assert_envelope(client.post("/v1/analyze", json={"image": img, "tasks": []}), 400, param="tasks")


# ----------------------------------------------------------------------------- body size
@pytest.fixture(scope="module")
def small_body_app(tiny_settings):
    return create_app(tiny_settings.model_copy(update={"max_body_mb": SMALL_BODY_MB}))


def test_a_body_over_the_limit_is_a_413_envelope(small_body_app):
    limit = int(SMALL_BODY_MB * 1024 * 1024)
    with TestClient(small_body_app) as c:
        big = {"image": "A" * (limit + 10)}
        for path in ("/v1/analyze", "/v1/generate", "/v1/chat/completions", "/v1/no-such-route", "/v1/status"):
            err = assert_envelope(c.post(path, json=big), 413, "payload_too_large")
            assert "ATELIER_MAX_BODY_MB" in err["message"]
        r = c.post("/v1/images/edits", files={"image": ("a.png", b"\x00" * (limit + 10), "image/png")},
                   data={"prompt": "x"})
        assert_envelope(r, 413, "payload_too_large")
        # Just under the limit is parsed as usual (and refused for what it is, not for its size).
        r = c.post("/v1/analyze", json={"image": "A" * (limit - 100)})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image"


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(small_body_app):
    limit = int(SMALL_BODY_MB * 1024 * 1024)

    def chunks():
        yield b'{"image": "'
        for _ in range(limit // 4096 + 2):
            yield b"A" * 4096
        yield b'"}'

    with TestClient(small_body_app) as c:
        r = c.post("/v1/analyze", content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert_envelope(r, 413, "payload_too_large")


def test_chunked_and_lying_bodies_over_a_real_socket(small_body_app):
    limit = int(SMALL_BODY_MB * 1024 * 1024)
    with serve(small_body_app) as base:
        port = int(base.rsplit(":", 1)[1])
        # 1. Transfer-Encoding: chunked, no Content-Length, 4x the limit.
        piece = b"A" * 8192
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(4 * limit // 8192))
        req = (b"POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body + b"0\r\n\r\n")
        status, headers, payload = raw_http(port, req)
        assert status == 413, payload[:300]
        assert b"payload_too_large" in payload
        # 2. A Content-Length claiming 10 GB: refused from the header, without waiting for a body.
        req = (b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: 10000000000\r\nConnection: close\r\n\r\n{")
        status, _, payload = raw_http(port, req, timeout=5)
        assert status == 413 and b"payload_too_large" in payload
        # 3. The server is still healthy afterwards.
        assert httpx.get(base + "/v1/status", timeout=10).status_code == 200


def test_the_default_limit_is_ATELIER_MAX_BODY_MB(client):
    # 50 MB by default: a 1 MB body passes the limit (and fails for being garbage).
    r = client.post("/v1/analyze", json={"image": "A" * 1_000_000})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image"


def test_chat_past_the_context_window_is_a_400_not_minutes_of_work(client):
    # 20,000 words is ~20,000 tokens against the tiny VLM's 2,048: it used to run (quadratically) for
    # minutes, holding the one GPU worker; a 1 MB body would have held it for hours.
    for content in ("word " * 20_000, [{"type": "text", "text": "word " * 20_000}]):
        r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "max_tokens": 4,
                                                      "messages": [{"role": "user", "content": content}]})
        err = assert_envelope(r, 400, param="messages")
        assert "context length" in err["message"], err
    r = client.post("/v1/chat/completions", json={"model": "tiny-vlm", "max_tokens": 4,
                                                  "messages": [{"role": "user", "content": "hello"}]})
    assert r.status_code == 200, r.text
