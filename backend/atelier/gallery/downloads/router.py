"""POST/GET /v1/models/{model_id}/download: fetch a catalog model from the UI, follow its progress.

HTTP only; the work is in service.py. Endpoints are plain `def` so the hub listing (short
timeouts) runs in the thread pool, never on the event loop; the download itself runs on its own
background thread, never on the GPU worker.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from atelier.gallery.downloads.schemas import DownloadProgress
from atelier.gallery.downloads.service import Downloader, DownloadService

router = APIRouter(tags=["models"])
_init_lock = threading.Lock()


def get_download_service(request: Request) -> DownloadService:
    # One service per app, created on first use: downloads are rare and need only the catalog.
    state = request.app.state
    with _init_lock:
        svc = getattr(state, "downloads", None)
        if svc is None:
            services = state.services
            svc = state.downloads = DownloadService(Downloader(services.catalog, families=services.manager.families))
    return svc


DownloadsDep = Annotated[DownloadService, Depends(get_download_service)]


@router.post("/models/{model_id}/download", status_code=202, summary="Download a catalog model")
def start_download(model_id: str, downloads: DownloadsDep) -> DownloadProgress:
    """Start fetching `model_id` (a catalog id or alias) into the Hugging Face cache.

    202 with the progress object; a download already running is returned as it is. Fails at once
    with 503 `hub_unreachable` when offline, 507 `insufficient_storage` when the disk is too full,
    404 `model_not_found` for ids outside the catalog."""
    return DownloadProgress.model_validate(downloads.start(model_id))


@router.get("/models/{model_id}/download", summary="Progress of a model download")
def get_download(model_id: str, downloads: DownloadsDep) -> DownloadProgress:
    """`state` is idle | running | done | error | partial, with `bytes_done` / `bytes_total`.

    `partial`: a download was interrupted (the server stopped or crashed) and the model is not
    installed; POST resumes it, keeping the bytes already fetched. `done` also reports a model
    installed earlier."""
    return DownloadProgress.model_validate(downloads.progress(model_id))
