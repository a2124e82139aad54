"""The Moondream adapter against Moondream 2's documented method contract, with a fake model.

No weights here: the fake implements caption/query/detect/point/encode_image as documented for
revision 2025-06-21 (streamed answers are iterators of text pieces) and records every call."""

import json
import struct

import pytest
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter
from atelier.engine.base import ModelSpec, Placement
from atelier.engine.catalog import REAL_MODELS
from atelier.engine.families import moondream as md
from atelier.engine.vision import Conversation, GenerationParams, Message
from conftest import png_data_url

SPEC = next(s for s in REAL_MODELS if s.id == "moondream-2")


class FakeTokenizer:
    class _Enc:
        def __init__(self, ids):
            self.ids = ids

    def encode(self, text):
        return self._Enc(list(range(len(text.split()))))


class FakeMoondream:
    """Moondream 2's public API, as documented; answers are canned word streams."""

    def __init__(self):
        self.calls = []
        self.tokenizer = FakeTokenizer()

    def to(self, device):  # nn.Module's, as HfMoondream is one
        return self

    def _answer(self, text, stream):
        words = [w + " " for w in text.split()]
        return iter(words) if stream else text

    def encode_image(self, image):
        assert isinstance(image, Image.Image)
        return ("encoded", image.size)

    def caption(self, image, length="normal", stream=False, settings=None):
        assert length in ("short", "normal", "long")
        self.calls.append(("caption", image, length, settings))
        return {"caption": self._answer("a red square on a white wall", stream)}

    def query(self, image=None, question=None, stream=False, settings=None):
        self.calls.append(("query", image, question, settings))
        if "tags" in question.lower():
            return {"answer": self._answer("Red, Square, wall, red, Minimal art.", stream)}
        return {"answer": self._answer("it is a red square STOP and more", stream)}

    def detect(self, image, object):
        self.calls.append(("detect", image, object))
        return {"objects": [{"x_min": 0.1, "y_min": 0.2, "x_max": 0.5, "y_max": 0.6}]}

    def point(self, image, object):
        return {"points": [{"x": 0.3, "y": 0.4}]}


@pytest.fixture
def fake():
    return FakeMoondream()


@pytest.fixture
def loaded(fake):
    return md.MoondreamModel(SPEC, Placement(), fake)


def img(color=(255, 0, 0)):
    return Image.new("RGB", (32, 24), color)


def test_load_runs_the_pinned_remote_code_from_the_local_cache_only(monkeypatch, fake):
    seen = {}

    def fake_from_pretrained(spec, kwargs):
        seen.update(kwargs, source=spec.source)
        return fake

    monkeypatch.setattr(md.FAMILY, "_from_pretrained", fake_from_pretrained)
    model = md.FAMILY.load(SPEC, Placement())
    assert seen["source"] == "vikhyatk/moondream2" and seen["revision"] == "2025-06-21"
    assert seen["trust_remote_code"] is True and seen["local_files_only"] is True
    assert seen["use_safetensors"] is True
    assert model.requires_image and "detect" in model.capabilities


