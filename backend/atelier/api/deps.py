"""The one injection seam: routers get the app's services through these Annotated aliases.

It knows the engine and the core only, never a feature package (gallery/, openai/): features
depend on it, not the other way round."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from atelier.core.config import Settings
from atelier.engine.catalog import Catalog
from atelier.engine.manager import ModelManager
from atelier.engine.speed import AnalysisStats
from atelier.engine.worker import GPUWorker


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    manager: ModelManager
    worker: GPUWorker
    analysis: AnalysisStats = field(default_factory=AnalysisStats)


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hop (and a GIL hand-over)
    # per request for one attribute read.
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
