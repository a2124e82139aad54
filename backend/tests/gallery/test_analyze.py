"""POST /v1/analyze and /v1/analyze/batch on the tiny Llava and NudeNet's bundled detector."""

import pytest
from PIL import Image, ImageDraw

from atelier.gallery.analyze.nsfw import NsfwDetector
from atelier.engine.speed import SMOOTHING, AnalysisStats
from atelier.gallery.analyze.tags import parse_tags
from conftest import png_data_url


def test_analyze_returns_caption_tags_nsfw_model_and_timings(client):
    r = client.post("/v1/analyze", json={"image": png_data_url(), "caption_length": "short",
                                               "max_tags": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "tiny-vlm"  # the configured default is not served in tiny mode
    assert isinstance(body["caption"], str)
    assert isinstance(body["tags"], list) and len(body["tags"]) <= 3
    for tag in body["tags"]:
        assert tag["name"] == tag["name"].strip().lower() and tag["name"]
    assert len({t["name"] for t in body["tags"]}) == len(body["tags"])
    assert body["nsfw"]["label"] in ("safe", "nsfw") and 0.0 <= body["nsfw"]["score"] <= 1.0
    assert "objects" not in body
    for key in ("decode_ms", "load_ms", "caption_ms", "tags_ms", "nsfw_ms", "total_ms"):
        assert body["timings"][key] >= 0


def test_every_tag_carries_its_score_even_when_null(client, monkeypatch):
    """One tag shape end to end: the schema makes `score` required (nullable), and the routes,
    which drop null fields, still send a VLM tag's null score (the browser stores tags as sent)."""
    tag = client.get("/openapi.json").json()["components"]["schemas"]["Tag"]
    assert sorted(tag["required"]) == ["name", "score"]
    assert {"type": "null"} in tag["properties"]["score"]["anyOf"]
    # the tiny model's random text may hold no word: plant two tags where its answer is parsed
    monkeypatch.setattr("atelier.gallery.analyze.service.parse_tags", lambda text, n: ["cat", "sofa"][:n])
    one = client.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["tags"]})
    assert one.status_code == 200, one.text
    assert one.json()["tags"] == [{"name": "cat", "score": None}, {"name": "sofa", "score": None}]
    batch = client.post("/v1/analyze/batch", json={"images": [png_data_url()], "tasks": ["tags"], "max_tags": 1})
    assert batch.status_code == 200, batch.text
    assert batch.json()["data"][0]["tags"] == [{"name": "cat", "score": None}]


def test_analyze_nsfw_only_needs_no_vision_model(client):
    r = client.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["nsfw"], "model": "no-such-model"})
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"nsfw", "timings"} and "caption" not in r.json()


