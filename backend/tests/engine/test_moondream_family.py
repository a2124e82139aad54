"""The Moondream adapter, fast: against a fake that follows the real code's signatures and shape
(tests/engine/fake_moondream.py). The same paths run against the real code in tests/real_code/."""

import json

import pytest
import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed
from atelier.engine.base import Placement
from atelier.engine.catalog import REAL_MODELS
from atelier.engine.families import moondream as md
from atelier.engine.vision import Conversation, GenerationParams, Message
from atelier.engine.vram import planner as vp
from conftest import png_data_url
from tests.engine.fake_moondream import IMAGE_POS, TEMPLATES, EncodedImage, FakeMoondream

SPEC = next(s for s in REAL_MODELS if s.id == "moondream-2")
TOKENIZER_REPO, TOKENIZER_REV = SPEC.extra_repos[0]


@pytest.fixture
def fake():
    return FakeMoondream()


@pytest.fixture
def loaded(fake):
    return md.MoondreamModel(SPEC, Placement(dtype=torch.bfloat16), fake)


def img(color=(255, 0, 0)):
    return Image.new("RGB", (32, 24), color)


def encodes(fake):
    return [c for c in fake.calls if c[0] == "encode_image"]


# --- loading ------------------------------------------------------------------------------------
def test_catalog_pins_the_tokenizer_repo_the_code_loads_by_name():
    assert SPEC.revision == "2025-06-21"
    assert TOKENIZER_REPO == "moondream/starmie-v1" and len(TOKENIZER_REV) == 40


def test_load_runs_the_pinned_remote_code_from_the_local_cache_only(monkeypatch, fake):
    seen = {}

    def fake_from_pretrained(spec, kwargs):
        seen.update(kwargs, source=spec.source)
        return fake

    monkeypatch.setattr(md.FAMILY, "_from_pretrained", fake_from_pretrained)
    model = md.FAMILY.load(SPEC, Placement(dtype=torch.bfloat16))
    assert seen["source"] == "vikhyatk/moondream2" and seen["revision"] == "2025-06-21"
    assert seen["trust_remote_code"] is True and seen["local_files_only"] is True
    assert seen["use_safetensors"] is True and seen["dtype"] == torch.bfloat16
    assert seen["device_map"] == {"": "cpu"} and "quantization_config" not in seen
    assert model.requires_image and not model.batches_images and "detect" in model.capabilities
    assert fake.model.caches_ready  # KV caches allocated at load: reported bytes = planned bytes


def test_the_codes_tokenizer_download_resolves_to_the_pinned_commit_from_the_cache(monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **kw: calls.append((a, kw)) or "/x")
    real = huggingface_hub.hf_hub_download
    with md.pinned_hub_files(dict(SPEC.extra_repos)):
        # What tokenizers' Tokenizer.from_pretrained("moondream/starmie-v1") calls, keywords only:
        huggingface_hub.hf_hub_download(repo_id=TOKENIZER_REPO, filename="tokenizer.json", revision="main")
        huggingface_hub.hf_hub_download("other/repo", "x.json", revision="main")  # not pinned: untouched
    assert huggingface_hub.hf_hub_download is real
    assert calls[0][1] == {"repo_id": TOKENIZER_REPO, "filename": "tokenizer.json", "revision": TOKENIZER_REV,
                           "local_files_only": True}
    assert calls[1] == (("other/repo", "x.json"), {"revision": "main"})


def test_nf4_keeps_the_vision_tower_region_heads_and_lm_head_dense(monkeypatch, fake):
    seen = {}
    monkeypatch.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: seen.update(kw) or fake)
    md.FAMILY.load(SPEC, Placement(dtype=torch.bfloat16, quant="nf4"))
    q = seen["quantization_config"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and q.bnb_4bit_compute_dtype == torch.bfloat16
    assert q.llm_int8_skip_modules == ["vision", "region", "lm_head"]


def test_float16_placement_casts_the_weights_and_the_bfloat16_crops(monkeypatch, fake):
    monkeypatch.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: fake)
    md.FAMILY.load(SPEC, Placement(dtype=torch.float16))
    assert {p.dtype for p in fake.parameters()} == {torch.float16}
    crops = torch.zeros(2, 729, 588, dtype=torch.bfloat16)  # the code makes its crops in bfloat16
    assert fake.model.vision.patch_emb(crops).dtype == torch.float16


