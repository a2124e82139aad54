"""The FastAPI application: create_app() wires settings, catalog, model manager and GPU worker."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from atelier import __version__
from atelier.api.body_limit import BodySizeLimitMiddleware
from atelier.api.deps import Services
from atelier.core.config import Settings, get_settings
from atelier.core.errors import NotFound, Unauthorized, error_response, install_error_handlers
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
    return routers


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or an interface address: reachable from elsewhere


def build_services(settings: Settings) -> Services:
    if settings.models == "tiny":
        from atelier.engine.tiny import ensure_tiny_models

        ensure_tiny_models(settings.models_dir)
    catalog = build_catalog(settings)
    manager = ModelManager(settings, catalog, load_families())
    worker = GPUWorker(max_queue=settings.max_queue, idle_hook=manager.evict_expired)
    return Services(settings=settings, catalog=catalog, manager=manager, worker=worker)


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

    app = FastAPI(
        title="Atelier",
        version=__version__,
        summary="Self-hosted image gallery backend: SDXL generation and vision, OpenAI-compatible.",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    # The last added runs first: CORS, then the key check, then the body limit, so that 401 and 413
    # answers carry CORS headers. The body limit sits inside the key check because that one is a
    # BaseHTTPMiddleware, which would wrap the limit's error in an ExceptionGroup; it reads no body.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=int(settings.max_body_mb * 1024 * 1024))

    @app.middleware("http")
    async def api_key_guard(request: Request, call_next):
        if settings.api_key and request.url.path.startswith("/v1") and request.method != "OPTIONS":
            auth = request.headers.get("authorization", "")
            # Constant-time: the comparison must not tell an attacker how much of the key matched.
            if not hmac.compare_digest(auth.encode(), f"Bearer {settings.api_key}".encode()):
                return error_response(Unauthorized("missing or wrong API key: send 'Authorization: Bearer <ATELIER_API_KEY>'"))
        return await call_next(request)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "x-should-retry"],
        )

    for router in _routers():
        app.include_router(router, prefix="/v1")

    _mount_ui(app, settings.ui_dir)
    return app


def _mount_ui(app: FastAPI, ui_dir: Path) -> None:
    index = ui_dir / "index.html"

    @app.get("/", include_in_schema=False)
    async def root():
        if index.exists():
            return FileResponse(index)
        return JSONResponse({"name": "Atelier", "version": __version__,
                             "ui": "not built: run `make start` (or `npm run build`)"})

    if (ui_dir / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=ui_dir / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str):
        if path.startswith("v1/") or path == "v1":
            raise NotFound(f"no route /{path}")
        f = (ui_dir / path).resolve()
        if f.is_file() and ui_dir.resolve() in f.parents:
            return FileResponse(f)
        if index.exists():
            return FileResponse(index)
        raise NotFound(f"no route /{path}")
