"""Typed errors and the ONE translator that turns any failure into the OpenAI error envelope.

Services raise these; routers never build error bodies themselves. The same `error_body()` is
used for JSON responses and for errors sent inside an SSE stream.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("atelier.errors")


class AtelierError(Exception):
    status: int = 400
    type: str = "invalid_request_error"
    code: str = "invalid_request"
    # Deterministic failures must not be retried by the OpenAI clients (they retry 5xx/429/409).
    retryable: bool = False

    def __init__(self, message: str, *, param: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = dict(headers or {})


class InvalidParameter(AtelierError):
    code = "invalid_parameter"


class InvalidImage(AtelierError):
    code = "invalid_image"


class PayloadTooLarge(AtelierError):
    status = 413
    code = "payload_too_large"


class Unauthorized(AtelierError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(AtelierError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class UnsupportedMediaType(AtelierError):
    status = 415
    code = "unsupported_media_type"


class NotFound(AtelierError):
    status = 404
    code = "not_found"


class ModelNotFound(AtelierError):
    status = 404
    code = "model_not_found"


class ModelNotDownloaded(AtelierError):
    """Raised by `Family.ensure_downloaded` (engine/base.py), which owns the wording."""

    status = 409
    code = "model_not_downloaded"


class UnsafeModel(AtelierError):
    code = "unsafe_model_format"


class QueueFull(AtelierError):
    status = 429
    type = "rate_limit_error"
    code = "queue_full"
    retryable = True

    def __init__(self, message: str, *, retry_after: int = 2):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class OutOfMemory(AtelierError):
    status = 503
    type = "server_error"
    code = "out_of_memory"


class Cancelled(AtelierError):
    status = 409
    code = "cancelled"


class ModelLoadFailed(AtelierError):
    status = 500
    type = "server_error"
    code = "model_load_failed"


def error_body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, AtelierError):
        return {"error": {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}}
    return {
        "error": {
            "message": f"internal error: {type(exc).__name__}: {exc}",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }


def error_response(exc: BaseException) -> JSONResponse:
    if isinstance(exc, AtelierError):
        headers = dict(exc.headers)
        if not exc.retryable:
            headers["x-should-retry"] = "false"
        return JSONResponse(error_body(exc), status_code=exc.status, headers=headers)
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body(exc), status_code=500)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    if first.get("type") == "json_invalid":
        # FastAPI's loc is ("body", <byte offset>): name the body, say what is wrong in words.
        why = (first.get("ctx") or {}).get("error", "")
        return f"the request body is not valid JSON{f': {why}' if why else ''}", "body"
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    msg = first.get("msg", "invalid value")
    if param:
        msg = f"{param}: {msg}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return msg, param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AtelierError)
    async def _atelier(_: Request, exc: AtelierError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        msg, param = _validation_message(exc)
        return error_response(InvalidParameter(msg, param=param))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        err = AtelierError(str(exc.detail))
        err.status = exc.status_code
        err.code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code >= 500:
            err.type = "server_error"
        return error_response(err)
    # Any other exception is answered by api/catch_all.py: an `Exception` handler here would run
    # in Starlette's ServerErrorMiddleware, which re-raises after answering and so closes the
    # client's keep-alive connection.
