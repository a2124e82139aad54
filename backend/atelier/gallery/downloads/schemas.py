"""Wire shapes of the download endpoints (they feed the generated TypeScript client)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class DownloadErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class DownloadProgress(BaseModel):
    object: Literal["model.download"] = "model.download"
    model: str
    state: Literal["idle", "running", "done", "error", "partial"]
    bytes_done: int
    bytes_total: int
    files_total: int
    repos: list[str]
    error: DownloadErrorBody | None = None
    started_at: float | None = None
    finished_at: float | None = None
