"""GET /v1/status: device, memory, models and the queue (an Ollama `/api/ps` for Atelier)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from atelier import __version__
from atelier.api.deps import ServicesDep

router = APIRouter(tags=["status"])


@router.get("/status")
async def get_status(services: ServicesDep) -> dict[str, Any]:
    return {
        "object": "status",
        "version": __version__,
        "models_catalog": services.settings.models,
        **services.manager.status(),
        "queue": services.worker.snapshot(),
    }
