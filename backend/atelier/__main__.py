"""`python -m atelier`: serve the API and the built UI with uvicorn."""

import logging

import uvicorn

from atelier.core.config import get_settings
from atelier.main import create_app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
