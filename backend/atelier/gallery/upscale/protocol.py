"""Wire format of /v1/upscale and /v1/upscale/jobs (Atelier's own endpoints).

Bounds are checked in service.py, with messages that say what to change; here only the shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class UpscaleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    image: str = Field(description="Base64 or data URL: the image to upscale.")
    scale: int = Field(default=4, description="2 or 4: output px per input px, per side.")
    model: str | None = Field(default=None, description="An upscaler id or alias; the first downloaded upscaler if omitted.")
    tile_size: int | None = Field(
        default=None, description="Upscaler tile side in input px, 32-512; the planner's (what the free memory allows) "
                                  "if omitted, and never more than that.")
    enhance: bool = Field(default=False, description="Then redraw details with SDXL img2img, 1024 px tile by tile.")
    enhance_model: str | None = Field(default=None, description="The SDXL model for enhance; ATELIER_DEFAULT_GENERATION_MODEL if omitted.")
    prompt: str | None = Field(default=None, description="Enhance: what the image shows; the image's own embedded prompt if omitted.")
    negative_prompt: str | None = None
    strength: float | None = Field(default=None, description="Enhance: how far each tile may move, 0-0.6 (default 0.3).")
    steps: int | None = Field(default=None, description="Enhance: the model's default if omitted; raised so at least one step runs.")
    guidance_scale: float | None = Field(default=None, description="Enhance: the model's default if omitted.")
    seed: int | None = Field(default=None, description="Enhance: -1 or absent: random; every tile uses it.")
    overlap: int | None = Field(default=None, description="Enhance: px shared by neighbouring 1024 px tiles, 128-256 (default 192).")
    output_format: Literal["png", "jpeg", "webp"] = "png"
    priority: Literal["interactive", "background"] = Field(default="interactive", description="Queue priority.")


class UpscaledImage(BaseModel):
    b64_json: str
    width: int
    height: int


class UpscaleResponse(BaseModel):
    id: str
    object: Literal["upscale"] = "upscale"
    created: int
    model: str
    data: list[UpscaledImage]
    parameters: dict[str, Any] = Field(description="Every parameter used, defaults and the planner's tile size filled in.")
    timings: dict[str, float] = Field(description="queued_ms, upscale_ms, enhance_ms, encode_ms, total_ms.")
