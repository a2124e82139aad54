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
    return await service.analyze(services, body, request)


@router.post("/analyze/batch", response_model=AnalyzeBatchResult, response_model_exclude_none=True)
async def analyze_batch(body: AnalyzeBatchRequest, request: Request, services: ServicesDep) -> AnalyzeBatchResult:
    return await service.analyze_batch(services, body, request)
