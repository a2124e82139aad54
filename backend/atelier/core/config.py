"""Every setting of the backend, read from `ATELIER_*` environment variables and `.env`.

`.env.example` at the repository root lists each one; a test keeps the two in agreement.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ATELIER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- server
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    ui_dir: Path = REPO_ROOT / "dist"

    # --- access
    api_key: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)

    # --- HTTP connections
    header_timeout: float = 10.0
    max_connections: int = 500

    # --- models
    models: Literal["real", "tiny"] = "real"
    models_dir: Path = REPO_ROOT / "models"
    data_dir: Path = REPO_ROOT / "data"
    default_generation_model: str = "sdxl-realism"
    default_vision_model: str = "moondream-2"
    default_embeddings_model: str = "siglip2-base"
    nsfw_detector: Literal["nudenet", "off"] = "nudenet"
    # LoRA adapters (.safetensors); unset: <models_dir>/loras (see `loras_path`).
    loras_dir: Path | None = None
    lora_cache_mb: float = 1024.0

    # --- device and memory
    device: Literal["auto", "cpu", "cuda"] = "auto"
    vram_mode: Literal["auto", "high", "balanced", "low"] = "auto"
    ram_cache_gb: float = 8.0
    model_ttl: float = 600.0

    # --- queue
    max_queue: int = 32
    image_memory_mb: float = 2048.0
    job_results_mb: float = 256.0
    job_results_ttl: float = 300.0

    # --- input limits
    max_body_mb: float = 50.0
    max_image_pixels: int = 40_000_000
    max_prompt_chars: int = 4000
    max_batch: int = 16
    max_side: int = 2048
    max_steps: int = 150
    upscale_max_pixels: int = 33_554_432  # 32 Mi px: 8192x4096, or 4096x4096 from 1024 px at 4x with room
    max_embedding_inputs: int = 256

    # --- the library on the server (sync)
    # SQLAlchemy URL of the metadata database; unset: SQLite (WAL) at <data_dir>/library/library.db.
    # PostgreSQL: postgresql+psycopg://user:password@host:5432/atelier
    database_url: str | None = None
    # largest original the library keeps (an upload past it: 413)
    library_max_blob_mb: float = 1024.0

    # --- remote images (SSRF surface; off by default)
    allow_remote_images: bool = False
    remote_image_max_mb: float = 20.0
    remote_image_timeout: float = 10.0

    @property
    def loras_path(self) -> Path:
        return self.loras_dir if self.loras_dir is not None else self.models_dir / "loras"


    def default_model(self, kind: str) -> str | None:
        """ATELIER_DEFAULT_<KIND>_MODEL for a model kind (generation, vision, embeddings; a new kind adds its
        own `default_<kind>_model` field); None when the kind has no configured default."""
        value = getattr(self, f"default_{kind}_model", None)
        return value or None


@lru_cache
def get_settings() -> Settings:
    return Settings()
