"""The API key (401) and the body types the API takes (415), for every route, before any of them runs.

A pure ASGI middleware: a BaseHTTPMiddleware here would sit between every route and its `receive`
channel, and `request.is_disconnected()` read through one loses the disconnect message now and then
(issue 16: a client that hung up did not cancel its job 3 times in 10).

- **The key** (`ATELIER_API_KEY`): every `/v1` route, and the API's own description (`/docs`,
  `/redoc`, `/openapi.json`), wants `Authorization: Bearer <key>`. The UI's files do not: the UI
  asks the user for the key.
- **Bodies a browser sends cross-site without a preflight** (`text/plain`, form-urlencoded, a body
  with no Content-Type) are refused on state-changing `/v1` requests: JSON routes want
  `application/json`. `multipart/form-data` reaches only the routes whose schema declares it (the
  OpenAI Images edits endpoint): the OpenAPI schema is the list, so a new upload route is covered
  the day it is declared. Raw bytes (`application/octet-stream`, `image/*`: the library's blob
  uploads) likewise reach only the operations that declare that type. Together with the Origin
  check (site_guard.py) no page on another site can make a keyless server do anything.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from atelier.core.errors import Unauthorized, UnsupportedMediaType, error_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def body_paths(openapi: dict, ctype: str) -> list[re.Pattern[str]]:
    """Path patterns of the operations whose request body may be of type `ctype`."""
    out = []
    for path, item in openapi.get("paths", {}).items():
        if any(ctype in (op.get("requestBody") or {}).get("content", {})
               for op in item.values() if isinstance(op, dict)):
            out.append(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"))
    return out


def raw_body_paths(openapi: dict) -> dict[str, list[re.Pattern[str]]]:
    """For each raw body type the schema declares (octet-stream, image/*), the paths that take it."""
    types = {t for item in openapi.get("paths", {}).values() for op in item.values() if isinstance(op, dict)
             for t in (op.get("requestBody") or {}).get("content", {})
             if t == "application/octet-stream" or t.startswith("image/")}
    return {t: body_paths(openapi, t) for t in types}


def multipart_paths(openapi: dict) -> list[re.Pattern[str]]:
    """Path patterns of the operations whose request body may be multipart/form-data."""
    return body_paths(openapi, "multipart/form-data")


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, *, api_key: str | None, docs_paths: set[str],
                 openapi: Callable[[], dict]) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.docs_paths = docs_paths
        self.openapi = openapi
        self._multipart: list[re.Pattern[str]] | None = None
        self._raw: dict[str, list[re.Pattern[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        api = is_api_path(path)
        headers = Headers(scope=scope)
        if self.expected and (api or path in self.docs_paths) and method != "OPTIONS":
            # Constant-time: the comparison must not tell an attacker how much of the key matched.
            if not hmac.compare_digest(headers.get("authorization", "").encode("latin-1"), self.expected):
                await error_response(Unauthorized(
                    "missing or wrong API key: send 'Authorization: Bearer <ATELIER_API_KEY>'"))(scope, receive, send)
                return
        if api and method in UNSAFE_METHODS:
            problem = self._body_problem(path, headers)
            if problem:
                await error_response(UnsupportedMediaType(problem, param="Content-Type"))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _body_problem(self, path: str, headers: Headers) -> str | None:
        if headers.get("content-length", "0").strip() in ("", "0") and "transfer-encoding" not in headers:
            return None  # no body: nothing to parse, whatever the type says (`curl -X POST -d ''`)
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not ctype:
            return "a request body needs Content-Type: application/json"
        if ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json")):
            return None
        if ctype == "multipart/form-data":
            if self._multipart is None:
                self._multipart = multipart_paths(self.openapi())
            if any(p.match(path) for p in self._multipart):
                return None
        elif ctype == "application/octet-stream" or ctype.startswith("image/"):
            # raw bytes (library blobs): only where the operation declares that very type; none
            # of these is a type a browser sends cross-site without a preflight
            if self._raw is None:
                self._raw = raw_body_paths(self.openapi())
            if any(p.match(path) for p in self._raw.get(ctype, ())):
                return None
        return f"this endpoint takes application/json, not {ctype}"
