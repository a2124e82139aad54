"""Wire format of /v1/generate and /v1/jobs (Atelier's own endpoints).

Bounds are checked in service.py, which answers with messages that say what to change
("width must be a multiple of 8, got 1000"); here only the shapes are declared.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from atelier.gallery.upscale.protocol import UpscaleResponse


class LoraRequest(BaseModel):
    """Atelier extension: one LoRA of ATELIER_LORAS_DIR and its weight."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(description="As GET /v1/models lists it (type `lora`): its path in the folder without "
                                  ".safetensors, its file name, or kohya's output name.")
    weight: float = Field(default=1.0, description="-4 to 4; 0 leaves the model as without it.")


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
    loras: list[LoraRequest] | None = Field(
        default=None, description="Atelier extension: LoRAs to apply, at most 8 (with `<lora:name:weight>` tags in "
                                  "the prompt, which are taken out of the text the model sees). Each name once.")
    output_format: Literal["png", "jpeg", "webp"] = "png"
    priority: Literal["interactive", "background"] = Field(default="interactive", description="Atelier extension: queue priority.")


class GeneratedImage(BaseModel):
    b64_json: str
    seed: int


class LoraUsed(BaseModel):
    """A LoRA a generation applied, as the infotext's `Lora hashes` names it."""

    name: str
    weight: float
    hash: str | None = Field(description="A1111's short hash (the first 12 hex digits of the addnet hash).")


class GenerationParameters(BaseModel):
    """Every parameter a generation used, the model's defaults filled in: what the browser saves with
    each image (with that image's seed) and what the PNG's `parameters` chunk holds."""

    mode: Literal["txt2img", "img2img", "inpaint"]
    model: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    scheduler: str
    seed: int = Field(description="The first image's seed; image i has seed + i (each image's is in `data`).")
    seeds: list[int]
    n: int
    strength: float | None = Field(description="img2img and inpaint: how far the result may move from the source; "
                                               "null for txt2img.")
    output_format: Literal["png", "jpeg", "webp"]
    loras: list[LoraUsed] = Field(default_factory=list, description="The LoRAs applied: `loras` entries, then "
                                  "`<lora:name:weight>` tags of the prompt (taken out of the text the model saw).")


class GenerateResponse(BaseModel):
    id: str
    object: Literal["generation"] = "generation"
    created: int
    model: str
    data: list[GeneratedImage]
    parameters: GenerationParameters
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


class JobInfo(BaseModel):
    """A job as the worker reports it (`Job.summary()`): in /v1/status's queue and in JobSummary."""

    id: str
    object: Literal["job"] = "job"
    kind: str
    status: str
    priority: str
    created: float
    started_at: float | None = None
    finished_at: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    last_event: dict[str, Any] | None = None
    cancel_requested: bool = False
    result_expired: bool = Field(
        default=False, description="The result was dropped: results are kept ATELIER_JOB_RESULTS_TTL seconds "
                                   "within ATELIER_JOB_RESULTS_MB, and not at all once delivered in a response.")


class JobSummary(JobInfo):
    position: int
    result: GenerateResponse | UpscaleResponse | None = None
    error: JobError | None = None
