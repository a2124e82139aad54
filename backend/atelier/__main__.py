"""`python -m atelier`: serve the API and the built UI with uvicorn."""

import logging
import threading

import uvicorn

from atelier.api.http_server import uvicorn_config
from atelier.core.config import get_settings
from atelier.main import create_app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    # The OpenAPI schema is built on first use (~0.3 s): the request guard asks it which operations
    # take raw bytes or multipart, so the first upload after a start waited for it. Built here, beside
    # the start-up, it is ready before anyone uploads (FastAPI caches it; a request that came first
    # builds an identical one).
    threading.Thread(target=app.openapi, name="openapi-warm", daemon=True).start()
    uvicorn.Server(uvicorn_config(app, settings)).run()


if __name__ == "__main__":
    main()
