"""POST /v1/generate and /v1/jobs on the tiny SDXL, through the production loader and worker."""

import base64
import io
import json
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from atelier.gallery.generate.metadata import parse_a1111, read_parameters

TINY = {"model": "tiny-sdxl", "width": 64, "height": 64, "steps": 2}


@pytest.fixture(scope="module")
def gen(tiny_settings):
    """An app of its own: a queue of 1 for the 429 test."""
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    with TestClient(create_app(tiny_settings.model_copy(update={"max_queue": 1}))) as c:
        yield c


def _img(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def _pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def _source_image() -> Image.Image:
    img = Image.new("RGB", (64, 64), (20, 20, 20))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 31, 63), fill=(235, 235, 235))
    d.ellipse((36, 8, 60, 30), fill=(220, 40, 40))
    return img


def _b64(img: Image.Image, fmt="PNG") -> str:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


def _events(client, job_id):
    out = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
    return out


def test_txt2img_returns_a_png_with_its_seed_parameters_and_timings(gen):
    r = gen.post("/v1/generate", json={**TINY, "prompt": "a lighthouse", "negative_prompt": "fog", "seed": 7,
                                       "guidance_scale": 4.5, "scheduler": "euler_a"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "tiny-sdxl" and body["id"].startswith("job_")
    assert [d["seed"] for d in body["data"]] == [7]
    assert _img(body["data"][0]["b64_json"]).size == (64, 64)
    p = body["parameters"]
    assert (p["mode"], p["steps"], p["guidance_scale"], p["scheduler"], p["negative_prompt"]) == \
        ("txt2img", 2, 4.5, "euler_a", "fog")
    assert set(body["timings"]) >= {"queued_ms", "load_ms", "inference_ms"}


def test_n_images_get_distinct_seeds_and_distinct_pixels(gen):
    body = gen.post("/v1/generate", json={**TINY, "prompt": "x", "n": 3, "seed": 100}).json()
    assert [d["seed"] for d in body["data"]] == [100, 101, 102]
    a, b = (_pixels(_img(d["b64_json"])) for d in body["data"][:2])
    assert np.abs(a - b).mean() > 1.0


def test_the_same_seed_reproduces_the_same_image_and_a_random_seed_is_returned(gen):
    a = gen.post("/v1/generate", json={**TINY, "prompt": "x", "seed": 42}).json()["data"][0]
    b = gen.post("/v1/generate", json={**TINY, "prompt": "x", "seed": 42}).json()["data"][0]
    assert np.array_equal(_pixels(_img(a["b64_json"])), _pixels(_img(b["b64_json"])))
    rnd = gen.post("/v1/generate", json={**TINY, "prompt": "x", "seed": -1}).json()["data"][0]
    again = gen.post("/v1/generate", json={**TINY, "prompt": "x", "seed": rnd["seed"]}).json()["data"][0]
    assert np.array_equal(_pixels(_img(rnd["b64_json"])), _pixels(_img(again["b64_json"])))


def test_img2img_at_low_strength_stays_close_to_the_input(gen):
    src = _source_image()
    # The input as the model sees it: a random-weight VAE cannot reproduce pixels, so compare with
    # its round trip (what img2img returns as the strength goes to 0).
    model, _ = gen.app.state.services.manager.acquire(gen.app.state.services.catalog.resolve("tiny-sdxl"))
    proc, vae = model.img2img.image_processor, model.pipe.vae
    with torch.no_grad():
        seen = _pixels(proc.postprocess(vae.decode(vae.encode(proc.preprocess(src)).latent_dist.mean).sample)[0])

    def run(**kw):
        body = gen.post("/v1/generate", json={**TINY, "prompt": "a red ball", "steps": 10, "seed": 3, **kw}).json()
        return np.abs(_pixels(_img(body["data"][0]["b64_json"])) - seen).mean(), body["parameters"]

    low, params = run(image=_b64(src), strength=0.1)
    high, _ = run(image="data:image/png;base64," + _b64(src), strength=1.0)
    txt, _ = run()
    assert params["mode"] == "img2img" and params["strength"] == 0.1
    assert low < 6 and low * 4 < high and low * 4 < txt, (low, high, txt)


def test_png_parameters_round_trip_in_automatic1111_format(gen):
    body = gen.post("/v1/generate", json={**TINY, "prompt": "a cat, on a mat", "negative_prompt": "blurry",
                                          "seed": 9, "scheduler": "dpmpp_2m_karras"}).json()
    meta = parse_a1111(_img(body["data"][0]["b64_json"]).info["parameters"])
    assert meta["prompt"] == "a cat, on a mat" and meta["negative_prompt"] == "blurry"
    assert (meta["Steps"], meta["Sampler"], meta["CFG scale"], meta["Seed"], meta["Size"], meta["Model"]) == \
        ("2", "DPM++ 2M Karras", "5", "9", "64x64", "tiny-sdxl")


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_jpeg_and_webp_carry_the_parameters_in_exif(gen, fmt):
    body = gen.post("/v1/generate", json={**TINY, "prompt": "über café", "seed": 5, "output_format": fmt}).json()
    raw = base64.b64decode(body["data"][0]["b64_json"])
    assert Image.open(io.BytesIO(raw)).format == fmt.upper()
    meta = parse_a1111(read_parameters(raw))
    assert meta["prompt"] == "über café" and meta["Seed"] == "5"


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_exif_user_comment_reads_as_automatic1111_reads_it(gen, fmt, tmp_path, exiftool_warnings):
    """UNDEFINED with its character code prefix, as the EXIF spec says and A1111 reads it through piexif;
    and exiftool validates the file without a warning."""
    import piexif
    import piexif.helper

    body = gen.post("/v1/generate", json={**TINY, "prompt": "über café, 35mm", "negative_prompt": "blur",
                                          "seed": 5, "output_format": fmt}).json()
    raw = base64.b64decode(body["data"][0]["b64_json"])
    comment = piexif.load(Image.open(io.BytesIO(raw)).info["exif"])["Exif"][piexif.ExifIFD.UserComment]
    assert isinstance(comment, bytes) and comment.startswith(b"UNICODE\0")
    meta = parse_a1111(piexif.helper.UserComment.load(comment))
    assert meta["prompt"] == "über café, 35mm" and meta["negative_prompt"] == "blur" and meta["Seed"] == "5"
    path = tmp_path / f"generated.{fmt}"
    path.write_bytes(raw)
    assert exiftool_warnings(path) == []


@pytest.mark.parametrize("patch, param, words", [
    ({"width": 1001}, "width", "width must be a multiple of 8, got 1001"),
    ({"height": 4096}, "height", "ATELIER_MAX_SIDE"),
    ({"steps": 1000}, "steps", "steps must be between 1 and"),
    ({"n": 5}, "n", "n must be between 1 and 4, got 5"),
    ({"scheduler": "plms"}, "scheduler", "unknown scheduler 'plms'"),
    ({"strength": 0.5}, "strength", "send the source image"),
    ({"image": "not base64!"}, "image", "not valid base64"),
    ({"prompt": "x" * 5000}, "prompt", "ATELIER_MAX_PROMPT_CHARS"),
    ({"steps": "many"}, "steps", "steps"),
    ({"sampler": "euler"}, "sampler", "sampler"),
])
def test_bad_input_is_a_400_that_says_what_to_change(gen, patch, param, words):
    r = gen.post("/v1/generate", json={**TINY, "prompt": "x", **patch})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and words in err["message"]
    assert err["code"] in ("invalid_parameter", "invalid_image")
    assert r.headers["x-should-retry"] == "false"


def test_job_events_arrive_in_order_queued_loading_steps_decoding_done(gen):
    r = gen.post("/v1/jobs", json={**TINY, "prompt": "x", "steps": 3})
    assert r.status_code == 202 and r.json()["position"] in (0, 1)
    events = _events(gen, r.json()["id"])
    types = [e["type"] for e in events]
    assert types[0] == "queued" and events[0]["position"] == 1
    assert types.index("started") < types.index("loading") < types.index("step")
    # Step 0 says denoising has begun (the phase shown is the real one, not "loading" until a step ends).
    assert types[types.index("loading") + 1] == "step"
    assert [(e["step"], e["total"]) for e in events if e["type"] == "step"] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert types[-2:] == ["decoding", "done"]
    assert events[-1]["result"]["data"][0]["b64_json"]
    job = gen.get(f"/v1/jobs/{r.json()['id']}").json()
    assert job["status"] == "done" and job["result"]["parameters"]["steps"] == 3


def test_cancelling_a_running_job_stops_it_and_returns_no_image(gen):
    job_id = gen.post("/v1/jobs", json={**TINY, "prompt": "x", "steps": 150}).json()["id"]
    deadline = time.time() + 30
    while (gen.get(f"/v1/jobs/{job_id}").json().get("last_event") or {}).get("type") != "step":
        assert time.time() < deadline
        time.sleep(0.02)
    assert gen.delete(f"/v1/jobs/{job_id}").json()["cancel_requested"] is True
    events = _events(gen, job_id)
    assert events[-1]["type"] == "cancelled"
    assert max(e["step"] for e in events if e["type"] == "step") < 150
    job = gen.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["result"] is None and job["error"]["code"] == "cancelled"


def test_a_full_queue_answers_429_with_retry_after(gen):
    worker = gen.app.state.services.worker
    gate = threading.Event()
    blocker = worker.submit("block", lambda ctx: gate.wait(10))
    try:
        while worker.running is not blocker:
            time.sleep(0.01)
        first = gen.post("/v1/jobs", json={**TINY, "prompt": "x"})
        assert first.status_code == 202 and first.json()["position"] == 1
        r = gen.post("/v1/generate", json={**TINY, "prompt": "x"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "queue_full"
        gen.delete(f"/v1/jobs/{first.json()['id']}")
        assert gen.get(f"/v1/jobs/{first.json()['id']}").json()["status"] == "cancelled"
    finally:
        gate.set()


def test_a_pickle_checkpoint_in_the_models_folder_is_refused(gen, tiny_models_dir):
    (tiny_models_dir / "evil.ckpt").write_bytes(b"\x80\x04not really a pickle")
    r = gen.post("/v1/generate", json={**TINY, "prompt": "x", "model": "evil"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsafe_model_format"
    assert ".safetensors" in r.json()["error"]["message"]


@pytest.mark.parametrize("name", ["../tiny/tiny-sdxl", "/etc/passwd", "tiny/../../x", "..\\secret"])
def test_model_paths_cannot_leave_the_models_folder(gen, name):
    r = gen.post("/v1/generate", json={**TINY, "prompt": "x", "model": name})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


def test_unknown_job_is_404_in_the_envelope(gen):
    r = gen.get("/v1/jobs/job_nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
