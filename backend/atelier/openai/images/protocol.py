"""OpenAI Images API wire format, field for field (POST /v1/images/generations and /v1/images/edits).

Fields OpenAI defines that have no meaning here (style, user, moderation, background) are accepted
and ignored, so unmodified clients work. Atelier extensions are marked. Strict, as OpenAI validates:
no string is coerced into a number.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from atelier.gallery.generate.protocol import LoraRequest


class ImageGenerateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    prompt: str
    background: str | None = None
    model: str | None = Field(default=None, description="dall-e-2, dall-e-3 and gpt-image-1 map to the default model.")
    moderation: str | None = None
    n: int | None = Field(default=1, description="1-4.")
    output_compression: int | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    quality: str | None = Field(default=None, description="low, medium, high, standard, hd or auto: scales the steps.")
    response_format: str | None = Field(default=None, description="Only b64_json: images are not hosted.")
    size: str | None = Field(default=None, description="'auto', OpenAI's sizes, or any WxH in multiples of 8.")
    style: str | None = None
    user: str | None = None
    # --- Atelier extensions
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    loras: list[LoraRequest] | None = Field(default=None, description="As on /v1/generate; `<lora:name:weight>` "
                                            "in the prompt works too.")


class Image(BaseModel):
    b64_json: str
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[Image]
    output_format: Literal["png", "jpeg", "webp"] | None = None
    size: str | None = None
