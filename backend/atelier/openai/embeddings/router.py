"""POST /v1/embeddings: HTTP only; the work is in service.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import ServicesDep
from atelier.openai.embeddings import service
from atelier.openai.embeddings.protocol import EmbeddingsRequest, EmbeddingsResponse

router = APIRouter(tags=["openai"])


@router.post("/embeddings", response_model=EmbeddingsResponse)
async def create_embeddings(body: EmbeddingsRequest, request: Request, services: ServicesDep) -> EmbeddingsResponse:
    """Text (a string or a list of strings) or, as an extension, image data URLs, into one vector
    space: unit-length float32 vectors, as JSON floats or base64 (`encoding_format`)."""
    # Tokenizing and probing images read files: off the event loop.
    prepared = await run_in_threadpool(service.prepare, services, body)
    return await service.embed(services, prepared, request)
