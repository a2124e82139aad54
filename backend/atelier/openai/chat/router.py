"""POST /v1/chat/completions: HTTP only; the work is in service.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from atelier.api.deps import ServicesDep
from atelier.api.disconnect import await_job
from atelier.openai.chat import service
from atelier.openai.chat.protocol import ChatCompletion, ChatCompletionRequest

router = APIRouter(tags=["openai"])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "A chat.completion, or chat.completion.chunk events when stream is true."}},
)
async def create_chat_completion(body: ChatCompletionRequest, request: Request, services: ServicesDep):
    # The body is a parameter, parsed before the stream starts: reading request.json() inside
    # the generator would hang.
    prepared = await service.prepare(services, body)
    job = service.submit(services, prepared, stream=body.stream)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            service.stream_chunks(services, prepared, job, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = await await_job(job, request, services.worker)
    return service.to_completion(prepared, result)
