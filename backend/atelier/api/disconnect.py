"""Waiting on a GPU job from a request handler, cancelling it if the client goes away."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from atelier.engine.worker import GPUWorker, Job


async def _disconnected(request: Request) -> None:
    """Returns when the client hangs up. The body has been read by then, so the next ASGI message
    is the disconnect (or nothing, for as long as the client stays)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def await_job(job: Job, request: Request, worker: GPUWorker) -> Any:
    """The job's result; a client that disconnects first cancels the job (queued or running).

    Streaming routes get this from Starlette (the generator is cancelled); a plain JSON route is not
    told, so it listens for the disconnect itself, beside the job. Every middleware is pure ASGI:
    the disconnect message reaches this listener, never a BaseHTTPMiddleware's copy of the channel."""
    waiter = asyncio.ensure_future(job.wait())
    listener = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({waiter, listener}, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            result = waiter.result()
            # Delivered in this response: the finished job keeps no copy (its images in base64 would
            # otherwise stay until ATELIER_JOB_RESULTS_TTL, for every one of the last 500 jobs).
            job.drop_result()
            return result
        worker.cancel(job.id)
        return await waiter
    finally:
        listener.cancel()
        if not job.finished:
            worker.cancel(job.id)
        if not waiter.done():
            waiter.cancel()
