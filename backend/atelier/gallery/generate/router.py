"""POST /v1/generate and the /v1/jobs endpoints: HTTP only; the work is in service.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import ServicesDep
from atelier.api.disconnect import await_job
from atelier.core.errors import error_body
from atelier.engine.worker import Job
from atelier.gallery.generate import service
from atelier.gallery.generate.protocol import GenerateRequest, GenerateResponse, JobCreated, JobSummary

router = APIRouter(tags=["generation"])
RESULT_KINDS = ("generate", "upscale")  # jobs whose result GET /v1/jobs/{id} and its events carry


@router.post("/generate", response_model=GenerateResponse)
async def generate(body: GenerateRequest, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Generates and answers when the images are ready. Disconnecting cancels the job."""
    prepared = await run_in_threadpool(service.prepare, services, body)
    job = service.submit(services, prepared)
    return await await_job(job, request, services.worker)


@router.post("/jobs", status_code=202, response_model=JobCreated)
async def create_job(body: GenerateRequest, services: ServicesDep) -> JobCreated:
    """Queues a generation and answers at once; follow it with GET /v1/jobs/{id}/events."""
    prepared = await run_in_threadpool(service.prepare, services, body)
    job = service.submit(services, prepared)
    return JobCreated(id=job.id, status=job.status, position=services.worker.position(job))


def _summary(job: Job, position: int) -> dict[str, Any]:
    out = {**job.summary(), "position": position, "cancel_requested": job.cancel_requested}
    if job.status == "done" and job.kind in RESULT_KINDS:
        out["result"] = job.result
    if job.error is not None:
        out["error"] = error_body(job.error)["error"]
    return out


@router.get("/jobs/{job_id}", response_model=JobSummary)
async def get_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    job = services.worker.get(job_id)
    return _summary(job, services.worker.position(job))


@router.delete("/jobs/{job_id}", response_model=JobSummary)
async def cancel_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    """Removes a queued job (the answer says `cancelled`), or asks a running one to stop: the answer
    says `running` with `cancel_requested`, its events say `cancelling`, and the worker stops before
    the next block of the UNet or the VAE (within one denoising step, or one image's decode); its
    images are discarded and its events end with `cancelled`."""
    job = services.worker.cancel(job_id)
    return _summary(job, services.worker.position(job))


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def job_events(job_id: str, services: ServicesDep) -> StreamingResponse:
    """SSE, one `data:` JSON object per event: queued (position), started, loading (model, resident:
    already in memory), step (step, total; step 0 when denoising begins), decoding, cancelling (a
    cancel was requested), then done (with `result`), error (with `error`) or cancelled. Late
    subscribers get the history first."""
    job = services.worker.get(job_id)

    async def stream() -> AsyncIterator[str]:
        i = 0
        async for ev in job.subscribe():
            data = ev.as_dict()
            if ev.type == "done" and job.kind in RESULT_KINDS:
                data["result"] = job.result
                data["result_expired"] = job.result_expired
            yield f"id: {i}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            i += 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
