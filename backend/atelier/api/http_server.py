"""The HTTP server: uvicorn with limits on what one client can hold.

uvicorn's defaults let one unauthenticated client hurt everyone (issue 16): its httptools parser
takes a 128 MB header and stalls every other request while it does, and a connection that sends
nothing, or one byte a second, stays open for ever. So the server runs uvicorn's h11 protocol
with:

- **a header limit** (`HEADER_LIMIT`, 32 KiB, nginx's default total): past it, 431 and close;
- **a header timeout** (`ATELIER_HEADER_TIMEOUT`): a request's head must be complete within it of
  the connection opening or the previous response ending, however it trickles in; a body may not
  go silent for longer (silence while the app is not reading does not count);
- **keep-alive** connections idle for `KEEP_ALIVE_S` after a response are closed (uvicorn's timer);
- **a connection cap** (`ATELIER_MAX_CONNECTIONS`): past it a new connection gets 503 with
  `Retry-After` and is closed at once, before it can hold a file descriptor for long.

Protocol-level answers are the OpenAI error envelope like every other refusal.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from atelier.core.config import Settings

HEADER_LIMIT = 32 * 1024
KEEP_ALIVE_S = 5.0
RETRY_AFTER_S = 5


def _raw_response(status: int, reason: str, message: str, code: str, extra: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error",
                                 "param": None, "code": code}}).encode()
    headers = {"content-type": "application/json", "content-length": str(len(body)), "connection": "close",
               **(extra or {})}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus the header/body timeouts and the connection cap above."""

    header_timeout: float = 10.0
    max_connections: int = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._error_status = 400
        self.conn.next_event = self._next_event  # type: ignore[method-assign]

    def _next_event(self) -> Any:
        """h11's next event, refusing a head over HEADER_LIMIT however it arrived (h11 limits only
        an *incomplete* head: a complete 200 KB one read in one go would pass)."""
        try:
            event = h11.Connection.next_event(self.conn)
        except h11.RemoteProtocolError as exc:
            self._error_status = exc.error_status_hint
            raise
        if isinstance(event, h11.Request):
            size = len(event.method) + len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
            if size > HEADER_LIMIT:
                self._error_status = 431
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event

    # --- connections
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refused = True
            self.logger.warning("refusing a connection: %d open (ATELIER_MAX_CONNECTIONS=%d)",
                                len(self.connections), self.max_connections)
            transport.write(_raw_response(
                503, "Service Unavailable",
                f"the server has {self.max_connections} connections open (ATELIER_MAX_CONNECTIONS); retry shortly",
                "too_many_connections", {"retry-after": str(RETRY_AFTER_S)}))
            transport.close()
            return
        self._arm(self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        self._after_read()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm(self._head_timed_out)  # the next request's head has the same deadline

    # --- timers
    def _arm(self, callback) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.header_timeout, callback)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _after_read(self) -> None:
        state = self.conn.their_state
        if state is h11.IDLE:
            return  # still reading a head: its deadline stands, however the bytes trickle
        if state is h11.SEND_BODY:
            self._arm(self._body_timed_out)  # silence is measured from the last byte
        else:
            self._disarm()

    def _head_timed_out(self) -> None:
        self._read_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection that sent no complete request head in %.0f s", self.header_timeout)
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._read_timer = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app is not reading yet: the client is not the slow one
            self._arm(self._body_timed_out)
            return
        self.logger.info("closing a connection whose request body stalled for %.0f s", self.header_timeout)
        self.transport.close()

    # --- protocol errors
    def send_400_response(self, msg: str) -> None:
        if self._error_status == 431:
            out = _raw_response(431, "Request Header Fields Too Large",
                                f"the request head is over {HEADER_LIMIT // 1024} KiB", "headers_too_large")
        else:
            out = _raw_response(400, "Bad Request", "malformed HTTP request", "bad_request")
        self._disarm()
        self.transport.write(out)
        self.transport.close()


def protocol_class(settings: Settings) -> type[GuardedH11Protocol]:
    return type("AtelierH11Protocol", (GuardedH11Protocol,), {
        "header_timeout": settings.header_timeout, "max_connections": settings.max_connections})


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The one uvicorn configuration: `python -m atelier` and the tests' real servers use it."""
    options: dict[str, Any] = dict(
        host=settings.host, port=settings.port, log_level=settings.log_level,
        http=protocol_class(settings), h11_max_incomplete_event_size=HEADER_LIMIT,
        timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=5,
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)
