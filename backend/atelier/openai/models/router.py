"""GET /v1/models and GET /v1/models/{id}: every catalog model, vision and generation."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import Services, ServicesDep
from atelier.engine.base import ModelSpec
from atelier.engine.status import size_bytes
from atelier.openai.models.protocol import Model, ModelList

router = APIRouter(tags=["openai"])
log = logging.getLogger("atelier.models")

LOADED_STATES = {"in_ram", "on_gpu", "offloaded"}


def _defaults(services: Services, spec: ModelSpec) -> dict[str, Any]:
    fam = services.manager.families.get(spec.family)
    return fam.defaults(spec) if fam is not None else dict(spec.defaults)


def _models(services: Services, only: ModelSpec | None = None) -> list[Model]:
    states = {row["id"]: row.get("state") for row in services.manager.status().get("models", [])}
    specs = [only] if only is not None else services.catalog.all()
    return [
        Model(
            id=s.id, created=s.created, owned_by=s.source.split("/")[0] if not s.local else "atelier",
            type=s.kind, family=s.family, description=s.description, aliases=list(s.aliases),
            downloaded=states.get(s.id, "not_downloaded") != "not_downloaded",
            loaded=states.get(s.id) in LOADED_STATES,
            size_bytes=size_bytes(services.manager, s),
            defaults=_defaults(services, s),
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
