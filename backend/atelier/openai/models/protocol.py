"""OpenAI's /v1/models wire format, extended (marked) with what a gallery UI needs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    # --- Atelier extensions
    type: Literal["generation", "vision", "upscaler", "embeddings"]
    family: str
    description: str
    aliases: list[str]
    downloaded: bool
    loaded: bool
    # Weights at fp16 without quantisation, from the model's configs; null when unknown
    # (config not on disk yet and no documented size), or not known yet (a model is loading: sizing
    # waits for a moment when none is, see ModelManager.while_no_load).
    size_bytes: int | None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
