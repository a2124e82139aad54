"""Load (issue 9, point 6): 200 concurrent /v1/analyze requests against a real server process.

`python -m atelier` on the tiny models, loopback, ATELIER_MAX_QUEUE=8. All 200 requests are in
flight at once. Every one must end as a 200 with an analysis or a 429 `queue_full` carrying
Retry-After: nothing else, no dropped connection, no hang. None is lost: the server's own count
of finished jobs grows by exactly the number of 200s and its queue is empty afterwards. Memory:
the server's RSS after the burst is back within RSS_TOLERANCE of its warmed-up baseline (models
and detector loaded, one request served).

RSS tolerance: freed Python and glibc memory is not always handed back to the OS at once (arenas,
fragmentation), so "back to baseline" means within 48 MiB, where a leak of the 200 requests'
bodies, images or jobs would show as hundreds of MiB and keep growing across repeats.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from conftest import png_data_url
from servers import tiny_server_process

N_REQUESTS = 200
MAX_QUEUE = 8
RSS_TOLERANCE = 48 * 1024 * 1024
DEADLINE_S = 120  # the whole burst; on the tiny models it takes ~10-20 s on 2 busy cores


@pytest.fixture(scope="module")
def server(tiny_models_dir, tmp_path_factory):
    with tiny_server_process(tiny_models_dir, tmp_path_factory, "load", ATELIER_MAX_QUEUE=str(MAX_QUEUE)) as srv:
        yield srv


def _body(i: int) -> dict:
    # Distinct images, so no layer can answer from a cache.
    return {"image": png_data_url(color=(i % 256, (i * 7) % 256, 90)), "tasks": ["caption", "nsfw"],
            "caption_length": "short"}


async def _burst(url: str, n: int) -> list[tuple[int | str, dict, dict]]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=DEADLINE_S) as c:
        async def one(i: int):
            try:
                r = await c.post("/v1/analyze", json=_body(i))
                return r.status_code, dict(r.headers), r.json()
            except Exception as exc:  # noqa: BLE001 - counted as lost below
                return f"{type(exc).__name__}: {exc}", {}, {}

        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), DEADLINE_S)


def _status(url: str) -> dict:
    return httpx.get(url + "/v1/status", timeout=10).json()


def _settle(url: str, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while True:
        st = _status(url)
        if (not st["queue"]["queued"] and st["queue"]["running"] is None) or time.time() > deadline:
            return st
        time.sleep(0.1)


def test_200_concurrent_analyses_complete_or_get_429_and_none_is_lost(server):
    # Warm up: model and NSFW detector loaded, allocator pools grown; then the baseline.
    for i in range(2):
        r = httpx.post(server.url + "/v1/analyze", json=_body(1000 + i), timeout=60)
        assert r.status_code == 200, r.text
    before = _settle(server.url)
    time.sleep(0.5)
    rss_before = server.rss()

    t0 = time.monotonic()
    results = asyncio.run(_burst(server.url, N_REQUESTS))
    elapsed = time.monotonic() - t0

    statuses = [s for s, _, _ in results]
    ok = [(h, b) for s, h, b in results if s == 200]
    busy = [(h, b) for s, h, b in results if s == 429]
    other = [(s, b) for s, _, b in results if s not in (200, 429)]
    assert len(results) == N_REQUESTS
    assert not other, f"lost or failed: {other[:5]}"
    assert len(ok) + len(busy) == N_REQUESTS
    assert len(ok) >= MAX_QUEUE, f"only {len(ok)} served: the queue should take at least {MAX_QUEUE}"
    assert busy, "200 requests at once must overflow a queue of 8"
    for _, body in ok:
        assert body["object"] == "analysis" and isinstance(body["caption"], str) and body["nsfw"]["label"]
    for headers, body in busy:
        assert int(headers["retry-after"]) >= 1, headers
        assert body["error"]["code"] == "queue_full" and body["error"]["type"] == "rate_limit_error"
        assert "x-should-retry" not in headers  # a full queue is worth retrying (the clients do, after Retry-After)

    after = _settle(server.url)
    assert after["queue"]["queued"] == [] and after["queue"]["running"] is None
    assert after["queue"]["completed"] - before["queue"]["completed"] == len(ok), "a job ran twice or not at all"

    time.sleep(1.0)
    rss_after = server.rss()
    growth = rss_after - rss_before
    print(f"\n{N_REQUESTS} requests in {elapsed:.1f} s: {len(ok)} served, {len(busy)} x 429; "
          f"RSS {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB ({growth / 2**20:+.1f} MiB)")
    assert growth <= RSS_TOLERANCE, f"RSS grew by {growth / 2**20:.0f} MiB after the burst"
    assert elapsed < DEADLINE_S
