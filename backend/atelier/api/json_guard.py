"""JSON bodies that parse in Python but break everything after: refused at the door with a 400 naming the field.

- **A lone UTF-16 surrogate** (`"\\ud800"`) is valid JSON and becomes a Python str that cannot be
  encoded: the request was accepted, then every answer that repeated it (`/v1/status`, the job, the
  images' metadata) was a 500 for every client while the job held the GPU (issue 16). Raw bytes of
  an encoded surrogate (invalid UTF-8, which Python's json decodes with `surrogatepass`) likewise.
- **Integers beyond 64 bits** reach torch (a chat `seed` of 2**64 was a 500). Every integer on the
  wire must fit in int64, as OpenAI's own API and every language's JSON number types assume.
- **`NaN` and `Infinity`** are not JSON at all; Python's json accepts them.

Every JSON body of a state-changing request goes through here, whatever the route (a router added
tomorrow is covered). Most bodies contain none of these, and a byte scan proves it without parsing;
only a body that might is parsed and walked to name the first offending field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atelier.api.request_guard import UNSAFE_METHODS
from atelier.core.errors import InvalidParameter, error_response

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A \u escape of a surrogate, the UTF-8-style bytes of one, a non-JSON constant, or a number
# long enough to leave int64. A match only means "parse and look".
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|NaN|Infinity|\d{19,}")


class _Constant:
    def __init__(self, name: str):
        self.name = name


def _is_json(headers: Headers) -> bool:
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json"))


def _bad_text(s: str) -> int | None:
    """Index of the first character UTF-8 cannot encode (a lone surrogate), else None."""
    try:
        s.encode("utf-8")
        return None
    except UnicodeEncodeError as exc:
        return exc.start


def _where(path: list[str]) -> str:
    return ".".join(path) or "body"


def find_problem(value: Any, path: list[str] | None = None) -> InvalidParameter | None:
    """The first value in a parsed JSON document that the API refuses, as the error to send."""
    path = path or []
    if isinstance(value, str):
        i = _bad_text(value)
        if i is not None:
            return InvalidParameter(
                f"{_where(path)}: text must be valid Unicode; found a lone UTF-16 surrogate "
                f"(\\u{ord(value[i]):04x}) at character {i}", param=_where(path))
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return InvalidParameter(f"{_where(path)}: {value} is out of range; integers must fit in 64 bits "
                                    f"({INT64_MIN} to {INT64_MAX})", param=_where(path))
    elif isinstance(value, _Constant):
        return InvalidParameter(f"{_where(path)}: {value.name} is not a JSON number", param=_where(path))
    elif isinstance(value, dict):
        for k, v in value.items():
            if _bad_text(k) is not None:
                return InvalidParameter(f"{_where(path)}: a key is not valid Unicode (a lone UTF-16 surrogate)",
                                        param=_where(path))
            problem = find_problem(v, [*path, k])
            if problem:
                return problem
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problem = find_problem(v, [*path, str(i)])
            if problem:
                return problem
    return None


def body_problem(body: bytes) -> InvalidParameter | None:
    if not _SUSPECT.search(body):
        return None
    try:
        doc = json.loads(body, parse_constant=_Constant)
    except ValueError:
        return None  # not JSON at all: the route's parser says so, naming the body
    return find_problem(doc)


class JsonGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS or not _is_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if messages[-1]["type"] == "http.request":
            body = b"".join(m.get("body", b"") for m in messages)
            problem = body_problem(body)
            if problem is not None:
                await error_response(problem)(scope, receive, send)
                return
            messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