def test_offloaded_placements_are_refused_with_the_reason(monkeypatch, fake):
    monkeypatch.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: fake)
    with pytest.raises(ModelLoadFailed, match="outside module calls"):
        md.FAMILY.load(SPEC, Placement(device="cuda", dtype=torch.bfloat16, offload="sequential"))


# --- every call path ----------------------------------------------------------------------------
def test_chat_asks_the_last_image_the_last_user_question_with_real_usage(loaded, fake):
    first, last = img((1, 2, 3)), img((4, 5, 6))
    conv = Conversation([
        Message("system", ["Be terse."]),
        Message("user", [first, "old question"]),
        Message("assistant", ["old answer"]),
        Message("user", [last, "What colour?"]),
    ])
    pieces = []
    out = loaded.chat(conv, GenerationParams(max_tokens=50, temperature=0.2, top_p=0.9), on_text=pieces.append)
    kind, image, question, settings = next(c for c in fake.calls if c[0] == "query")
    assert kind == "query" and isinstance(image, EncodedImage)
    assert [c[1] for c in encodes(fake)] == [last]
    assert question == "Be terse.\n\nWhat colour?"
    assert settings == {"max_tokens": 50, "temperature": 0.2, "top_p": 0.9}
    assert out.text == "".join(pieces) == "it is a red square STOP and more "
    # The context the code built: the encoded image, the query template (suffix twice) and the question.
    q = TEMPLATES["query"]
    assert out.prompt_tokens == IMAGE_POS + len(q["prefix"]) + 4 + 2 * len(q["suffix"])
    assert out.completion_tokens == 8 and out.finish_reason == "stop"


def test_finish_reason_is_length_when_max_tokens_ids_were_generated(loaded):
    out = loaded.chat(Conversation([Message("user", [img(), "q"])]), GenerationParams(max_tokens=3))
    assert out.text == "it is a " and out.completion_tokens == 3 and out.finish_reason == "length"


def test_chat_without_an_image_is_refused(loaded):
    with pytest.raises(InvalidParameter, match="image"):
        loaded.chat(Conversation([Message("user", ["hi"])]), GenerationParams())


def test_max_tokens_is_capped_at_the_room_left_in_the_2048_context(loaded, fake):
    words = " ".join(f"w{i}" for i in range(1200))
    out = loaded.chat(Conversation([Message("user", [img(), words])]), GenerationParams(max_tokens=4000))
    settings = next(c for c in fake.calls if c[0] == "query")[3]
    assert settings["max_tokens"] == 2048 - IMAGE_POS - (3 + 1200 + 2) and out.finish_reason == "stop"
    with pytest.raises(InvalidParameter, match="context is 2048 tokens"):
        loaded.chat(Conversation([Message("user", [img(), words + " " + words])]), GenerationParams())


def test_stop_sequence_is_cut_and_never_streamed(loaded):
    pieces = []
    out = loaded.chat(Conversation([Message("user", [img(), "q"])]), GenerationParams(stop=["STOP"]),
                      on_text=pieces.append)
    assert out.text == "it is a red square " and "STOP" not in "".join(pieces)
    assert out.finish_reason == "stop" and out.completion_tokens == 6  # decoding ended at the stop


def test_cancel_stops_the_stream(loaded):
    with pytest.raises(Cancelled):
        loaded.chat(Conversation([Message("user", [img(), "q"])]), GenerationParams(), cancelled=lambda: True)


def test_caption_batch_encodes_each_image_once_and_passes_the_encoding(loaded, fake):
    a, b = img(), img((0, 0, 255))
    out = loaded.caption_batch([a, b], "short")
    assert [c.text for c in out] == ["a red square on a white wall"] * 2
    captions = [c for c in fake.calls if c[0] == "caption"]
    assert [c[2] for c in captions] == ["short", "short"] and all(isinstance(c[1], EncodedImage) for c in captions)
    assert captions[0][3] == {"max_tokens": 48, "temperature": 0.0, "top_p": 1.0}
    assert [c[1] for c in encodes(fake)] == [a, b]
    assert out[0].prompt_tokens == IMAGE_POS + 5 and out[0].completion_tokens == 7


