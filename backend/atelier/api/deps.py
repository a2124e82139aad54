"""The one injection seam: routers get the app's services through these Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from atelier.core.config import Settings
from atelier.engine.catalog import Catalog
from atelier.engine.manager import ModelManager
from atelier.engine.worker import GPUWorker
from atelier.gallery.analyze.stats import AnalysisStats
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


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.services.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
