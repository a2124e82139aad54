"""Chat completions: OpenAI messages in, a job on the GPU worker, a completion or SSE chunks out.

No FastAPI here: the router hands over the parsed request; failures are typed errors that the
one translator in core/errors.py turns into the OpenAI envelope, for JSON and inside streams.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from atelier.api.deps import Services
from atelier.core.errors import Cancelled, InvalidParameter, error_body
from atelier.core.images import WORK_SIDE, PendingImage, decoding_cost
from atelier.core.remote_images import load_image
from atelier.engine.base import ModelSpec
from atelier.engine.vision import Completion, Conversation, GenerationParams, Message
from atelier.engine.vram.planner import Task
from atelier.engine.worker import Job, JobContext, Priority
from atelier.openai.chat.protocol import (
    SSE_DONE,
    SSE_PING,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Usage,
    completion_id,
)

DEFAULT_MAX_TOKENS = 512
MAX_TOKENS_LIMIT = 4096
MAX_STOP = 4
HEARTBEAT_S = 10.0
JSON_INSTRUCTION = "Respond with one valid JSON object and nothing else."


@dataclass
class PreparedChat:
    spec: ModelSpec
    conv: Conversation  # images still compressed (PendingImage): the job decodes them
    params: GenerationParams
    json_mode: bool

    @property
    def pending(self) -> list[PendingImage]:
        return [p for m in self.conv.messages for p in m.parts if isinstance(p, PendingImage)]


def _decoded(conv: Conversation) -> Conversation:
    """The conversation with its images decoded (on the worker, when the job runs), scaled to WORK_SIDE."""
    return Conversation([Message(m.role, [p.decode(WORK_SIDE) if isinstance(p, PendingImage) else p for p in m.parts])
                         for m in conv.messages])


@dataclass
class ChatResult:
    completion: Completion
    load_ms: float
    generate_ms: float


# ----------------------------------------------------------------------------- preparing
async def prepare(services: Services, req: ChatCompletionRequest) -> PreparedChat:
    """Validate everything that can be checked before queueing, so those errors are plain 4xx."""
    settings = services.settings
    spec = services.manager.resolve(req.model, "vision")
    family = services.manager.families.get(spec.family)
    if req.n != 1:
        raise InvalidParameter(f"n must be 1 (one completion per request), got {req.n}", param="n")

    max_tokens = req.max_completion_tokens or req.max_tokens or DEFAULT_MAX_TOKENS
    if max_tokens > MAX_TOKENS_LIMIT:
        raise InvalidParameter(f"max_tokens must be at most {MAX_TOKENS_LIMIT}, got {max_tokens}",
                               param="max_tokens")
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > MAX_STOP:
        raise InvalidParameter(f"stop takes at most {MAX_STOP} sequences, got {len(stop)}", param="stop")
    params = GenerationParams(
        max_tokens=max_tokens,
        # Omitted temperature means greedy decoding: deterministic answers about an image.
        temperature=req.temperature if req.temperature is not None else 0.0,
        top_p=req.top_p if req.top_p is not None else 1.0,
        stop=[s for s in stop if s],
        seed=req.seed,
        min_tokens=min(req.min_tokens, max_tokens),
    )

    messages: list[Message] = []
    n_images = 0
    for i, msg in enumerate(req.messages):
        role = "system" if msg.role == "developer" else msg.role
        if role == "tool":
            raise InvalidParameter("tool messages are not supported: vision models here do not call tools",
                                   param=f"messages.{i}.role")
        parts: list[Any] = []
        if isinstance(msg.content, str):
            parts.append(msg.content)
        elif msg.content is not None:
            for j, part in enumerate(msg.content):
                where = f"messages.{i}.content.{j}"
                if part.type == "text":
                    if part.text is None:
                        raise InvalidParameter("a text part needs 'text'", param=f"{where}.text")
                    parts.append(part.text)
                elif part.type == "image_url":
                    url = part.image_url.url if hasattr(part.image_url, "url") else part.image_url
                    if not url:
                        raise InvalidParameter("an image_url part needs image_url.url", param=f"{where}.image_url")
                    if role != "user":
                        raise InvalidParameter("images may only appear in user messages", param=where)
                    n_images += 1
                    if n_images > settings.max_batch:
                        raise InvalidParameter(
                            f"at most {settings.max_batch} images per request (ATELIER_MAX_BATCH)", param=where)
                    parts.append(await load_image(url, settings, param=f"{where}.image_url"))
                else:
                    raise InvalidParameter(
                        f"unsupported content part type {part.type!r}: use 'text' or 'image_url'",
                        param=f"{where}.type")
        messages.append(Message(role, parts))

    json_mode = req.response_format is not None and req.response_format.type in ("json_object", "json_schema")
    if json_mode:
        systems = [m for m in messages if m.role == "system"]
        if systems:
            systems[0].parts.append(JSON_INSTRUCTION)
        else:
            messages.insert(0, Message("system", [JSON_INSTRUCTION]))

    conv = Conversation(messages)
    if family is not None and getattr(family, "requires_image", False) and not any(
            isinstance(p, PendingImage) for m in messages for p in m.parts):
        raise InvalidParameter(
            f"{spec.id} answers questions about an image: add an image_url content part "
            "(data:image/png;base64,...) to a user message", param="messages")
    services.manager.ensure_downloaded(spec)
    return PreparedChat(spec, conv, params, json_mode)


def submit(services: Services, prepared: PreparedChat, *, stream: bool) -> Job:
    def work(ctx: JobContext) -> ChatResult:
        conv = _decoded(prepared.conv)
        t_load = time.perf_counter()

        def with_model(model: Any) -> ChatResult:
            load_ms = (time.perf_counter() - t_load) * 1000
            if stream:
                ctx.emit("loaded", load_ms=round(load_ms, 1))
            t0 = time.perf_counter()
            on_text = (lambda text: ctx.emit("delta", text=text)) if stream else None
            out = model.chat(conv, prepared.params, on_text=on_text, cancelled=lambda: ctx.cancelled)
            return ChatResult(out, load_ms, (time.perf_counter() - t0) * 1000)

        # run() recovers once from an out-of-memory error (evict, tile, drop a mode, retry).
        return services.manager.run(prepared.spec, with_model, Task(kind="vision"))

    return services.worker.submit(
        "chat", work, priority=Priority.INTERACTIVE,
        params={"model": prepared.spec.id, "stream": stream, "max_tokens": prepared.params.max_tokens},
        cost_bytes=decoding_cost(prepared.pending, WORK_SIDE),
    )


# ----------------------------------------------------------------------------- responses
def extract_json(text: str) -> str:
    """Best effort for response_format=json_object: the first balanced JSON object in `text`."""
    start = text.find("{")
    while start >= 0:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(obj, dict):
                return json.dumps(obj, ensure_ascii=False)
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return text


def to_completion(prepared: PreparedChat, result: ChatResult) -> ChatCompletion:
    c = result.completion
    text = extract_json(c.text) if prepared.json_mode else c.text
    return ChatCompletion(
        model=prepared.spec.id,
        choices=[Choice(index=0, message=AssistantMessage(content=text), finish_reason=c.finish_reason)],
        usage=Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
                    total_tokens=c.prompt_tokens + c.completion_tokens),
    )


async def stream_chunks(services: Services, prepared: PreparedChat, job: Job,
                        include_usage: bool) -> AsyncIterator[str]:
    """SSE lines: role chunk, content deltas, the finish_reason chunk, optional usage, [DONE].

    A failure after the first byte is sent as a data object with an `error` key (both official
    clients raise APIError on it). If the client goes away, Starlette cancels this generator and
    the `finally` cancels the job, which stops generate() at its next token."""
    cid, created, model = completion_id(), int(time.time()), prepared.spec.id

    def chunk(delta: Delta, finish: str | None = None) -> str:
        return ChatCompletionChunk(
            id=cid, created=created, model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
        ).sse(with_usage_field=include_usage)

    # Content chunks are most of a stream: built from the bytes of one built the long way, so only
    # the text is encoded per chunk (the same bytes as chunk(Delta(content=text))).
    marker = "\x00content\x00"
    head, tail = chunk(Delta(content=marker)).split(json.dumps(marker, ensure_ascii=False))

    def content_chunk(text: str) -> str:
        return head + json.dumps(text, ensure_ascii=False) + tail

    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    last_event = loop.time()

    async def pump() -> None:
        async for ev in job.subscribe():
            events.put_nowait(ev)
        events.put_nowait(None)

    def heartbeat() -> None:
        # A ping after HEARTBEAT_S without an event; one timer for the stream, not a timeout (a task
        # and a timer) per token.
        nonlocal ping_timer
        idle = loop.time() - last_event
        if idle >= HEARTBEAT_S:
            events.put_nowait(SSE_PING)  # queued behind other jobs, or loading a model
        ping_timer = loop.call_later(HEARTBEAT_S - idle if idle < HEARTBEAT_S else HEARTBEAT_S, heartbeat)

    pump_task = asyncio.create_task(pump())
    ping_timer = loop.call_later(HEARTBEAT_S, heartbeat)
    try:
        yield chunk(Delta(role="assistant", content=""))
        ended = False
        while not ended:
            ev = await events.get()
            last_event = loop.time()
            if ev is SSE_PING:
                yield SSE_PING
                continue
            # Deltas that arrived together go out as one chunk: under load the stream keeps up
            # with generation instead of writing one event per token.
            text: list[str] = []
            while True:
                if ev is None:
                    ended = True
                    break
                if ev is not SSE_PING and ev.type == "delta" and ev.data.get("text"):
                    text.append(ev.data["text"])
                if events.empty():
                    break
                ev = events.get_nowait()
            if text:
                yield content_chunk("".join(text))

        if job.status == "done":
            c: Completion = job.result.completion
            yield chunk(Delta(), finish=c.finish_reason)
            if include_usage:
                usage = Usage(prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
                              total_tokens=c.prompt_tokens + c.completion_tokens)
                yield ChatCompletionChunk(id=cid, created=created, model=model, choices=[],
                                          usage=usage).sse(with_usage_field=True)
        else:
            err = job.error if isinstance(job.error, BaseException) else Cancelled("the request was cancelled")
            yield f"data: {json.dumps(error_body(err))}\n\n"
        yield SSE_DONE
    finally:
        ping_timer.cancel()
        pump_task.cancel()
        if not job.finished:
            services.worker.cancel(job.id)