def test_the_skills_of_one_image_share_one_encoding(loaded, fake):
    image = img()
    loaded.caption_batch([image], "normal")
    loaded.ask_batch([image], "List tags", GenerationParams(max_tokens=20))
    loaded.detect(image, "square", 2)
    loaded.point(image, "square", 2)
    assert len(encodes(fake)) == 1
    loaded.caption_batch([img()], "normal")  # another image object: encoded, and the old one let go
    assert len(encodes(fake)) == 2 and loaded._encoded[0] is not image


def test_detect_and_point_are_bounded_and_clamped_to_the_image(loaded, fake):
    boxes = loaded.detect(img(), "square", 3)
    assert len(boxes) == 3 and next(c for c in fake.calls if c[0] == "detect")[3] == {"max_objects": 3}
    for b in boxes:
        assert b["name"] == "square"
        assert 0.0 <= b["x_min"] <= b["x_max"] <= 1.0 and 0.0 <= b["y_min"] <= b["y_max"] <= 1.0
    assert boxes[0]["x_min"] == 0.0 and boxes[0]["y_max"] == 1.0  # the code said -0.05 and 1.1
    points = loaded.point(img(), "square", 2)
    assert points == [{"name": "square", "x": 0.225, "y": 1.0}, {"name": "square", "x": 0.23, "y": 1.0}]


def test_count_tokens_uses_the_codes_tokenizer(loaded, fake):
    assert loaded.tokenizer is fake.model.tokenizer
    assert loaded.count_tokens("three little words") == 3 and loaded.count_tokens("") == 0


# --- the family: download state, sizes, limits --------------------------------------------------
def _snapshot_dir(tmp_path, name, files):
    d = tmp_path / name
    d.mkdir()
    for f in files:
        (d / f).write_text("{}")
    return d


def test_is_downloaded_needs_the_code_the_weights_and_the_pinned_tokenizer(monkeypatch, tmp_path):
    weights = _snapshot_dir(tmp_path, "md", ["config.json", "hf_moondream.py", "model.safetensors"])
    tok = _snapshot_dir(tmp_path, "tok", ["tokenizer.json"])
    cached = {("vikhyatk/moondream2", "2025-06-21"): weights}
    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: cached.get((repo, rev)))
    assert md.FAMILY.is_downloaded(SPEC) is False  # starmie-v1 missing
    cached[(TOKENIZER_REPO, "main")] = tok
    assert md.FAMILY.is_downloaded(SPEC) is False  # an unpinned copy is not the pinned commit
    cached[(TOKENIZER_REPO, TOKENIZER_REV)] = tok
    assert md.FAMILY.is_downloaded(SPEC) is True
    (weights / "hf_moondream.py").unlink()
    assert md.FAMILY.is_downloaded(SPEC) is False  # the code is part of the model


def test_footprint_reads_the_cached_codes_config_py_without_running_it(monkeypatch, tmp_path):
    from atelier.engine.vram.footprint import moondream_footprint

    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: None)
    published = md.FAMILY.parts(SPEC)
    assert published == moondream_footprint()
    src = (md.__file__.replace("families/moondream.py", "vram/configs/moondream2.json"))
    cfg = json.loads(open(src).read())
    lines = ["from dataclasses import dataclass", "import os", "os.abort()  # never executed"]
    for cls, key in (("TextConfig", "text"), ("VisionConfig", "vision"), ("RegionConfig", "region")):
        fields = {**cfg[key], **({"dim": 64, "n_layers": 2, "n_heads": 1, "n_kv_heads": 1} if key == "text" else {})}
        lines += ["@dataclass(frozen=True)", f"class {cls}:"] + [f"    {k}: int = {v!r}" for k, v in fields.items()]
    d = tmp_path / "snap"
    d.mkdir()
    (d / "config.py").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: d)
    small = md.FAMILY.parts(SPEC)
    text = next(c for c in small.components if c.name == "text")
    assert text.params < next(c for c in published.components if c.name == "text").params / 20
    assert md.FAMILY.footprint(SPEC, Placement(dtype=torch.bfloat16)) == small.total_bytes(torch.bfloat16)


