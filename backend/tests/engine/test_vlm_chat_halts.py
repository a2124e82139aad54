"""The generic VLM's chat() ends generate() early, at the token where it must: a cancel (a client
that went away) or a stop sequence. On the tiny Llava, through the production loader."""

from __future__ import annotations

import pytest

from atelier.core.errors import Cancelled
from atelier.core.images import decode_image
from atelier.engine.base import ModelSpec, Placement
from atelier.engine.families.vlm import FAMILY
from atelier.engine.vision import Conversation, GenerationParams, Message
from conftest import png_data_url

N = 300


@pytest.fixture(scope="module")
def vlm(tiny_models_dir):
    spec = ModelSpec(id="tiny-vlm", kind="vision", family="vlm", source=str(tiny_models_dir / "tiny" / "tiny-vlm"),
                     local=True)
    return FAMILY.load(spec, Placement())


@pytest.fixture(scope="module")
def conv():
    return Conversation([Message("user", ["Describe this image.", decode_image(png_data_url(), max_pixels=10**8)])])


def test_a_cancel_ends_generation_at_the_next_token(vlm, conv):
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) >= 5

    with pytest.raises(Cancelled):
        vlm.chat(conv, GenerationParams(max_tokens=N, min_tokens=N), cancelled=cancelled)
    # Asked once per generated token (and once after): it stopped there, not after N tokens.
    assert len(asked) <= 6


def test_a_stop_sequence_ends_generation_where_it_appears(vlm, conv):
    deltas: list[str] = []
    full = vlm.chat(conv, GenerationParams(max_tokens=N, min_tokens=N), on_text=deltas.append)
    assert full.completion_tokens == N and full.finish_reason == "length"
    assert len(deltas) >= 2, f"the tiny model's text no longer streams in pieces: {deltas!r}"
    stop = deltas[1]
    assert stop not in deltas[0]

    streamed: list[str] = []
    cut = vlm.chat(conv, GenerationParams(max_tokens=N, min_tokens=N, stop=[stop]), on_text=streamed.append)
    assert cut.text == "".join(streamed) == deltas[0]
    assert cut.finish_reason == "stop"
    # Generation ended at the token that completed the stop sequence, not at max_tokens.
    assert 0 < cut.completion_tokens < N
