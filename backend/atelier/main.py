"""The FastAPI application: create_app() wires settings, catalog, model manager and GPU worker."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from atelier import __version__
from atelier.api.body_limit import BodySizeLimitMiddleware
from atelier.api.catch_all import CatchAllMiddleware
from atelier.api.deps import Services
from atelier.api.json_guard import JsonGuardMiddleware
from atelier.api.request_guard import RequestGuardMiddleware
from atelier.api.site_guard import SiteGuardMiddleware, SitePolicy, is_loopback
from atelier.core.config import Settings, get_settings
from atelier.core.errors import InvalidParameter, NotFound, install_error_handlers
from atelier.core.library_logs import quiet_import_warnings
from atelier.engine.catalog import build_catalog
from atelier.engine.families import load_families
from atelier.engine.manager import ModelManager
from atelier.engine.worker import GPUWorker

log = logging.getLogger("atelier")


def _routers() -> list:
    """Every /v1 router. Each feature adds its router here."""
    routers = []
    from atelier.gallery import status_router
    from atelier.gallery.downloads import router as downloads_router

    routers.append(status_router.router)
    from atelier.gallery import vram_router

    routers.append(vram_router.router)
    # Before any `/models/{model:path}` route, which would otherwise swallow `.../download`.
    routers.append(downloads_router.router)
    from atelier.gallery.analyze import router as analyze_router
    from atelier.openai.chat import router as chat_router
    from atelier.openai.models import router as models_router

    routers += [chat_router.router, models_router.router, analyze_router.router]
    from atelier.gallery.generate import router as generate_router
    from atelier.openai.images import router as images_router

    routers += [generate_router.router, images_router.router]
    from atelier.gallery.upscale import router as upscale_router

    routers.append(upscale_router.router)

    from atelier.openai.embeddings import router as embeddings_router

    routers.append(embeddings_router.router)

    from atelier.library import router as library_router

    routers.append(library_router.router)
    return routers


def build_services(settings: Settings) -> Services:
    if settings.models == "tiny":
        from atelier.engine.tiny import ensure_tiny_models

        ensure_tiny_models(settings.models_dir)
    catalog = build_catalog(settings)
    manager = ModelManager(settings, catalog, load_families())
    MiB = 1024 * 1024
    worker = GPUWorker(max_queue=settings.max_queue, idle_hook=manager.evict_expired,
                       max_image_bytes=int(settings.image_memory_mb * MiB),
                       results_budget=int(settings.job_results_mb * MiB), results_ttl=settings.job_results_ttl)
    from atelier.library.service import LibraryService

    library = LibraryService.open(settings.data_dir, settings.database_url, int(settings.library_max_blob_mb * MiB))
    return Services(settings=settings, catalog=catalog, manager=manager, worker=worker, library=library)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    quiet_import_warnings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = build_services(settings)
        app.state.services = services
        services.worker.start(asyncio.get_running_loop())
        if settings.api_key is None and not is_loopback(settings.host):
            log.warning(
                "listening on %s without ATELIER_API_KEY: anyone on your network can use this server",
                settings.host,
            )
        try:
            yield
        finally:
            services.worker.stop()
            services.manager.unload()
            if services.library is not None:  # None where a test builds Services by hand
                services.library.close()

    app = FastAPI(
        title="Atelier",
        version=__version__,
        summary="Self-hosted image gallery backend: SDXL generation and vision, OpenAI-compatible.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)

    # Pure ASGI middleware only (a BaseHTTPMiddleware loses disconnect messages). The last added
    # runs first: Host/Origin (403), CORS (so that 401/413/500 answers to allowed origins carry
    # CORS headers), the catch-all 500, the key and body-type checks, the body limit, then the
    # JSON text checks (within the limit: they read the body).
    app.add_middleware(JsonGuardMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=int(settings.max_body_mb * 1024 * 1024))
    docs_paths = {p for p in (app.docs_url, app.redoc_url, app.openapi_url) if p}
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        docs_paths.add(app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(RequestGuardMiddleware, api_key=settings.api_key, docs_paths=docs_paths,
                       openapi=app.openapi)
    app.add_middleware(CatchAllMiddleware)
    policy = SitePolicy(settings)
    app.add_middleware(CORSMiddleware, **policy.cors_options())
    app.add_middleware(SiteGuardMiddleware, policy=policy)

    for router in _routers():
        app.include_router(router, prefix="/v1")

    _mount_ui(app, settings.ui_dir)
    return app


def _mount_ui(app: FastAPI, ui_dir: Path) -> None:
    index = ui_dir / "index.html"

    # HEAD answers like GET (link checkers, uptime monitors); FileResponse sends no body for it.
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def root():
        if index.exists():
            return FileResponse(index)
        return JSONResponse({"name": "Atelier", "version": __version__,
                             "ui": "not built: run `make start` (or `npm run build`)"})

    if (ui_dir / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=ui_dir / "assets"), name="assets")

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def spa(path: str):
        if path.startswith("v1/") or path == "v1":
            raise NotFound(f"no route /{path}")
        if "\x00" in path:
            raise InvalidParameter("the path contains a NUL byte", param="path")
        f = (ui_dir / path).resolve()
        if f.is_file() and ui_dir.resolve() in f.parents:
            return FileResponse(f)
        if index.exists():
            return FileResponse(index)
        raise NotFound(f"no route /{path}")
