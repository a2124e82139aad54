"""POST /v1/upscale and /v1/upscale/jobs on the tiny models (issue 21): tiles, enhance, bounds, cancel."""

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

from atelier.engine.base import Placement
from atelier.gallery.generate import metadata


def _png(img: Image.Image, parameters: str | None = None) -> str:
    return base64.b64encode(metadata.encode(img, "png", parameters) if parameters else _raw_png(img)).decode()


def _raw_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _pattern(w: int, h: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([(np.sin(x / 5) + 1) / 2, (np.cos(y / 7) + 1) / 2, ((x + y) % 17) / 17], -1)
    return Image.fromarray((rgb * 255).astype(np.uint8), "RGB")


def _decode(b64: str) -> tuple[Image.Image, bytes]:
    data = base64.b64decode(b64)
    return Image.open(io.BytesIO(data)), data


def _error(r):
    return r.json()["error"]



def _wait_finished(job, seconds: float) -> None:
    """Until the worker's job has ended (done, failed or cancelled), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not job.finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)

def test_upscale_returns_4x_with_the_planner_tile_and_the_source_parameters_kept(client):
    source = "a lighthouse at dusk\nSteps: 6, Sampler: Euler, CFG scale: 1.5, Seed: 7, Size: 48x40, Model: x"
    r = client.post("/v1/upscale", json={"image": _png(_pattern(48, 40), source), "model": "tiny-upscaler",
                                         "tile_size": 32})
    assert r.status_code == 200, r.text
    body = r.json()
    img, data = _decode(body["data"][0]["b64_json"])
    assert img.size == (192, 160) == (body["data"][0]["width"], body["data"][0]["height"])
    assert body["object"] == "upscale" and body["model"] == "tiny-upscaler"
    assert body["parameters"]["tile_size"] == 32 and body["parameters"]["tiles"] == 4
    text = metadata.read_parameters(data)
    assert text.startswith("a lighthouse at dusk\n")
    parsed = metadata.parse_a1111(text)
    assert parsed["Seed"] == "7" and parsed["Postprocess upscale by"] == "4"
    assert parsed["Postprocess upscaler"] == "tiny-upscaler"


def test_scale_2_with_a_4x_model_is_its_output_scaled_down(client):
    r = client.post("/v1/upscale", json={"image": _png(_pattern(40, 24)), "model": "tiny-upscaler", "scale": 2})
    assert r.status_code == 200, r.text
    img, data = _decode(r.json()["data"][0]["b64_json"])
    assert img.size == (80, 48)
    assert metadata.read_parameters(data).endswith("Version: Atelier")


@pytest.mark.parametrize("body,param", [
    ({"scale": 3}, "scale"),
    ({"scale": "4"}, "scale"),
    ({"tile_size": 16}, "tile_size"),
    ({"tile_size": 4096}, "tile_size"),
    ({"image": "not base64!"}, "image"),
    ({"image": base64.b64encode(b"GIF89a garbage").decode()}, "image"),
    ({"model": "tiny-sdxl"}, "model"),
    ({"model": "no-such-upscaler"}, "model"),
    ({"strength": 0.2}, "strength"),
    ({"prompt": "x"}, "prompt"),
    ({"enhance": True, "strength": 0.9}, "strength"),
    ({"enhance": True, "overlap": 64}, "overlap"),
    ({"enhance": True, "overlap": 512}, "overlap"),
    ({"enhance": True, "enhance_model": "tiny-upscaler"}, "enhance_model"),
    ({"enhance": True, "steps": 0}, "steps"),
    ({"enhance": True, "seed": -5}, "seed"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_input_is_a_400_naming_the_parameter(client, body, param):
    r = client.post("/v1/upscale", json={"image": _png(_pattern(16, 16)), "model": "tiny-upscaler", **body})
    assert 400 <= r.status_code < 500, r.text
    err = _error(r)
    assert param in (err["param"] or "") or param in err["message"], err


def test_enhance_model_must_be_a_generation_model(client):
    r = client.post("/v1/upscale", json={"image": _png(_pattern(16, 16)), "model": "tiny-upscaler", "enhance": True,
                                         "enhance_model": "tiny-upscaler"})
    assert r.status_code == 404 and _error(r)["param"] == "enhance_model"
    assert "is an upscaler model, not a generation model" in _error(r)["message"]


def test_the_maximum_output_size_is_enforced(client):
    services = client.app.state.services
    old = services.settings.upscale_max_pixels
    services.settings.upscale_max_pixels = 100 * 100
    try:
        r = client.post("/v1/upscale", json={"image": _png(_pattern(40, 40)), "model": "tiny-upscaler"})
        assert r.status_code == 400
        err = _error(r)
        assert err["param"] == "scale" and "ATELIER_UPSCALE_MAX_PIXELS" in err["message"] and "use scale 2" in err["message"]
        r = client.post("/v1/upscale", json={"image": _png(_pattern(60, 60)), "model": "tiny-upscaler", "scale": 2})
        assert r.status_code == 400 and _error(r)["param"] == "image"
        r = client.post("/v1/upscale", json={"image": _png(_pattern(40, 40)), "model": "tiny-upscaler", "scale": 2})
        assert r.status_code == 200, r.text
    finally:
        services.settings.upscale_max_pixels = old


def test_enhance_runs_sdxl_img2img_per_tile_with_the_embedded_prompt(client):
    source = "a red ball on grass\nSteps: 2, Sampler: Euler, CFG scale: 5, Seed: 1, Size: 24x24, Model: tiny-sdxl"
    r = client.post("/v1/upscale/jobs", json={
        "image": _png(_pattern(24, 24), source), "model": "tiny-upscaler", "enhance": True,
        "enhance_model": "tiny-sdxl", "strength": 0.5, "steps": 2, "seed": 3, "overlap": 128})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    worker = client.app.state.services.worker
    job = worker.get(job_id)
    _wait_finished(job, 300)
    summary = client.get(f"/v1/jobs/{job_id}").json()
    assert summary["status"] == "done", summary
    assert summary["kind"] == "upscale"
    result = summary["result"]
    assert result["parameters"]["prompt"] == "a red ball on grass"
    img, data = _decode(result["data"][0]["b64_json"])
    assert img.size == (96, 96)
    stages = [(e.data["stage"], e.data["tile"], e.data["tiles"]) for e in job.events if e.type == "tile"]
    assert ("upscale", 0, 1) in stages and ("enhance", 0, 1) in stages and ("enhance", 1, 1) in stages
    assert any(e.type == "step" for e in job.events)  # SDXL ran on the tile
    parsed = metadata.parse_a1111(metadata.read_parameters(data))
    assert parsed["prompt"] == "a red ball on grass" and parsed["Denoising strength"] == "0.5"
    assert parsed["Model"] == "tiny-sdxl" and parsed["Postprocess upscaler"] == "tiny-upscaler"


def test_tiled_img2img_at_strength_0_returns_its_input(client):
    """The enhance stage's tiling and blending through the real tiny SDXL: at strength 0 each tile comes
    back as it went in, so the whole image does (to the rounding of the 8-bit output)."""
    from atelier.gallery.upscale.service import Enhance, enhance_tiled

    services = client.app.state.services
    spec = services.catalog.resolve("tiny-sdxl")
    model, _ = services.manager.acquire(spec)
    img = _pattern(200, 150)
    e = Enhance(spec, "x", "", 0.0, 2, 5.0, "euler", 1, overlap=32, tile=96)
    out = enhance_tiled(model, img, e)
    assert out.size == img.size
    assert np.abs(np.asarray(out, dtype=np.int16) - np.asarray(img, dtype=np.int16)).max() <= 1


def test_cancelling_an_upscale_job_stops_it_between_tiles(client):
    worker = client.app.state.services.worker
    r = client.post("/v1/upscale/jobs", json={"image": _png(_pattern(256, 256)), "model": "tiny-upscaler",
                                              "tile_size": 64})
    assert r.status_code == 202
    job = worker.get(r.json()["id"])
    deadline = time.monotonic() + 120
    while not any(e.type == "tile" and e.data["tile"] >= 1 for e in list(job.events)):
        assert time.monotonic() < deadline and not job.finished
        time.sleep(0.005)
    assert client.delete(f"/v1/jobs/{job.id}").status_code == 200
    while not job.finished:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert job.status == "cancelled"
    tiles = [e.data for e in job.events if e.type == "tile"]
    assert tiles[0]["tiles"] == 25 and tiles[-1]["tile"] < 24  # stopped well before the last tile
    summary = client.get(f"/v1/jobs/{job.id}").json()
    assert summary["status"] == "cancelled" and summary.get("result") is None


def test_upscalers_are_listed_with_their_kind_in_status(client):
    rows = {m["id"]: m for m in client.get("/v1/status").json()["models"]}
    assert rows["tiny-upscaler"]["kind"] == "upscaler"
    assert rows["tiny-upscaler"]["state"] in ("on_disk", "in_ram")


def test_the_upscaler_fits_beside_a_loaded_sdxl_on_the_cpu_plan(client):
    services = client.app.state.services
    spec = services.catalog.resolve("tiny-upscaler")
    p = services.manager.plan_for(spec)
    assert p.placement.device == "cpu" and isinstance(p.placement, Placement)


def test_upscalers_are_listed_by_v1_models_with_their_type(client):
    r = client.get("/v1/models")
    assert r.status_code == 200, r.text
    types = {m["id"]: m["type"] for m in r.json()["data"]}
    assert types["tiny-upscaler"] == "upscaler" and types["tiny-sdxl"] == "generation"


def test_enhance_takes_lora_tags_out_of_the_embedded_prompt_and_applies_none(client):
    # An A1111 image names a LoRA that is not installed here: the enhance pass neither fails on it
    # nor feeds the tag to the text encoder.
    source = "a red ball <lora:not_installed:0.8> on grass\nSteps: 2, Sampler: Euler, CFG scale: 5, Seed: 1, Size: 24x24"
    r = client.post("/v1/upscale/jobs", json={
        "image": _png(_pattern(24, 24), source), "model": "tiny-upscaler", "enhance": True,
        "enhance_model": "tiny-sdxl", "strength": 0.3, "steps": 1, "seed": 3, "overlap": 128})
    assert r.status_code == 202, r.text
    job = client.app.state.services.worker.get(r.json()["id"])
    _wait_finished(job, 300)
    summary = client.get(f"/v1/jobs/{job.id}").json()
    assert summary["status"] == "done", summary
    prompt = summary["result"]["parameters"]["prompt"]
    assert "<lora" not in prompt and "a red ball" in prompt and "on grass" in prompt
