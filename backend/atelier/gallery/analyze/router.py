"""POST /v1/analyze and POST /v1/analyze/batch: HTTP only; the work is in service.py."""

from __future__ import annotations

from fastapi import APIRouter, Request

from atelier.api.deps import ServicesDep
from atelier.gallery.analyze import service
from atelier.gallery.analyze.protocol import (
    AnalyzeBatchRequest,
    AnalyzeBatchResult,
    AnalyzeRequest,
    AnalyzeResult,
)

router = APIRouter(tags=["analysis"])


@router.post("/analyze", response_model=AnalyzeResult, response_model_exclude_none=True)
async def analyze(body: AnalyzeRequest, request: Request, services: ServicesDep) -> AnalyzeResult:
    """Caption, tags, NSFW signal, and (models with detection, e.g. moondream-2) `objects`: boxes
    `{name, x_min, y_min, x_max, y_max}` and `points`: `{name, x, y}`, in coordinates normalised to
    the image (0 = left / top edge, 1 = right / bottom), at most `max_objects` (default 10, up to 50)
    per name in `objects` (default: the first three tags). `timings` has milliseconds per step."""
    return await service.analyze(services, body, request)


@router.post("/analyze/batch", response_model=AnalyzeBatchResult, response_model_exclude_none=True)
async def analyze_batch(body: AnalyzeBatchRequest, request: Request, services: ServicesDep) -> AnalyzeBatchResult:
    """The same for up to ATELIER_MAX_BATCH images with one model load: `data` holds one item per
    image, in order, each its results or `error` (one bad image never fails the others)."""
    return await service.analyze_batch(services, body, request)