def test_analyze_objects_on_a_model_without_detection_is_a_400(client):
    r = client.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["objects"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tasks"


def test_analyze_bad_image_is_a_400_envelope(client):
    r = client.post("/v1/analyze", json={"image": "data:image/png;base64,bm90IGFuIGltYWdl"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image"


def test_batch_analyzes_every_image_and_isolates_bad_ones(client):
    images = [png_data_url(color=(i * 40, 10, 10)) for i in range(3)]
    images.insert(1, "not base64 at all!")
    r = client.post("/v1/analyze/batch", json={"images": images, "tasks": ["caption", "tags", "nsfw"],
                                                  "caption_length": "short", "max_tags": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["model"] == "tiny-vlm"
    assert [d["index"] for d in body["data"]] == [0, 1, 2, 3]
    bad = body["data"][1]
    assert bad["error"]["code"] == "invalid_image" and bad["error"]["param"] == "images.1"
    assert "caption" not in bad
    for good in (body["data"][i] for i in (0, 2, 3)):
        assert "error" not in good
        assert isinstance(good["caption"], str) and isinstance(good["tags"], list)
        assert good["nsfw"]["label"] in ("safe", "nsfw")
    assert body["timings"]["total_ms"] > 0


def test_batch_loads_the_model_once(client):
    manager = client.app.state.services.manager
    spec = client.app.state.services.catalog.resolve("tiny-vlm")
    family = manager.families["vlm"]
    loads = []
    original = family.load

    def counting(s, p):
        loads.append(s.id)
        return original(s, p)

    manager.unload()
    family.load = counting
    try:
        r = client.post("/v1/analyze/batch", json={"images": [png_data_url()] * 5, "tasks": ["caption"],
                                                      "caption_length": "short"})
    finally:
        del family.load
    assert r.status_code == 200 and len(r.json()["data"]) == 5
    assert loads == [spec.id]


def test_status_reports_each_vision_models_measured_speed(client):
    before = client.get("/v1/status").json()["analysis"].get("tiny-vlm", {"images": 0, "batches": 0})
    r = client.post("/v1/analyze/batch", json={"images": [png_data_url()] * 3, "tasks": ["caption"],
                                                  "caption_length": "short"})
    assert r.status_code == 200, r.text
    after = client.get("/v1/status").json()["analysis"]["tiny-vlm"]
    assert after["images"] == before["images"] + 3 and after["batches"] == before["batches"] + 1
    # the speed is the model's time on the batch (loading excluded), folded into the moving average
    timings = r.json()["timings"]
    per = timings["model_ms"] / 3
    expected = per if "ms_per_image" not in before else (1 - SMOOTHING) * before["ms_per_image"] + SMOOTHING * per
    assert after["ms_per_image"] == pytest.approx(expected, abs=0.2)
    assert timings["model_ms"] <= timings["total_ms"]


def test_analysis_speed_is_a_moving_average_per_image():
    stats = AnalysisStats()
    stats.record("m", 4, 400.0)  # 100 ms per image
    assert stats.snapshot()["m"]["ms_per_image"] == 100.0
    stats.record("m", 2, 400.0)  # 200 ms per image moves the average by its weight
    snap = stats.snapshot()["m"]
    assert snap["ms_per_image"] == 130.0 and snap["images"] == 6 and snap["batches"] == 2
    stats.record("m", 0, 50.0)  # nothing analysed: no speed to learn
    assert stats.snapshot()["m"]["batches"] == 2 and "other" not in stats.snapshot()


def test_batch_over_the_limit_is_refused(client):
    limit = client.app.state.services.settings.max_batch
    r = client.post("/v1/analyze/batch", json={"images": [png_data_url()] * (limit + 1), "tasks": ["nsfw"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "images"


def test_analysis_runs_as_background_work_on_the_gpu_worker(client):
    worker = client.app.state.services.worker
    r = client.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["caption"],
                                            "caption_length": "short"})
    assert r.status_code == 200
    job = [j for j in worker._jobs.values() if j.kind == "analyze"][-1]
    assert job.priority.name == "BACKGROUND" and job.status == "done"


def test_nsfw_detector_runs_on_real_pixels():
    img = Image.new("RGB", (320, 240), (225, 190, 165))
    draw = ImageDraw.Draw(img)
    draw.ellipse((100, 40, 220, 200), fill=(205, 160, 130))
    draw.rectangle((0, 200, 320, 240), fill=(40, 40, 60))
    out = NsfwDetector().classify(img)
    assert out["label"] in ("safe", "nsfw") and isinstance(out["score"], float)
    assert 0.0 <= out["score"] <= 1.0
    assert out["label"] == ("nsfw" if out["score"] >= 0.5 else "safe")


def test_nsfw_off_leaves_nsfw_out(tiny_settings):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    settings = tiny_settings.model_copy(update={"nsfw_detector": "off"})
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["nsfw"]})
    assert r.status_code == 200 and "nsfw" not in r.json()


@pytest.mark.parametrize("text, tags", [
    ("cat, Dog , dog, sunset.", ["cat", "dog", "sunset"]),
    ("Tags: 1. Red car\n2. #Beach\n- black_and_white", ["red car", "beach", "black and white"]),
    ("  ,, ; 123, !!, a b c d e f, ok", ["ok"]),
    ("", []),
    ("sea\x07, har\x00bour, \x1b", ["sea", "harbour"]),  # characters XML forbids never reach a sidecar
])
def test_tags_are_normalised(text, tags):
    assert parse_tags(text) == tags


def test_tag_count_is_bounded():
    assert len(parse_tags(", ".join(f"tag{i}" for i in range(100)), max_tags=20)) == 20


def test_analysis_output_has_no_character_xml_forbids(client, monkeypatch):
    """A caption decoded with a stray control character (random or badly tuned models emit them) is
    cleaned before it reaches the browser, which writes it into XMP sidecars."""
    from atelier.engine.families.vlm import VLMModel

    real = VLMModel.caption_batch

    def with_controls(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        for c in out:
            c.text = f"a harbour\x07 at\x00 dusk\ud800 {c.text}\x0b"
        return out

    monkeypatch.setattr(VLMModel, "caption_batch", with_controls)
    r = client.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["caption"]})
    assert r.status_code == 200, r.text
    caption = r.json()["caption"]
    assert caption.startswith("a harbour at dusk")
    assert not any(ord(ch) < 0x20 and ch not in "\t\n\r" or 0xD800 <= ord(ch) <= 0xDFFF for ch in caption)
