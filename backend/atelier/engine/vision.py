"""What the vision services see of a loaded vision model, whatever its family.

Both vision families (`families/vlm.py`, `families/moondream.py`) return objects that satisfy
`VisionModel`. Services build a `Conversation` (roles, text and decoded images), pick
`GenerationParams`, and call these methods on the GPU worker thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from PIL import Image

Role = Literal["system", "user", "assistant"]
Part = str | Image.Image  # a message is an ordered list of text pieces and images

CAPTION_PROMPTS = {
    "short": "Describe this image in one short sentence.",
    "normal": "Describe this image in two or three sentences.",
    "long": "Describe this image in detail: the subject, the setting, colours, lighting and style.",
}
CAPTION_TOKENS = {"short": 48, "normal": 128, "long": 320}

TAGS_PROMPT = (
    "List 10 to 20 short tags for this image (objects, people, scene, style, colours), "
    "as one comma-separated line of lowercase words. Reply with the tags only."
)


@dataclass
class Message:
    role: Role
    parts: list[Part]

    @property
    def text(self) -> str:
        return "\n".join(p for p in self.parts if isinstance(p, str))

    @property
    def images(self) -> list[Image.Image]:
        return [p for p in self.parts if isinstance(p, Image.Image)]


@dataclass
class Conversation:
    messages: list[Message]

    @property
    def images(self) -> list[Image.Image]:
        return [img for m in self.messages for img in m.images]


@dataclass
class GenerationParams:
    max_tokens: int = 256
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    min_tokens: int = 0


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]


OnText = Callable[[str], None]
IsCancelled = Callable[[], bool]


def _never() -> bool:
    return False


class VisionModel(Protocol):
    # "chat" (multi-turn), "system" (system prompts), "detect" and "point" (boxes, points).
    capabilities: frozenset[str]
    requires_image: bool
    # False: one image per call (Moondream), so analysis runs every task of an image before the
    # next one and the model can reuse that image's encoding; True: tasks run over the whole batch.
    batches_images: bool

    def count_tokens(self, text: str) -> int: ...

    def chat(self, conv: Conversation, params: GenerationParams, *, on_text: OnText | None = None,
             cancelled: IsCancelled = _never) -> Completion: ...

    def ask_batch(self, images: list[Image.Image], prompt: str, params: GenerationParams, *,
                  cancelled: IsCancelled = _never) -> list[Completion]:
        """One single-turn question about each image, answered in as few passes as the model allows."""
        ...

    def caption_batch(self, images: list[Image.Image], length: str, *,
                      cancelled: IsCancelled = _never) -> list[Completion]: ...

    def detect(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        """Normalised boxes {name, x_min, y_min, x_max, y_max} in [0, 1], at most `max_objects`."""
        ...

    def point(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        """Normalised points {name, x, y} in [0, 1], at most `max_objects`."""
        ...


class StopTrimmer:
    """Cuts streamed text at the first stop sequence, holding back what might begin one.

    OpenAI never returns the stop sequence itself, and a streamed delta must never have to be
    taken back, so up to `len(longest stop) - 1` characters wait until they are known safe.
    """

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self.buffer += text
        if not self.stops:
            out, self.buffer = self.buffer, ""
            return out
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer, self.stopped = self.buffer[:cut], "", True
            return out
        safe = len(self.buffer) - self.hold
        if safe <= 0:
            return ""
        out, self.buffer = self.buffer[:safe], self.buffer[safe:]
        return out

    def flush(self) -> str:
        out, self.buffer = ("" if self.stopped else self.buffer), ""
        return out
