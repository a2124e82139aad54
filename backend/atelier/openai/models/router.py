"""GET /v1/models and GET /v1/models/{id}: every catalog model, vision and generation."""

from __future__ import annotations

import logging

import torch
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import Services, ServicesDep
from atelier.engine.base import ModelSpec, Placement
from atelier.openai.models.protocol import Model, ModelList

router = APIRouter(tags=["openai"])
log = logging.getLogger("atelier.models")

LOADED_STATES = {"in_ram", "on_gpu", "offloaded"}


def _size(services: Services, spec: ModelSpec) -> int | None:
    family = services.manager.families.get(spec.family)
    if family is None:
        return None
    try:
        # Sized only while no model loads (see ModelManager.while_no_load); unknown meanwhile.
        n = services.manager.while_no_load(
            lambda: family.estimate_bytes(spec, Placement(device="cpu", dtype=torch.float16)))
        return None if n is None else int(n)
    except Exception as exc:  # no config on disk yet: unknown, not an error
        log.debug("no size for %s: %s", spec.id, exc)
        return None


def _models(services: Services, only: ModelSpec | None = None) -> list[Model]:
    states = {row["id"]: row.get("state") for row in services.manager.status().get("models", [])}
    specs = [only] if only is not None else services.catalog.all()
    return [
        Model(
            id=s.id, created=s.created, owned_by=s.source.split("/")[0] if not s.local else "atelier",
            type=s.kind, family=s.family, description=s.description, aliases=list(s.aliases),
            downloaded=states.get(s.id, "not_downloaded") != "not_downloaded",
            loaded=states.get(s.id) in LOADED_STATES,
            size_bytes=_size(services, s),
        )
        for s in specs
    ]


@router.get("/models", response_model=ModelList)
async def list_models(services: ServicesDep) -> ModelList:
    # Sizing reads configs from disk (and builds meta-device models once): off the event loop.
    return ModelList(data=await run_in_threadpool(_models, services))


@router.get("/models/{model_id:path}", response_model=Model)
async def retrieve_model(model_id: str, services: ServicesDep) -> Model:
    spec = services.catalog.resolve(model_id)
    return (await run_in_threadpool(_models, services, spec))[0]
