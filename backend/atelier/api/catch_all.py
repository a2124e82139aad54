"""The last word on an unexpected exception: a 500 envelope, and the connection stays usable.

Starlette's own last resort (ServerErrorMiddleware, which runs an app's `Exception` handler) sends
the answer and then re-raises the exception "so the server can log it"; uvicorn, seeing an exception
after a complete response, closes the connection. A keep-alive client's next request on that
connection was reset (issue 14: "after any 500 the server closes the keep-alive connection"). Here
the exception is logged and answered once, and goes no further.

Once a response has started (a stream failed half-way) nothing well-formed can follow, so the
exception is re-raised and the server closes the connection: the client must see the truncation.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atelier.core.errors import error_response


class TrackedSend:
    """`send`, remembering whether a response has started (after which no error answer can follow)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - answered here, once; CancelledError etc. pass
            if tracked.started:
                raise
            await error_response(exc)(scope, receive, send)  # logs it with its traceback
