"""GET /v1/status: device, memory, mode, models and the queue (an Ollama `/api/ps` for Atelier)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from atelier import __version__
from atelier.api.deps import ServicesDep
from atelier.gallery.schemas import DefaultModels, StatusResponse

router = APIRouter(tags=["status"])


# Fields a row does not have (a loaded model has no `planned`) are left out, not sent as null.
@router.get("/status", response_model_exclude_unset=True)
async def get_status(services: ServicesDep) -> StatusResponse:
    """Device (VRAM, or RAM on a CPU-only machine), configured and effective VRAM mode, every catalog
    model's state (not_downloaded | on_disk | in_ram | on_gpu | offloaded) with dtype, quantisation,
    bytes per device, last use and expiry, the GPU queue, and each vision model's measured speed
    (`analysis`: moving-average ms per image, images and batches done) for clients sizing batches.
    A model not loaded has `planned`: how the planner would place it and its size, from its configs;
    null while a load runs (models are sized when none does, then remembered). A model not downloaded
    has `download_bytes` (about what its download fetches, counted from its configs) and
    `download_hint` (how to fetch it, the words every "not downloaded" error uses). `default_models`:
    the model a request of each kind gets when it names none. `loras`: the files of ATELIER_LORAS_DIR
    as GET /v1/models describes them; a loaded model lists the adapters attached to it (`loras` on its
    row: bytes, active, weight)."""
    # The first call sizes the models from their configs (seconds of imports): off the event loop.
    manager = services.manager
    models_state = await run_in_threadpool(manager.status)
    defaults = await run_in_threadpool(lambda: {k: manager.default_model(k) for k in DefaultModels.model_fields})
    loras = await run_in_threadpool(services.loras.all)
    return StatusResponse.model_validate({
        "object": "status",
        "version": __version__,
        "models_catalog": services.settings.models,
        **models_state,
        "default_models": defaults,
        "queue": services.worker.snapshot(),
        "analysis": services.analysis.snapshot(),
        "loras": [i.public() for i in loras],
    })
