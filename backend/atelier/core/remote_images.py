"""Fetching http(s) images for clients that send URLs instead of data: the SSRF surface.

Off unless `ATELIER_ALLOW_REMOTE_IMAGES` is set. When on, every hop (redirects included) must
resolve only to public addresses (no loopback, private, link-local, multicast, reserved or
unspecified ranges: the cloud metadata endpoint and the user's router stay unreachable), the
connection goes to the address that was checked (no DNS-rebinding window), and the transfer is
bounded in bytes and in seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from atelier.core.errors import InvalidImage, PayloadTooLarge

MAX_REDIRECTS = 3
# Base64 images up to this many characters (~96 KB decoded) are checked on the event loop: the check
# reads the whole file (PNG checksums), ~0.1 ms here, less than a hop to the thread pool and back.
INLINE_PROBE_CHARS = 128 * 1024


def is_public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        elif addr.sixtofour is not None and not is_public_address(str(addr.sixtofour)):
            return False  # 2002:7f00:1:: is 6to4 for 127.0.0.1: judged by the address it carries
        elif addr.teredo is not None and not all(is_public_address(str(a)) for a in addr.teredo):
            return False
        elif addr.is_site_local:  # fec0::/10, deprecated but still routed by some stacks
            return False
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_link_local)


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


async def _checked_address(url: str, param: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidImage(f"image URLs must be http(s) URLs with a host, got {url[:80]!r}", param=param)
    if parts.username or parts.password:
        raise InvalidImage("image URLs must not carry credentials", param=param)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addrs = await _resolve(parts.hostname, port)
    except OSError as exc:
        raise InvalidImage(f"could not resolve {parts.hostname!r}: {exc}", param=param) from exc
    refused = [a for a in addrs if not is_public_address(a)]
    if not addrs or refused:
        raise InvalidImage(
            f"refusing to fetch {parts.hostname!r}: it resolves to a non-public address "
            f"({', '.join(refused) or 'none'}); send the image as a data URL instead", param=param)
    return parts.scheme, parts.hostname, port, addrs[0]


async def fetch_image_bytes(url: str, *, max_bytes: int, timeout: float, param: str = "image_url") -> bytes:
    try:
        return await asyncio.wait_for(_fetch(url, max_bytes, param), timeout)
    except asyncio.TimeoutError as exc:
        raise InvalidImage(f"fetching the image took longer than {timeout:g} s (ATELIER_REMOTE_IMAGE_TIMEOUT)",
                           param=param) from exc


async def _fetch(url: str, max_bytes: int, param: str) -> bytes:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            scheme, host, port, ip = await _checked_address(url, param)
            parts = urlsplit(url)
            target = parts._replace(netloc=f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}").geturl()
            # identity: a compressed body could inflate far past the size limit within one chunk.
            headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "image/*", "Accept-Encoding": "identity"}
            # Connect to the address we checked; TLS still verifies the certificate for `host`.
            extensions = {"sni_hostname": host} if scheme == "https" else {}
            async with client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                if resp.is_redirect:
                    location = resp.headers.get("location")
                    if not location:
                        raise InvalidImage("the image URL redirected without a Location", param=param)
                    url = urljoin(url, location)
                    continue
                if resp.status_code != 200:
                    raise InvalidImage(f"fetching the image failed: HTTP {resp.status_code}", param=param)
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise PayloadTooLarge(
                        f"the remote image is {int(declared):,} bytes; the limit is {max_bytes:,} "
                        "(ATELIER_REMOTE_IMAGE_MAX_MB)", param=param)
                encoding = resp.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise InvalidImage(f"the image server sent a {encoding!r}-encoded body although asked for "
                                       "none; send the image as a data URL instead", param=param)
                buf = bytearray()
                async for chunk in resp.aiter_raw():
                    buf.extend(chunk)
                    if len(buf) > max_bytes:
                        raise PayloadTooLarge(
                            f"the remote image is larger than {max_bytes:,} bytes (ATELIER_REMOTE_IMAGE_MAX_MB)",
                            param=param)
                return bytes(buf)
    raise InvalidImage(f"the image URL redirected more than {MAX_REDIRECTS} times", param=param)


async def load_image(value: str, settings, *, param: str = "image"):
    """A checked, still compressed image (`PendingImage`) from base64, a data URL, or (when allowed)
    an http(s) URL. The job decodes it when it runs.

    The check reads the whole file (PNG checksums): in a worker thread, off the event loop, unless
    the image is small (INLINE_PROBE_CHARS)."""
    from starlette.concurrency import run_in_threadpool

    from atelier.core.images import PendingImage, pending_image

    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        if not settings.allow_remote_images:
            raise InvalidImage(
                "remote image URLs are disabled on this server: send the image as a data URL "
                "(data:image/png;base64,...) or set ATELIER_ALLOW_REMOTE_IMAGES=true", param=param)
        data = await fetch_image_bytes(
            value.strip(), max_bytes=int(settings.remote_image_max_mb * 1024 * 1024),
            timeout=settings.remote_image_timeout, param=param)
        return await run_in_threadpool(PendingImage.probe, data, max_pixels=settings.max_image_pixels, param=param)
    if isinstance(value, str) and len(value) <= INLINE_PROBE_CHARS:
        # A small image is checked in well under a millisecond: cheaper here than the thread hop.
        return pending_image(value, max_pixels=settings.max_image_pixels, param=param)
    return await run_in_threadpool(pending_image, value, max_pixels=settings.max_image_pixels, param=param)
