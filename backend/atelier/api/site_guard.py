"""Which pages and which host names may talk to the server: Host and Origin checks (403), as Ollama does.

Two attacks need no API key on a keyless server, and both come through the user's own browser:

- **Another site's page.** CORS stops a page on another origin from *reading* our answers, not from
  *sending*: a form post, or a fetch with a "simple" body (text/plain, multipart, no body at all),
  goes out without a preflight and runs. Browsers put an `Origin` header on every such request, so a
  request whose Origin is present and not allowed is refused before any route runs.
- **DNS rebinding.** A page on `rebind.attacker.example` has its name re-pointed at 127.0.0.1 (or the
  server's LAN address): the browser then treats our server as that page's own origin. Its requests
  carry `Host: rebind.attacker.example`, a name we never answer to, so only known host names pass.

Allowed Host values (the port is ignored):
- any IP literal: rebinding needs a DNS name the attacker controls;
- `localhost` and `*.localhost` (which browsers resolve to loopback themselves);
- listening beyond loopback (0.0.0.0, a LAN address): also names public DNS cannot serve, as LAN
  setups use them: single-label names (`nas`), `*.local` (mDNS), `*.lan`, `*.home.arpa`,
  `*.internal`, `*.localdomain`, and this machine's host name;
- whatever `ATELIER_ALLOWED_HOSTS` adds (`atelier.example.com`, `*.example.com`; `*` turns the check off).

Allowed Origins: the server's own (Origin equal to the Host the request was sent to: the UI that
Atelier serves, or a dev server that proxies /v1), loopback origins on any port (a local dev server,
as Ollama allows), and `ATELIER_CORS_ORIGINS`. The CORS middleware is configured from the same
policy (`cors_options`), so an origin that may send may also read, and no other.

Every response also gets `X-Content-Type-Options: nosniff`, and `frame-ancestors 'none'` (with
`X-Frame-Options: DENY` for old browsers): no other site may frame the UI to click for the user.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atelier.core.config import Settings
from atelier.core.errors import Forbidden, error_response

# Suffixes of names that public DNS cannot serve (RFC 6762 .local, RFC 8375 .home.arpa, ICANN's
# .internal, and what home routers hand out): an attacker cannot point one at us from the internet.
LAN_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal", ".localdomain")
LOOPBACK_ORIGIN = re.compile(r"^https?://(localhost|[a-z0-9.-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or an interface address: reachable from elsewhere


def _host_name(value: str) -> str:
    """`Example.LAN:8080` -> `example.lan`; `[::1]:8080` -> `::1`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") <= 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _matches(name: str, patterns: Iterable[str]) -> bool:
    for p in patterns:
        p = p.strip().lower().rstrip(".")
        if p == "*" or p == name or (p.startswith("*.") and name.endswith(p[1:])):
            return True
    return False


class SitePolicy:
    """The Host and Origin rules for one server, from its settings."""

    def __init__(self, settings: Settings):
        self.lan = not is_loopback(settings.host)
        self.extra_hosts = list(settings.allowed_hosts)
        self.origins = {o.rstrip("/").lower() for o in settings.cors_origins}
        self.machine = socket.gethostname().lower() if self.lan else ""

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = _host_name(host)
        if _is_ip(name) or name == "localhost" or name.endswith(".localhost"):
            return True
        if self.lan and ("." not in name or name.endswith(LAN_SUFFIXES) or name == self.machine):
            return True
        return _matches(name, self.extra_hosts)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins or "*" in self.origins or LOOPBACK_ORIGIN.match(origin):
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or not host:
            return False  # `null` (sandboxed frames, file://), or nothing to compare with
        netloc = parts.netloc
        default_port = {"http": ":80", "https": ":443"}[parts.scheme]
        netloc = netloc.removesuffix(default_port)
        return netloc == host.strip().lower().removesuffix(default_port)

    def cors_options(self) -> dict:
        """Arguments for Starlette's CORSMiddleware that allow exactly the cross-origin callers above."""
        return {
            "allow_origins": sorted(self.origins),
            "allow_origin_regex": LOOPBACK_ORIGIN.pattern,
            "allow_methods": ["*"],
            "allow_headers": ["*"],
            "expose_headers": ["Retry-After", "x-should-retry"],
        }


class SiteGuardMiddleware:
    """403 for a Host or Origin the policy refuses; security headers on every response."""

    def __init__(self, app: ASGIApp, policy: SitePolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.policy.host_allowed(host):
            await self._refuse(scope, receive, send, Forbidden(
                f"host name {_host_name(host or '')!r} is not allowed: add it to ATELIER_ALLOWED_HOSTS "
                "(this check stops DNS rebinding)", param="Host"))
            return
        origin = headers.get("origin")
        if origin is not None and not self.policy.origin_allowed(origin, host):
            await self._refuse(scope, receive, send, Forbidden(
                f"requests from the web page at {origin[:100]!r} are not allowed: add that origin to "
                "ATELIER_CORS_ORIGINS to let it call this server", param="Origin"))
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name.decode() not in out:
                        out.append(name.decode(), value.decode())
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: Forbidden) -> None:
        response = error_response(exc)
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        await response(scope, receive, send)
