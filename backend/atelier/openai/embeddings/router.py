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
    """Text (a string or a list of strings) or, as an extension, image data URLs
    (`data:image/png;base64,...`), into one vector space: unit-length float32 vectors in the order
    given, as JSON floats or base64 (`encoding_format`). Text is read lowercased and may be at most
    the model's token limit (64 for SigLIP 2, its training length): a longer one is refused (400
    naming `input.<i>`), never truncated. `usage` counts text tokens (with the end token) and, per
    image, the image tower's patches. Image batches run on the GPU worker at background priority;
    text runs beside it on the CPU (text tower) once the model is loaded, so a search query never
    waits behind a generation; loading it is a job at interactive priority. Unknown model: 404
    `model_not_found`; a model of another kind: 400; not downloaded: 409 `model_not_downloaded`."""
    # Tokenizing and probing images read files: off the event loop.
    prepared = await run_in_threadpool(service.prepare, services, body)
    return await service.embed(services, prepared, request)
