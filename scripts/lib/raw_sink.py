"""The upload benchmarks' baseline server: the same HTTP server configuration as `python -m atelier`
(uvicorn with its h11 protocol and limits, backend/atelier/api/http_server.py), with nothing but
"write the body to a file and fsync, answer 201": a ratio against it is the cost of the library
itself (middleware, pieces, hashing, atomic rename). CORS allows any origin, so that a page served
by the backend may PUT to it (scripts/bench_sync_upload.mjs).

    python scripts/lib/raw_sink.py PORT OUT_DIR
"""

import os
import sys

import uvicorn

from atelier.api.http_server import uvicorn_config
from atelier.core.config import Settings

CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"PUT"),
        (b"access-control-allow-headers", b"*"), (b"access-control-max-age", b"600")]


def make_app(out: str):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": CORS})
            await send({"type": "http.response.body", "body": b""})
            return
        with open(os.path.join(out, str(id(scope))), "wb") as fh:
            while True:
                m = await receive()
                fh.write(m.get("body", b""))
                if not m.get("more_body"):
                    break
            fh.flush()
            os.fsync(fh.fileno())
        await send({"type": "http.response.start", "status": 201, "headers": CORS + [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    port, out = int(sys.argv[1]), sys.argv[2]
    uvicorn.Server(uvicorn_config(make_app(out), Settings(), host="127.0.0.1", port=port, log_level="warning")).run()
