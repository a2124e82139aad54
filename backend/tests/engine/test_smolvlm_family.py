"""SmolVLM (transformers' Idefics3) through the production VLM loader, on a tiny random-weight
model built from the real classes (tests/engine/tiny_idefics3.py): the catalog's `smolvlm-256m`
runs this code path, with image splitting, SmolVLM's chat template and special tokens."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from atelier.engine.base import ModelSpec, Placement
from atelier.engine.families.vlm import FAMILY, BATCH_CHUNK
from atelier.engine.vision import CAPTION_PROMPTS, Conversation, GenerationParams, Message
from conftest import png_data_url
from tests.engine import tiny_idefics3


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> ModelSpec:
    d = tiny_idefics3.build(tmp_path_factory.mktemp("tiny-smolvlm"))
    return ModelSpec(id="tiny-smolvlm", kind="vision", family="vlm", source=str(d), local=True)


@pytest.fixture(scope="module")
def smol(spec):
    return FAMILY.load(spec, Placement())


# Different sizes split into different numbers of tiles: 2x2 + global, 1 + global, 2x1 + global.
IMAGES = [Image.new("RGB", (48, 40), (200, 0, 0)), Image.new("RGB", (20, 20), (0, 0, 200)),
          Image.new("RGB", (70, 30), (0, 200, 0))]


def processor_tokens(model, messages, images) -> int:
    prompt = model.processor.apply_chat_template(model._hf_messages(messages), add_generation_prompt=True,
                                                 tokenize=False)
    return model.processor(text=[prompt], images=images or None, return_tensors="pt")["input_ids"].shape[1]


def test_loads_the_real_idefics3_classes_with_its_chat_template(smol):
    assert type(smol.model).__name__ == "Idefics3ForConditionalGeneration"
    assert type(smol.processor).__name__ == "Idefics3Processor"
    assert smol.capabilities == {"chat", "system"} and smol.batches_images
    assert smol.eos_ids == {smol.tokenizer.convert_tokens_to_ids("<end_of_utterance>")}


def test_caption_batch_runs_images_of_different_tile_counts_in_one_generate_call(smol, monkeypatch):
    calls = []
    real = smol.model.generate
    monkeypatch.setattr(smol.model, "generate", lambda **kw: calls.append(kw["input_ids"].shape) or real(**kw))
    out = smol.caption_batch(IMAGES, "short")
    assert len(calls) == 1 and calls[0][0] == 3 and len(IMAGES) <= BATCH_CHUNK
    assert len(out) == 3
    for c, img in zip(out, IMAGES):
        assert isinstance(c.text, str) and 0 <= c.completion_tokens <= 48
        assert c.finish_reason == ("length" if c.completion_tokens == 48 else "stop")
        # each row's own prompt (left padding excluded), its image tokens expanded per tile
        assert c.prompt_tokens == processor_tokens(smol, [Message("user", [img, CAPTION_PROMPTS["short"]])], [img])
    assert len({c.prompt_tokens for c in out}) > 1  # the tiles differ, so do the prompts


def test_multi_turn_chat_with_a_system_prompt_streams_and_counts(smol):
    conv = Conversation([Message("system", ["Be terse."]), Message("user", [IMAGES[0], "What is it?"]),
                         Message("assistant", ["A square."]), Message("user", ["And its colour?"])])
    pieces = []
    out = smol.chat(conv, GenerationParams(max_tokens=6), on_text=pieces.append)
    assert out.text == "".join(pieces)
    assert out.prompt_tokens == processor_tokens(smol, conv.messages, [IMAGES[0]])
    assert 0 < out.completion_tokens <= 6


def test_loaded_bytes_match_the_footprint_from_its_config(smol, spec):
    fp = FAMILY.parts(spec)
    assert sum(smol.bytes_by_device().values()) == fp.total_bytes(torch.float32)


def test_nf4_quantises_the_linear_layers_and_still_captions(spec):
    from bitsandbytes.nn import Linear4bit

    q = FAMILY.load(spec, Placement(quant="nf4"))
    assert any(isinstance(m, Linear4bit) for m in q.model.modules())
    out = q.caption_batch(IMAGES[:2], "short")
    assert len(out) == 2 and all(isinstance(c.text, str) and c.completion_tokens > 0 for c in out)
    measured = sum(q.bytes_by_device().values())
    assert measured == pytest.approx(FAMILY.footprint(spec, Placement(quant="nf4")), rel=0.02)
    assert measured < 0.6 * FAMILY.footprint(spec, Placement())


# --- through the HTTP API ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def smol_client(tiny_settings, spec):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    with TestClient(create_app(tiny_settings)) as c:
        c.app.state.services.catalog.add(spec)
        yield c


def test_chat_completions_and_batch_analysis_on_smolvlm(smol_client):
    r = smol_client.post("/v1/chat/completions", json={"model": "tiny-smolvlm", "max_tokens": 5, "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [{"type": "text", "text": "What?"},
                                     {"type": "image_url", "image_url": {"url": png_data_url()}}]}]})
    assert r.status_code == 200, r.text
    assert 0 < r.json()["usage"]["completion_tokens"] <= 5
    images = [png_data_url(size=(48, 40)), png_data_url(size=(20, 64))]
    r = smol_client.post("/v1/analyze/batch", json={"model": "tiny-smolvlm", "tasks": ["caption", "tags"],
                                                    "images": images})
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert [it["index"] for it in items] == [0, 1] and all(isinstance(it["caption"], str) for it in items)
    assert all(isinstance(it["tags"], list) for it in items)
