"""Model and VRAM control: preload a model, unload models, switch the VRAM mode.

Every model operation runs as an interactive job on the GPU worker (the only thread that touches
models), so these endpoints wait behind the running job, never beside it.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from atelier.api.deps import ServicesDep
from atelier.engine.worker import Priority
from atelier.gallery.schemas import SwitchResponse, UnloadResponse, VramModeResponse

router = APIRouter(tags=["models"])


class SwitchRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    model_id: str = Field(description="A catalog id or alias, e.g. sdxl-realism or moondream-2.")


class UnloadRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    model_id: str | None = Field(default=None, description="Unload this model; all models when absent.")


class ModeRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    mode: Literal["auto", "high", "balanced", "low"]


@router.post("/model/switch")
async def switch_model(body: SwitchRequest, services: ServicesDep) -> SwitchResponse:
    """Preload a model as the planner places it; returns when it is ready, with timings."""
    spec = services.catalog.resolve(body.model_id)
    job = services.worker.submit("model.switch", lambda ctx: services.manager.switch(spec),
                                 priority=Priority.INTERACTIVE, params={"model_id": spec.id})
    result = await job.wait()
    queued_ms = ((job.started_at or job.created) - job.created) * 1000
    return SwitchResponse.model_validate({**result, "queued_ms": round(queued_ms, 1)})


@router.post("/model/unload")
async def unload_model(services: ServicesDep, body: UnloadRequest | None = None) -> UnloadResponse:
    """Free one model (or all) from the GPU and the RAM cache."""
    model_id = None
    if body is not None and body.model_id:
        model_id = services.catalog.resolve(body.model_id).id
    job = services.worker.submit("model.unload", lambda ctx: services.manager.unload(model_id),
                                 priority=Priority.INTERACTIVE, params={"model_id": model_id})
    unloaded = await job.wait()
    return UnloadResponse(unloaded=unloaded)


@router.post("/vram/mode")
async def set_vram_mode(body: ModeRequest, services: ServicesDep) -> VramModeResponse:
    """Switch the VRAM mode at runtime. It is applied between jobs: after the running one ends."""
    manager = services.manager
    manager.request_mode(body.mode)
    job = services.worker.submit("vram.mode", lambda ctx: manager.apply_pending_mode(),
                                 priority=Priority.INTERACTIVE, params={"mode": body.mode})
    await job.wait()
    effective, why = manager.effective_mode()
    return VramModeResponse(configured=manager.configured_mode, effective=effective, reason=why)
