"""A fast stand-in for Moondream 2's remote code, with the real code's shape and signatures.

It follows `moondream/torch/{hf_moondream,moondream}.py` at commit 44146f1 as run by the real_code
tests (tests/real_code/): `HfMoondream` wraps `.model`, which holds `.tokenizer` (encode(text).ids,
decode(ids)), `.config` (text.max_context, tokenizer.templates), bfloat16 layers and the text
decoder's first-block qkv projection every token passes through. Like the real code:

- a skill given a PIL image and a settings dict encodes it with `encode_image(image, settings)`,
  which reads `settings["variant"]` with no default (KeyError); an `EncodedImage` skips that;
- the prompt is prefilled when the skill is called, each generated id costs one more forward pass,
  decoding stops at the end-of-text id or after settings["max_tokens"] ids; query() appends the
  template's suffix twice; streamed text is cut after spaces;
- detect/point return `max_objects` (default 50) results, not clamped to [0, 1].

Answers are canned words (one token each) so tests can assert exact counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
from PIL import Image

EOS = 0
IMAGE_POS = 730  # BOS + 27 x 27 patches
TEMPLATES = {
    "caption": {"short": [1, 32708, 2, 12492, 3], "normal": [1, 32708, 2, 6382, 3], "long": [1, 32708, 2, 4059, 3]},
    "query": {"prefix": [1, 15381, 2], "suffix": [3]},
    "detect": {"prefix": [1, 7235, 476, 2], "suffix": [3]},
    "point": {"prefix": [1, 2581, 2], "suffix": [3]},
}


class FakeTokenizer:
    """One id per word (ids from 10 up: 0-9 are Moondream's specials)."""

    def __init__(self):
        self.words: dict[str, int] = {}

    def encode(self, text: str):
        ids = [self.words.setdefault(w, 10 + len(self.words)) for w in text.split()]
        return SimpleNamespace(ids=ids, tokens=text.split())

    def decode(self, ids: list[int]) -> str:
        rev = {i: w for w, i in self.words.items()}
        return " ".join(rev.get(i, "?") for i in ids if i >= 10) + " "


@dataclass(frozen=True)
class EncodedImage:
    pos: int
    caches: list = field(default_factory=list)


class FakeMoondream(torch.nn.Module):
    """HfMoondream: the skills live on `.model` and are exposed by properties that set up caches."""

    def __init__(self, answers: dict[str, str] | None = None):
        super().__init__()
        self.model = _Inner(answers or {})
        self.calls: list[tuple] = self.model.calls

    def _setup_caches(self):
        self.model.caches_ready = True

    def __getattr__(self, name):
        if name in ("encode_image", "query", "caption", "detect", "point"):
            self._setup_caches()
            return getattr(self.model, name)
        return super().__getattr__(name)


class _Inner(torch.nn.Module):
    def __init__(self, answers: dict[str, str]):
        super().__init__()
        self.tokenizer = FakeTokenizer()
        self.config = SimpleNamespace(text=SimpleNamespace(max_context=2048),
                                      tokenizer=SimpleNamespace(templates=TEMPLATES))
        dim = 8
        self.text = torch.nn.ModuleDict({"blocks": torch.nn.ModuleList([torch.nn.ModuleDict({
            "attn": torch.nn.ModuleDict({"qkv": torch.nn.Linear(dim, 3 * dim, dtype=torch.bfloat16)})})])})
        self.vision = torch.nn.ModuleDict({"patch_emb": torch.nn.Linear(588, dim, dtype=torch.bfloat16)})
        self.vision.pos_emb = torch.nn.Parameter(torch.zeros(1, 729, dim, dtype=torch.bfloat16))
        self.answers = {"caption": "a red square on a white wall",
                        "tags": "Red, Square, wall, red, Minimal art.",
                        "query": "it is a red square STOP and more", **answers}
        self.calls: list[tuple] = []
        self.caches_ready = False
        self.dim = dim

    # the text decoder: every forward pass reads its tokens through the first block's qkv
    def _forward(self, n_tokens: int) -> None:
        self.text.blocks[0].attn.qkv(torch.zeros(1, n_tokens, self.dim, dtype=torch.bfloat16))

    def encode_image(self, image, settings=None):
        if isinstance(image, EncodedImage):
            return image
        if not isinstance(image, Image.Image):
            raise ValueError("image must be a PIL Image or EncodedImage")
        if settings is not None and settings["variant"] is not None:  # the real code's unguarded read
            raise NotImplementedError("LoRA variants are not part of the fake")
        self.calls.append(("encode_image", image))
        self._forward(IMAGE_POS)
        return EncodedImage(pos=IMAGE_POS)

    def _generate(self, prompt: list[int], answer: str, settings):
        max_tokens = (settings or {}).get("max_tokens", 768)
        self._forward(len(prompt))  # the prefill runs when the skill is called, before any text
        ids = self.tokenizer.encode(answer).ids + [EOS]

        def stream():
            n = 0
            while ids[n] != EOS and n < max_tokens:
                self._forward(1)
                yield self.tokenizer.decode([ids[n]])
                n += 1

        return stream()

    def caption(self, image, length="normal", stream=False, settings=None):
        if length not in TEMPLATES["caption"]:
            raise ValueError(f"Model does not support caption length '{length}'.")
        image = self.encode_image(image, settings)
        self.calls.append(("caption", image, length, settings))
        out = self._generate(TEMPLATES["caption"][length], self.answers["caption"], settings)
        return {"caption": out if stream else "".join(out)}

    def query(self, image=None, question=None, reasoning=False, spatial_refs=None, stream=False, settings=None):
        if question is None:
            raise ValueError("question must be provided.")
        image = self.encode_image(image, settings)
        self.calls.append(("query", image, question, settings))
        t = TEMPLATES["query"]
        prompt = t["prefix"] + self.tokenizer.encode(question).ids + t["suffix"] + t["suffix"]
        answer = self.answers["tags"] if "tags" in question.lower() else self.answers["query"]
        out = self._generate(prompt, answer, settings)
        return {"answer": out if stream else "".join(out)}

    def _objects(self, settings):
        n = (settings or {}).get("max_objects", 50)
        return [{"x_min": -0.05 + 0.01 * i, "y_min": 0.2, "x_max": 0.5, "y_max": 1.1} for i in range(n)]

    def detect(self, image, object, settings=None):
        image = self.encode_image(image, settings)
        self.calls.append(("detect", image, object, settings))
        return {"objects": self._objects(settings)}

    def point(self, image, object, settings=None):
        image = self.encode_image(image, settings)
        self.calls.append(("point", image, object, settings))
        return {"points": [{"x": (o["x_min"] + o["x_max"]) / 2, "y": 1.02} for o in self._objects(settings)]}
