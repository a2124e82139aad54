"""OpenAI's /v1/models wire format, extended (marked) with what a gallery UI needs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer


class ModelDefaults(BaseModel):
    """What a request that leaves these out gets from this model (its family's `defaults(spec)`):
    the fields a generation model states, and whatever another kind's family adds. Only the
    fields the model states are sent."""

    model_config = ConfigDict(extra="allow")

    steps: int | None = None
    guidance_scale: float | None = None
    scheduler: str | None = None
    width: int | None = None
    height: int | None = None

    @model_serializer(mode="wrap")
    def _stated_only(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    # --- Atelier extensions
    type: str = Field(description="The model kind: generation, vision or embeddings (a new family may add one).")
    family: str
    description: str
    aliases: list[str]
    downloaded: bool
    loaded: bool
    # Weights at fp16 without quantisation, from the model's configs; null when unknown
    # (config not on disk yet and no documented size), or not known yet (a model is loading: sizing
    # waits for a moment when none is, see ModelManager.while_no_load).
    size_bytes: int | None
    # The request defaults its family gives this model (steps, guidance_scale, scheduler, width,
    # height for generation; empty where the server has none): what a request that leaves them out gets.
    defaults: ModelDefaults = Field(default_factory=ModelDefaults)


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
