"""POST /v1/upscale and POST /v1/upscale/jobs: HTTP only; the work is in service.py.

A job is followed, fetched and cancelled through the /v1/jobs/{id} endpoints like a generation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import ServicesDep
from atelier.api.disconnect import await_job
from atelier.gallery.generate.protocol import JobCreated
from atelier.gallery.upscale import service
from atelier.gallery.upscale.protocol import UpscaleRequest, UpscaleResponse

router = APIRouter(tags=["upscale"])


@router.post("/upscale", response_model=UpscaleResponse)
async def upscale(body: UpscaleRequest, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Upscales (and optionally enhances) and answers when the image is ready. Disconnecting cancels the job."""
    prepared = await run_in_threadpool(service.prepare, services, body)
    job = service.submit(services, prepared)
    return await await_job(job, request, services.worker)


@router.post("/upscale/jobs", status_code=202, response_model=JobCreated)
async def create_upscale_job(body: UpscaleRequest, services: ServicesDep) -> JobCreated:
    """Queues an upscale and answers at once; follow it with GET /v1/jobs/{id}/events (`tile` events: stage,
    tile i of n), cancel it with DELETE /v1/jobs/{id} (honoured between tiles and inside them)."""
    prepared = await run_in_threadpool(service.prepare, services, body)
    job = service.submit(services, prepared)
    return JobCreated(id=job.id, status=job.status, position=services.worker.position(job))
