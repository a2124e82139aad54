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


class LoraDetails(BaseModel):
    """What the LoRA file's header says, and its hashes (A1111 writes `short_hash` in `Lora hashes`)."""

    status: Literal["ok", "incompatible", "unreadable", "refused"] = Field(
        description="ok: usable; incompatible: made for another base (SD 1.5, Flux...); unreadable: a "
                    "corrupt header (`error` says why); refused: a pickle file.")
    compatible: bool
    base: str = Field(description="sdxl, sd1, sd2, sd3, flux or unknown (from the metadata, else the key names).")
    format: str = Field(description="kohya, diffusers or unknown.")
    network_dim: int | None = None
    network_alpha: float | None = None
    triggers: list[str] = Field(description="modelspec.trigger_phrase, then the most frequent training tags.")
    sha256: str | None = None
    short_hash: str | None = Field(default=None, description="A1111's: the first 12 hex digits of the addnet hash.")
    alias: str | None = Field(default=None, description="kohya's ss_output_name.")
    error: str | None = None


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    # --- Atelier extensions
    type: Literal["generation", "vision", "upscaler", "embeddings", "lora"] = Field(
        description="The model kind: a catalog model's family kind (generation, vision, upscaler, embeddings), "
                    "or lora for a file of ATELIER_LORAS_DIR.")
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
    lora: LoraDetails | None = Field(default=None, description="Set for type `lora` (a file of ATELIER_LORAS_DIR).")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