@pytest.mark.parametrize("device, dtype", [
    (vp.DeviceInfo("cpu", "cpu", 1, 1), torch.bfloat16),
    (vp.DeviceInfo("cuda", "RTX 3060", 1, 1, capability=(8, 6)), torch.bfloat16),
    (vp.DeviceInfo("cuda", "GTX 1080", 1, 1, capability=(6, 1)), torch.float16),
])
def test_limits_bfloat16_where_native_never_offloaded_one_image_at_a_time(device, dtype):
    limits = md.FAMILY.limits(SPEC, device)
    assert limits.dtype == dtype and limits.offloads == {"none"} and limits.images_at_once == 1
    assert "outside module calls" in limits.offload_reason


# --- through the HTTP API, with the fake standing in for the checkpoint ----------------------
@pytest.fixture(scope="module")
def md_client(tiny_settings):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    fakes = []
    mp = pytest.MonkeyPatch()
    mp.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: fakes.append(FakeMoondream()) or fakes[-1])
    mp.setattr(md.FAMILY, "is_downloaded", lambda spec: True)
    with TestClient(create_app(tiny_settings)) as c:
        c.app.state.services.catalog.add(SPEC)
        c.fakes = fakes
        yield c
    mp.undo()


def test_chat_api_without_an_image_for_moondream_is_a_400(md_client):
    r = md_client.post("/v1/chat/completions", json={
        "model": "moondream", "messages": [{"role": "user", "content": "hello"}]})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "messages" and "image" in err["message"]


def test_chat_api_with_an_image_for_moondream(md_client):
    r = md_client.post("/v1/chat/completions", json={"model": "moondream-2", "max_tokens": 20, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What?"},
                                     {"type": "image_url", "image_url": {"url": png_data_url()}}]}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "moondream-2" and body["choices"][0]["message"]["content"]
    assert body["usage"] == {"prompt_tokens": IMAGE_POS + 3 + 1 + 2, "completion_tokens": 8, "total_tokens": 744}


def test_analyze_with_moondream_encodes_once_and_runs_every_task(md_client):
    before = len(encodes(md_client.fakes[-1])) if md_client.fakes else 0
    r = md_client.post("/v1/analyze", json={"image": png_data_url(), "model": "moondream-2", "max_objects": 2,
                                            "tasks": ["caption", "tags", "objects", "points", "nsfw"],
                                            "caption_length": "short"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["caption"] == "a red square on a white wall"
    assert [t["name"] for t in body["tags"]] == ["red", "square", "wall", "minimal art"]
    assert len(body["objects"]) == 2 * 3 and {o["name"] for o in body["objects"]} == {"red", "square", "wall"}
    assert all(0 <= o["x_min"] <= o["x_max"] <= 1 and o["y_max"] <= 1 for o in body["objects"])
    assert len(body["points"]) == 2 * 3 and all(p["y"] == 1.0 for p in body["points"])
    assert body["nsfw"]["label"] in ("safe", "nsfw")
    fake = md_client.fakes[-1]
    assert len(encodes(fake)) - before == 1, fake.calls  # caption, tags, 3 detections, 3 pointings: one encoding
    assert {"caption_ms", "tags_ms", "objects_ms", "points_ms", "nsfw_ms"} <= set(body["timings"])


def test_batch_with_moondream_encodes_each_image_once_and_keeps_nsfw(md_client):
    images = [png_data_url(color=(i * 40, 10, 10)) for i in range(3)]
    before = len(encodes(md_client.fakes[-1])) if md_client.fakes else 0
    r = md_client.post("/v1/analyze/batch", json={"images": images, "model": "moondream-2",
                                                  "tasks": ["caption", "tags", "nsfw"]})
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert [it["index"] for it in items] == [0, 1, 2] and not any(it.get("error") for it in items)
    assert all(it["caption"] and it["tags"] and it["nsfw"] for it in items)
    assert len(encodes(md_client.fakes[-1])) - before == 3


def test_max_objects_is_bounded_by_the_api(md_client):
    r = md_client.post("/v1/analyze", json={"image": png_data_url(), "model": "moondream-2", "tasks": ["objects"],
                                            "objects": ["a"], "max_objects": 51})
    assert r.status_code == 400 and r.json()["error"]["param"] in ("max_objects", "body.max_objects")
    r = md_client.post("/v1/analyze", json={"image": png_data_url(), "model": "moondream-2", "tasks": ["objects"],
                                            "objects": ["a"]})
    assert len(r.json()["objects"]) == 10  # the default
