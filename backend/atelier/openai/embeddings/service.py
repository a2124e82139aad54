"""Embeddings: OpenAI's request in, vectors out; texts beside the GPU worker, images on it.

No FastAPI here. Everything that can be checked is checked before anything is queued (a 400
naming the input item): types, empty items, the input bound, the model and its kind, the
dimensions, data URLs that are not images or do not decode, texts past the model's token limit.

Where the work runs:
- texts only, the model loaded: on a request thread, on the text tower, which never leaves the CPU
  (engine/families/siglip.py): a search query never waits behind an SDXL job;
- texts only, the model not loaded: a job at interactive priority loads it (and embeds);
- any image: a job at background priority (the browser's indexing lane sends batches of
  thumbnails), so a person generating or chatting goes first.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import numpy as np
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import Services
from atelier.api.disconnect import await_job
from atelier.core.errors import InvalidImage, InvalidParameter, ModelNotDownloaded
from atelier.core.images import PendingImage, decoding_cost, pending_image
from atelier.engine.base import ModelSpec
from atelier.engine.families.siglip import DECODE_SIDE, EmbeddingsModel, Gone, check_token_limit, count_tokens_for
from atelier.engine.vram.planner import Task
from atelier.engine.worker import JobContext, Priority
from atelier.openai.embeddings.protocol import Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage


def _param(i: int | None) -> str:
    return "input" if i is None else f"input.{i}"


@dataclass
class PreparedEmbeddings:
    spec: ModelSpec
    items: list[str | PendingImage]  # images still compressed: the job decodes them
    tokens: list[int]  # per item: text tokens, or the image tower's patches
    encoding_format: str
    texts: list[int] = field(default_factory=list)  # indexes of the text items
    images: list[int] = field(default_factory=list)  # indexes of the image items


# ----------------------------------------------------------------------------- checking
def _items(value: object, max_inputs: int, max_chars: int) -> list[str]:
    if isinstance(value, str):
        values: list[object] = [value]
        single = True
    elif isinstance(value, list):
        values, single = value, False
    else:
        raise InvalidParameter(
            f"input must be a string or a list of strings (text, or image data URLs), got {type(value).__name__}",
            param="input")
    if not values:
        raise InvalidParameter("input is empty: send a string or a list of strings", param="input")
    if len(values) > max_inputs:
        raise InvalidParameter(f"input has {len(values)} items; at most {max_inputs} per request "
                               "(ATELIER_MAX_EMBEDDING_INPUTS)", param="input")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values) or any(isinstance(v, list) for v in values):
        raise InvalidParameter("token-id arrays are not supported: the ids of one tokenizer mean nothing to "
                               "another model; send the text itself", param="input")
    out = []
    for i, v in enumerate(values):
        where = _param(None if single else i)
        if not isinstance(v, str):
            raise InvalidParameter(f"{where} must be a string (text or an image data URL), got {type(v).__name__}",
                                   param=where)
        if not v.strip():
            raise InvalidParameter(f"{where} is empty: embed some text or an image", param=where)
        if not v.startswith("data:") and len(v) > max_chars:
            raise InvalidParameter(f"{where} is {len(v):,} characters; at most {max_chars:,} (ATELIER_MAX_PROMPT_CHARS)",
                                   param=where)
        out.append(v)
    return out


def _resolve(services: Services, name: str | None) -> ModelSpec:
    name = name or services.manager.default_model("embeddings")
    spec = services.catalog.resolve(name)  # unknown: 404 model_not_found, as OpenAI answers
    if spec.kind != "embeddings":
        ours = ", ".join(s.id for s in services.catalog.all() if s.kind == "embeddings") or "none in this catalog"
        raise InvalidParameter(f"model {spec.id!r} is a {spec.kind} model, not an embeddings model; "
                               f"embeddings models: {ours}", param="model")
    return spec


def prepare(services: Services, req: EmbeddingsRequest) -> PreparedEmbeddings:
    """Validate everything that can be checked before queueing (blocking: run it off the event loop)."""
    settings = services.settings
    values = _items(req.input, settings.max_embedding_inputs, settings.max_prompt_chars)
    single = isinstance(req.input, str)
    spec = _resolve(services, req.model)
    family = services.manager.family(spec)
    if not family.is_downloaded(spec):
        raise ModelNotDownloaded.for_model(spec.id)
    dim = family.dimension(spec)
    if req.dimensions is not None and req.dimensions != dim:
        raise InvalidParameter(f"dimensions must be {dim} for {spec.id} (or left out): SigLIP vectors cannot be "
                               f"shortened without losing their meaning, got {req.dimensions}", param="dimensions")
    items: list[str | PendingImage] = []
    texts, images = [], []
    for i, v in enumerate(values):
        where = _param(None if single else i)
        if v.startswith("data:"):
            if not v[5:].lower().startswith("image/"):
                raise InvalidImage(f"{where} is a data URL that is not an image ({v[5:40].split(';')[0] or 'no type'}); "
                                   "send text, or an image as data:image/<type>;base64,...", param=where)
            items.append(pending_image(v, max_pixels=settings.max_image_pixels, param=where))
            images.append(i)
        else:
            items.append(v)
            texts.append(i)
    if len(images) > settings.max_batch:
        raise InvalidParameter(f"input has {len(images)} images; at most {settings.max_batch} per request "
                               "(ATELIER_MAX_BATCH)", param="input")
    tokens = [0] * len(items)
    if texts:
        counts = count_tokens_for(spec, [items[i] for i in texts])  # type: ignore[misc]
        check_token_limit(counts, family.max_tokens(spec), lambda k: _param(None if single else texts[k]))
        for k, i in enumerate(texts):
            tokens[i] = counts[k]
    if images:
        patches = family.image_tokens(spec)
        for i in images:
            tokens[i] = patches
    return PreparedEmbeddings(spec, items, tokens, req.encoding_format, texts, images)


# ----------------------------------------------------------------------------- running
def _work(prepared: PreparedEmbeddings):
    def run(model: EmbeddingsModel, ctx: JobContext) -> np.ndarray:
        out = np.zeros((len(prepared.items), model.dim), np.float32)
        if prepared.images:
            decoded = [prepared.items[i].decode(DECODE_SIDE) for i in prepared.images]  # type: ignore[union-attr]
            out[prepared.images] = model.embed_images(decoded, cancelled=lambda: ctx.cancelled)
        if prepared.texts:
            out[prepared.texts] = model.embed_texts([prepared.items[i] for i in prepared.texts])  # type: ignore[misc]
        return out

    return run


async def embed(services: Services, prepared: PreparedEmbeddings, request: Request) -> EmbeddingsResponse:
    spec = prepared.spec
    vectors = None
    if not prepared.images:
        model = services.manager.loaded(spec.id)
        if isinstance(model, EmbeddingsModel):
            try:
                vectors = await run_in_threadpool(model.embed_texts, list(prepared.items))  # type: ignore[arg-type]
            except Gone:
                vectors = None  # unloaded meanwhile: the job below loads it again
    if vectors is None:
        run = _work(prepared)
        pending = [prepared.items[i] for i in prepared.images]
        job = services.worker.submit(
            "embeddings",
            lambda ctx: services.manager.run(spec, lambda m: run(m, ctx), Task(kind="vision", batch=max(1, len(pending)))),
            priority=Priority.BACKGROUND if pending else Priority.INTERACTIVE,
            params={"model": spec.id, "texts": len(prepared.texts), "images": len(pending)},
            cost_bytes=decoding_cost(pending, DECODE_SIDE),  # type: ignore[arg-type]
        )
        vectors = await await_job(job, request, services.worker)
    return to_response(prepared, vectors)


def to_response(prepared: PreparedEmbeddings, vectors: np.ndarray) -> EmbeddingsResponse:
    def encode(v: np.ndarray) -> list[float] | str:
        if prepared.encoding_format == "base64":
            return base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
        return v.tolist()

    n = sum(prepared.tokens)
    return EmbeddingsResponse(
        data=[Embedding(index=i, embedding=encode(v)) for i, v in enumerate(vectors)],
        model=prepared.spec.id,
        usage=EmbeddingsUsage(prompt_tokens=n, total_tokens=n),
    )

