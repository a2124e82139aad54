"""Waiting on a GPU job from a request handler, cancelling it if the client goes away."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from atelier.engine.worker import GPUWorker, Job


async def await_job(job: Job, request: Request, worker: GPUWorker, *, poll: float = 0.5) -> Any:
    """The job's result; a client that disconnects first cancels the job (queued or running).

    Streaming routes get this from Starlette (the generator is cancelled); a plain JSON route is
    not told, so it polls."""
    waiter = asyncio.ensure_future(job.wait())
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=poll)
            if done:
                return waiter.result()
            if await request.is_disconnected():
                worker.cancel(job.id)
                return await waiter
    finally:
        if not job.finished:
            worker.cancel(job.id)
        if not waiter.done():
            waiter.cancel()
