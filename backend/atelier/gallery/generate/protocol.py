"""Wire format of /v1/generate and /v1/jobs (Atelier's own endpoints).

Bounds are checked in service.py, which answers with messages that say what to change
("width must be a multiple of 8, got 1000"); here only the shapes are declared.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from atelier.gallery.upscale.protocol import UpscaleResponse


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no "4" for 4, as on the OpenAI routes

    prompt: str = Field(description="What to draw.")
    negative_prompt: str | None = Field(default=None, description="What to keep out of the image.")
    model: str | None = Field(default=None, description="A generation model id or alias; ATELIER_DEFAULT_GENERATION_MODEL if omitted.")
    width: int | None = Field(default=None, description="Multiple of 8, up to ATELIER_MAX_SIDE; the model's default if omitted.")
    height: int | None = Field(default=None, description="Multiple of 8, up to ATELIER_MAX_SIDE; the model's default if omitted.")
    steps: int | None = Field(default=None, description="Denoising steps, 1 to ATELIER_MAX_STEPS; the model's default if omitted.")
    guidance_scale: float | None = Field(default=None, description="Classifier-free guidance, 0-30; the model's default if omitted.")
    seed: int | None = Field(default=None, description="-1 or absent: random. Image i uses seed + i.")
    n: int | None = Field(default=None, description="Images to generate, 1-4.")
    scheduler: str | None = Field(default=None, description="euler, euler_trailing, euler_a, dpmpp_2m, dpmpp_2m_karras, ddim, ...")
    image: str | None = Field(default=None, description="Base64 or data URL: img2img from this image.")
    mask: str | None = Field(default=None, description="Atelier extension. Base64 or data URL: inpaint the white (or transparent) area of `image`.")
    strength: float | None = Field(default=None, description="img2img: how far to move from `image`, 0-1 (default 0.75).")
    output_format: Literal["png", "jpeg", "webp"] = "png"
    priority: Literal["interactive", "background"] = Field(default="interactive", description="Atelier extension: queue priority.")


class GeneratedImage(BaseModel):
    b64_json: str
    seed: int


class GenerateResponse(BaseModel):
    id: str
    object: Literal["generation"] = "generation"
    created: int
    model: str
    data: list[GeneratedImage]
    parameters: dict[str, Any] = Field(description="Every parameter used, defaults filled in.")
    timings: dict[str, float] = Field(description="queued_ms, load_ms, inference_ms, encode_ms, total_ms.")


class JobCreated(BaseModel):
    id: str
    object: Literal["job"] = "job"
    status: str
    position: int = Field(description="0 while running, 1 for the next job to run, and so on.")


class JobError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class JobSummary(BaseModel):
    id: str
    object: Literal["job"] = "job"
    kind: str
    status: str
    priority: str
    position: int
    created: float
    started_at: float | None = None
    finished_at: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    last_event: dict[str, Any] | None = None
    cancel_requested: bool = False
    result: GenerateResponse | UpscaleResponse | None = None
    result_expired: bool = Field(
        default=False, description="The result was dropped: results are kept ATELIER_JOB_RESULTS_TTL seconds "
                                   "within ATELIER_JOB_RESULTS_MB.")
    error: JobError | None = None
