"""The OpenAI Images API, driven by the official `openai` client against a real uvicorn server."""

import base64
import io

import httpx
import openai
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def oai(live_server):
    return openai.OpenAI(base_url=live_server["url"] + "/v1", api_key="unused", max_retries=0)


def _png(size=(64, 64), mode="RGB", color=(200, 60, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_openai_client_images_generate(oai):
    res = oai.images.generate(model="dall-e-3", prompt="a red fox", n=2, size="64x64", response_format="b64_json")
    assert len(res.data) == 2 and res.created > 0
    for item in res.data:
        img = Image.open(io.BytesIO(base64.b64decode(item.b64_json)))
        assert img.size == (64, 64) and "parameters" in img.info


def test_openai_client_images_edit_with_and_without_mask(oai):
    res = oai.images.edit(model="tiny-sdxl", image=("in.png", _png(), "image/png"), prompt="make it blue",
                          n=1, size="64x64")
    assert Image.open(io.BytesIO(base64.b64decode(res.data[0].b64_json))).size == (64, 64)
    mask = _png(mode="RGBA", color=(0, 0, 0, 0))
    res = oai.images.edit(image=("in.png", _png(), "image/png"), mask=("m.png", mask, "image/png"),
                          prompt="a hole", size="64x64")
    assert res.data[0].b64_json


def test_unknown_size_and_url_format_are_clear_400s(oai):
    with pytest.raises(openai.BadRequestError, match="size must be 'auto' or WIDTHxHEIGHT"):
        oai.images.generate(prompt="x", size="huge")
    with pytest.raises(openai.BadRequestError, match="does not host images"):
        oai.images.generate(prompt="x", size="64x64", response_format="url")


def test_edit_without_an_image_file_is_a_400(live_server):
    r = httpx.post(live_server["url"] + "/v1/images/edits", data={"prompt": "x"}, files={"mask": ("m.png", _png())})
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"
