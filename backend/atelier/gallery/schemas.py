"""Wire shapes of GET /v1/status and the model/VRAM control endpoints (they feed the generated
TypeScript client, so the browser's types follow the server's)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from atelier.gallery.generate.protocol import JobInfo

ModelState = Literal["not_downloaded", "on_disk", "in_ram", "on_gpu", "offloaded"]


class Placement(BaseModel):
    device: str
    dtype: str
    quantization: str
    offload: str
    vae_tiling: bool
    vae_slicing: bool


class PlannedPlacement(Placement):
    """How the planner would place a model that is not loaded, in the current mode."""

    gpu_bytes: int
    ram_bytes: int
    fits: bool


class PartialDownload(BaseModel):
    bytes_done: int
    bytes_total: int


class AttachedLora(BaseModel):
    """A LoRA adapter kept on a loaded generation model (engine/families/lora.py `LoraAdapters`)."""

    key: str = Field(description="The adapter's name on the pipeline: its content hash.")
    name: str
    bytes: int
    active: bool = Field(description="Applied to the job that ran last.")
    weight: float | None = None


class LoraFile(BaseModel):
    """One file of ATELIER_LORAS_DIR, as GET /v1/models describes it (`lora`)."""

    name: str
    size_bytes: int
    status: Literal["ok", "incompatible", "unreadable", "refused"]
    compatible: bool
    base: str
    format: str
    network_dim: int | None = None
    network_alpha: float | None = None
    triggers: list[str]
    sha256: str | None = None
    addnet_hash: str | None = None
    short_hash: str | None = None
    error: str | None = None
    alias: str | None = None
    modified: int = 0


class ModelStatus(BaseModel):
    id: str
    kind: str
    family: str
    state: ModelState
    dtype: str | None = None
    quantization: str | None = None
    offload: str | None = None
    vae_tiling: bool | None = None
    bytes: dict[str, int] = Field(default_factory=dict, description="Bytes resident per device.")
    last_used: float | None = None
    expires_at: float | None = None
    load_ms: float | None = None
    planned: PlannedPlacement | None = Field(
        default=None, description="A model not loaded: its placement and size from configs; null while a load runs.")
    partial_download: PartialDownload | None = Field(
        default=None, description="An interrupted download: the Download button resumes it.")
    download_bytes: int | None = Field(
        default=None, description="A model not downloaded: about what its download fetches, counted from its configs.")
    download_hint: str | None = Field(
        default=None, description="A model not downloaded: the one wording of it, naming the command.")
    loras: list[AttachedLora] | None = Field(
        default=None, description="A loaded generation model: the LoRA adapters attached to it.")


class DeviceStatus(BaseModel):
    type: Literal["cuda", "cpu"]
    name: str
    total_bytes: int
    free_bytes: int
    used_bytes: int
    used_by_models_bytes: int


class ModeStatus(BaseModel):
    configured: str
    effective: str
    reason: str
    pending: str | None = None


class RamCacheStatus(BaseModel):
    budget_bytes: int
    used_bytes: int


class QueueStatus(BaseModel):
    running: JobInfo | None = None
    queued: list[JobInfo]
    max_queue: int
    completed: int
    image_bytes: int
    max_image_bytes: int | None = None  # None: no limit (ATELIER_IMAGE_MEMORY_MB)


class AnalysisSpeed(BaseModel):
    ms_per_image: float
    images: int
    batches: int
    last_at: float | None = None


class DefaultModels(BaseModel):
    """The model a request of each kind gets when it names none, decided by the server
    (ModelManager.resolve): the configured default if downloaded, else the first downloaded one."""

    generation: str | None = None
    vision: str | None = None
    embeddings: str | None = None
    upscaler: str | None = None


class StatusResponse(BaseModel):
    object: Literal["status"] = "status"
    version: str
    models_catalog: str
    device: DeviceStatus
    mode: ModeStatus
    ram_cache: RamCacheStatus
    model_ttl: float
    models: list[ModelStatus]
    last_plan: list[str]
    default_models: DefaultModels
    queue: QueueStatus
    analysis: dict[str, AnalysisSpeed] = Field(description="Per vision model: its measured speed.")
    loras: list[LoraFile] = Field(default_factory=list, description="The files of ATELIER_LORAS_DIR.")


class SwitchResponse(BaseModel):
    object: Literal["model.switch"] = "model.switch"
    model: str
    source: Literal["gpu", "offloaded", "ram_cache", "disk"]
    load_ms: float
    total_ms: float
    queued_ms: float
    mode: str
    placement: Placement
    plan: list[str] = Field(description="The planner's decisions, one line each.")


class UnloadResponse(BaseModel):
    object: Literal["model.unload"] = "model.unload"
    unloaded: list[str]


class VramModeResponse(BaseModel):
    object: Literal["vram.mode"] = "vram.mode"
    configured: str
    effective: str
    reason: str
