"""Request body size limit (ATELIER_MAX_BODY_MB): 413 `payload_too_large` in the OpenAI envelope.

A pure ASGI middleware, so it sees every request before any route, form parser or
BaseHTTPMiddleware reads the body:

- a `Content-Length` above the limit is answered at once, without reading a byte of the body;
- a body without one (chunked transfer encoding, or a lying header) is counted as it streams in,
  and the read that crosses the limit fails: the app never holds more than the limit in memory.

The overflow is raised as a FastAPI HTTPException subclass because FastAPI re-raises those from its body
parsing (anything else becomes "error parsing the body", a 400); core/errors.py, the one
translator, turns it into the envelope. If it escapes the routes instead (a multipart parser,
a middleware), this middleware answers itself, through the same translator.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from fastapi.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atelier.api.catch_all import TrackedSend
from atelier.core.errors import PayloadTooLarge, error_response


class BodyTooLarge(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


def _too_large_message(max_bytes: int, got: int | None) -> str:
    size = f"{got:,} bytes" if got is not None else f"more than {max_bytes:,} bytes"
    return (f"request body is {size}; the limit is {max_bytes:,} bytes (ATELIER_MAX_BODY_MB="
            f"{max_bytes / 1024 / 1024:.3g}). Send smaller images, or fewer per request")


def _unwrap(exc: BaseException) -> BodyTooLarge | None:
    """The BodyTooLarge in `exc`, also when a task group wrapped it in an ExceptionGroup."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, BodyTooLarge) else None


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await error_response(PayloadTooLarge(_too_large_message(limit, int(declared))))(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(_too_large_message(limit, None))
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, limited_receive, tracked)
        except BaseException as exc:
            too_large = _unwrap(exc)
            if too_large is None or tracked.started:
                raise
            await error_response(PayloadTooLarge(str(too_large.detail)))(scope, receive, send)
