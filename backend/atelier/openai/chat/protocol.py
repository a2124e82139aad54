"""OpenAI's /v1/chat/completions wire format, field for field in OpenAI's order.

Fields OpenAI defines that Atelier cannot honour (tools, logprobs, penalties...) are accepted and
ignored, as vLLM does, so existing clients keep working; our own extensions are marked. Request
models are strict, as OpenAI validates: `"stream": "yes"` or `"max_tokens": "5"` is a 400 naming
the field, never coerced.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


# ----------------------------------------------------------------------------- request
STRICT = ConfigDict(strict=True)


class ImageURL(BaseModel):
    model_config = STRICT

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ContentPart(BaseModel):
    """A text or image_url part. Validated loosely here so the error can name the part."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str
    text: str | None = None
    image_url: ImageURL | str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["text", "json_object", "json_schema"] = "text"


class StreamOptions(BaseModel):
    model_config = STRICT

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    messages: list[ChatMessage] = Field(min_length=1)
    # Atelier extension: optional (OpenAI requires it); omitted or empty, the server's default
    # vision model answers (ModelManager.resolve), and the response names it.
    model: str | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    n: int = 1
    presence_penalty: float | None = None
    response_format: ResponseFormat | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    user: str | None = None
    # --- Atelier extensions (as in vLLM): generate at least this many tokens before EOS.
    min_tokens: int = Field(default=0, ge=0)


# ----------------------------------------------------------------------------- response
class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length"]


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=completion_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: None = None
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChunkChoice]
    usage: Usage | None = None

    def sse(self, *, with_usage_field: bool) -> str:
        """One SSE event. The delta omits unset fields (a content chunk carries no role); `usage`
        appears (as null until the last chunk) only when the client asked for it."""
        body: dict[str, Any] = self.model_dump(exclude={"choices", "usage"})
        body["choices"] = [
            {**c.model_dump(exclude={"delta"}), "delta": c.delta.model_dump(exclude_none=True)}
            for c in self.choices
        ]
        if with_usage_field:
            body["usage"] = self.usage.model_dump() if self.usage else None
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


SSE_DONE = "data: [DONE]\n\n"  # raw, never JSON-encoded: the clients compare the bytes
SSE_PING = ": ping\n\n"  # an SSE comment: keeps proxies from timing out, ignored by clients
