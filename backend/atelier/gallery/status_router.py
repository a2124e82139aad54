"""GET /v1/status: device, memory, mode, models and the queue (an Ollama `/api/ps` for Atelier)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from atelier import __version__
from atelier.api.deps import ServicesDep

router = APIRouter(tags=["status"])


@router.get("/status")
async def get_status(services: ServicesDep) -> dict[str, Any]:
    """Device (VRAM, or RAM on a CPU-only machine), configured and effective VRAM mode, every catalog
    model's state (not_downloaded | on_disk | in_ram | on_gpu | offloaded) with dtype, quantisation,
    bytes per device, last use and expiry, the GPU queue, and each vision model's measured speed
    (`analysis`: moving-average ms per image, images and batches done) for clients sizing batches.
    A model not loaded has `planned`: how the planner would place it and its size, from its configs;
    null until the models are sized (in the background, after the first status call)."""
    return {
        "object": "status",
        "version": __version__,
        "models_catalog": services.settings.models,
        **services.manager.status(),
        "queue": services.worker.snapshot(),
        "analysis": services.analysis.snapshot(),
    }
