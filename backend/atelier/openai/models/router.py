"""GET /v1/models and GET /v1/models/{id}: every catalog model (generation, vision, upscaler, embeddings) and the LoRA files."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from atelier.api.deps import Services, ServicesDep
from atelier.core.errors import ModelNotFound
from atelier.engine.base import ModelSpec
from atelier.engine.families.lora import LoraInfo
from atelier.engine.status import size_bytes
from atelier.openai.models.protocol import LoraDetails, Model, ModelList

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


def _lora(services: Services, info: LoraInfo) -> Model:
    details = info.public()
    attached = {a["name"] for row in services.manager.status().get("models", []) for a in row.get("loras", [])}
    return Model(
        id=info.name, created=info.modified, owned_by="atelier", type="lora", family="lora",
        description=(f"{details['base']} LoRA ({info.format})" if info.status == "ok" else f"{info.status}: {info.error}"),
        aliases=[info.alias] if info.alias and info.alias != info.name else [], downloaded=True,
        loaded=info.name in attached, size_bytes=info.size_bytes,
        lora=LoraDetails(**{k: v for k, v in details.items() if k in LoraDetails.model_fields}),
    )


def _all(services: Services) -> list[Model]:
    # The LoRA folder is rescanned (a stat per file; new files hashed once): off the event loop too.
    return _models(services) + [_lora(services, i) for i in services.loras.all()]


@router.get("/models", response_model=ModelList)
async def list_models(services: ServicesDep) -> ModelList:
    """Catalog models (generation, vision, upscaler, embeddings) and, with `type: lora`, the files of ATELIER_LORAS_DIR."""
    # Sizing reads configs from disk (and builds meta-device models once): off the event loop.
    return ModelList(data=await run_in_threadpool(_all, services))


@router.get("/models/{model_id:path}", response_model=Model)
async def retrieve_model(model_id: str, services: ServicesDep) -> Model:
    try:
        spec = services.catalog.resolve(model_id)
    except ModelNotFound:
        info = await run_in_threadpool(services.loras.find, model_id)
        if info is None:
            raise
        return await run_in_threadpool(_lora, services, info)
    return (await run_in_threadpool(_models, services, spec))[0]