def test_nf4_placement_passes_a_bitsandbytes_config(monkeypatch, fake):
    seen = {}
    monkeypatch.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: seen.update(kw) or fake)
    md.FAMILY.load(SPEC, Placement(quant="nf4"))
    q = seen["quantization_config"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4"


def test_chat_asks_the_last_image_the_last_user_question(loaded, fake):
    first, last = img((1, 2, 3)), img((4, 5, 6))
    conv = Conversation([
        Message("system", ["Be terse."]),
        Message("user", [first, "old question"]),
        Message("assistant", ["old answer"]),
        Message("user", [last, "What colour?"]),
    ])
    pieces = []
    out = loaded.chat(conv, GenerationParams(max_tokens=50, temperature=0.2, top_p=0.9), on_text=pieces.append)
    kind, image, question, settings = fake.calls[-1]
    assert kind == "query" and image is last
    assert question.endswith("What colour?") and question.startswith("Be terse.")
    assert settings == {"max_tokens": 50, "temperature": 0.2, "top_p": 0.9}
    assert out.text == "".join(pieces) == "it is a red square STOP and more "
    assert out.prompt_tokens == md.IMAGE_TOKENS + loaded.count_tokens(question)
    assert out.completion_tokens == loaded.count_tokens(out.text) and out.finish_reason == "stop"


def test_chat_without_an_image_is_refused(loaded):
    with pytest.raises(InvalidParameter, match="image"):
        loaded.chat(Conversation([Message("user", ["hi"])]), GenerationParams())


def test_stop_sequence_is_cut_and_never_streamed(loaded):
    pieces = []
    out = loaded.chat(Conversation([Message("user", [img(), "q"])]), GenerationParams(stop=["STOP"]),
                      on_text=pieces.append)
    assert out.text == "it is a red square " and "STOP" not in "".join(pieces)
    assert out.finish_reason == "stop"


def test_cancel_stops_the_stream(loaded):
    with pytest.raises(Cancelled):
        loaded.chat(Conversation([Message("user", [img(), "q"])]), GenerationParams(), cancelled=lambda: True)


def test_caption_batch_uses_moondreams_caption_for_each_image(loaded, fake):
    out = loaded.caption_batch([img(), img()], "short")
    assert [c.text for c in out] == ["a red square on a white wall"] * 2
    assert [c[0] for c in fake.calls] == ["caption", "caption"] and fake.calls[0][2] == "short"


def test_detect_and_point_return_normalised_coordinates(loaded):
    (box,) = loaded.detect(img(), "square")
    assert box == {"name": "square", "x_min": 0.1, "y_min": 0.2, "x_max": 0.5, "y_max": 0.6}
    assert loaded.point(img(), "square") == [{"x": 0.3, "y": 0.4}]


def test_is_downloaded_needs_both_repos(monkeypatch, tmp_path):
    weights = tmp_path / "md"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"")
    cached = {"vikhyatk/moondream2": weights}
    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: cached.get(repo))
    assert md.FAMILY.is_downloaded(SPEC) is False  # starmie-v1 (tokenizer) missing
    cached[md.TOKENIZER_REPO] = tmp_path
    assert md.FAMILY.is_downloaded(SPEC) is True


def test_estimate_bytes_from_safetensors_header_or_documented_size(monkeypatch, tmp_path):
    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: None)
    import torch

    fp16 = md.FAMILY.estimate_bytes(SPEC, Placement(dtype=torch.float16))
    nf4 = md.FAMILY.estimate_bytes(SPEC, Placement(dtype=torch.float16, quant="nf4"))
    assert 3.5e9 < fp16 < 3.9e9 and nf4 < fp16 / 3
    header = {"text.blocks.0.mlp.fc1.weight": {"dtype": "F16", "shape": [64, 32], "data_offsets": [0, 4096]},
              "text.wte": {"dtype": "F16", "shape": [10, 32], "data_offsets": [4096, 4736]}}
    raw = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    monkeypatch.setattr(md, "_snapshot", lambda repo, rev: tmp_path)
    assert md.FAMILY.estimate_bytes(SPEC, Placement(dtype=torch.float16)) == (64 * 32 + 10 * 32) * 2


# --- through the HTTP API, with the fake standing in for the checkpoint ----------------------
@pytest.fixture(scope="module")
def md_client(tiny_settings):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    mp = pytest.MonkeyPatch()
    mp.setattr(md.FAMILY, "_from_pretrained", lambda spec, kw: FakeMoondream())
    mp.setattr(md.FAMILY, "is_downloaded", lambda spec: True)
    with TestClient(create_app(tiny_settings)) as c:
        c.app.state.services.catalog.add(SPEC)
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
    assert body["usage"]["prompt_tokens"] > md.IMAGE_TOKENS


def test_analyze_with_moondream_captions_tags_and_locates_objects(md_client):
    r = md_client.post("/v1/analyze", json={"image": png_data_url(), "model": "moondream-2",
                                            "tasks": ["caption", "tags", "objects"], "caption_length": "short"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["caption"] == "a red square on a white wall"
    assert [t["name"] for t in body["tags"]] == ["red", "square", "wall", "minimal art"]
    assert {o["name"] for o in body["objects"]} == {"red", "square", "wall"}
