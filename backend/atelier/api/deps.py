"""The one injection seam: routers get the app's services through these Annotated aliases.

It knows the engine and the core only, never a feature package (gallery/, openai/): features
depend on it, not the other way round."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from atelier.core.config import Settings
from atelier.engine.catalog import Catalog
from atelier.engine.families.lora import LoraIndex
from atelier.engine.manager import ModelManager
from atelier.engine.speed import AnalysisStats
from atelier.engine.worker import GPUWorker
from atelier.library.service import LibraryService


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    manager: ModelManager
    worker: GPUWorker
    # the library on the server (None only in tests that build Services by hand)
    library: LibraryService = None  # type: ignore[assignment]
    analysis: AnalysisStats = field(default_factory=AnalysisStats)
    loras: LoraIndex | None = None  # ATELIER_LORAS_DIR; None: built from settings on first use

    def __post_init__(self) -> None:
        if self.loras is None:
            self.loras = LoraIndex(self.settings.loras_path, self.settings.data_dir / "lora-hashes.json")


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hop (and a GIL hand-over)
    # per request for one attribute read.
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
