"""`python -m atelier`: serve the API and the built UI with uvicorn."""

import logging

import uvicorn

from atelier.api.http_server import uvicorn_config
from atelier.core.config import get_settings
from atelier.main import create_app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
