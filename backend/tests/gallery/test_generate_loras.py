"""LoRAs through /v1/generate, /v1/jobs and the Images API: fields, prompt tags, 400s, `Lora hashes`."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from atelier.engine import tiny_lora
from atelier.gallery.generate.metadata import parse_a1111, read_parameters

TINY = {"model": "tiny-sdxl", "width": 64, "height": 64, "steps": 2, "seed": 5}


@pytest.fixture(scope="module")
def lc(tiny_settings, tiny_models_dir, tmp_path_factory):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    d = tmp_path_factory.mktemp("loras")
    tiny = tiny_models_dir / "tiny" / "tiny-sdxl"
    tiny_lora.build(tiny, d / "ink.safetensors", "kohya", seed=1, scale=3.0)
    tiny_lora.build(tiny, d / "peft.safetensors", "diffusers", seed=2, scale=3.0)
    with TestClient(create_app(tiny_settings.model_copy(update={"loras_dir": d}))) as c:
        yield c


def _pixels(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"), dtype=np.float32)


def test_loras_change_the_image_and_are_written_as_a1111_lora_hashes(lc):
    base = lc.post("/v1/generate", json={**TINY, "prompt": "a harbour"})
    assert base.status_code == 200, base.text
    r = lc.post("/v1/generate", json={**TINY, "prompt": "a harbour <lora:peft:0.8>", "loras": [{"name": "ink", "weight": 1.0}]})
    assert r.status_code == 200, r.text
    body = r.json()
    hashes = {m["id"]: m["lora"]["short_hash"] for m in lc.get("/v1/models").json()["data"] if m["type"] == "lora"}
    assert body["parameters"]["loras"] == [{"name": "ink", "weight": 1.0, "hash": hashes["ink"]},
                                           {"name": "peft", "weight": 0.8, "hash": hashes["peft"]}]
    assert np.abs(_pixels(body["data"][0]["b64_json"]) - _pixels(base.json()["data"][0]["b64_json"])).mean() > 1
    text = read_parameters(base64.b64decode(body["data"][0]["b64_json"]))
    parsed = parse_a1111(text)
    assert parsed["Lora hashes"] == f"ink: {hashes['ink']}, peft: {hashes['peft']}"
    # A1111 reads LoRAs from the prompt: the one given in `loras` is written there as a tag too.
    assert "<lora:peft:0.8>" in parsed["prompt"] and "<lora:ink:1>" in parsed["prompt"]
    # The tags are not in what the model saw: the same request without them, with the same LoRAs, matches.
    same = lc.post("/v1/generate", json={**TINY, "prompt": "a harbour",
                                         "loras": [{"name": "ink", "weight": 1.0}, {"name": "peft", "weight": 0.8}]})
    assert np.array_equal(_pixels(same.json()["data"][0]["b64_json"]), _pixels(body["data"][0]["b64_json"]))
    # A job without LoRAs after them is the bare model again.
    again = lc.post("/v1/generate", json={**TINY, "prompt": "a harbour"})
    assert np.array_equal(_pixels(again.json()["data"][0]["b64_json"]), _pixels(base.json()["data"][0]["b64_json"]))


@pytest.mark.parametrize("body, param, words", [
    ({"loras": [{"name": "nope"}]}, "loras[0].name", "unknown LoRA 'nope'"),
    ({"loras": [{"name": "ink", "weight": 7.5}]}, "loras[0].weight", "between -4 and 4"),
    ({"loras": [{"name": "ink"}], "prompt": "x <lora:ink:0.5>"}, "loras", "named twice"),
    ({"loras": [{"name": "ink"}] * 9}, "loras", "at most 8"),
    ({"prompt": "x <lora:ghost:1>"}, "prompt", "unknown LoRA 'ghost'"),
    ({"prompt": "<lora:ink:1>"}, "prompt", "prompt is empty"),
])
def test_bad_loras_are_400s_naming_the_field(lc, body, param, words):
    for path in ("/v1/generate", "/v1/jobs"):
        r = lc.post(path, json={**TINY, "prompt": "a harbour", **body})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["param"] == param and words in err["message"]


def test_images_api_takes_loras(lc):
    r = lc.post("/v1/images/generations", json={"prompt": "a harbour <lora:ink:0.6>", "size": "64x64", "steps": 2,
                                                 "model": "tiny-sdxl"})
    assert r.status_code == 200, r.text
    parsed = parse_a1111(read_parameters(base64.b64decode(r.json()["data"][0]["b64_json"])))
    assert parsed["Lora hashes"].startswith("ink: ")
    bad = lc.post("/v1/images/generations", json={"prompt": "x", "size": "64x64", "model": "tiny-sdxl",
                                                   "loras": [{"name": "nope", "weight": 1.0}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "loras[0].name"
