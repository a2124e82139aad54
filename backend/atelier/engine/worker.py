"""The one worker that owns the GPU.

Pipelines are not thread-safe and two of them on one card is how users meet "CUDA out of memory",
so every model operation (load, generate, caption, unload) runs as a job on ONE thread, in order
of priority (interactive before background) and then arrival. Endpoints await a job's future;
nothing blocking runs on the event loop.

A job reports progress as events (queued with position, loading, step i of n, decoding, done,
error, cancelled) that any number of SSE subscribers can follow, late ones included (the history
is replayed). Cancelling a queued job removes it; cancelling a running job sets a flag that the
model code checks at every step (`JobContext.cancelled`; SDXL checks it between UNet and VAE
blocks too) and emits `cancelling`, so a client can say "Cancelling..." until `cancelled` arrives.

Memory is bounded in bytes, not only in jobs (issue 16):
- a job declares what its images will cost (`cost_bytes`: compressed while queued, decoded while
  it runs); the queued and running jobs together stay within `max_image_bytes`
  (ATELIER_IMAGE_MEMORY_MB), past which `submit` answers 429. A job larger than the whole budget
  still runs when nothing else holds any of it;
- after a job that cost `RELEASE_AFTER_BYTES` or more, freed memory is handed back to the OS;
- a finished job drops its closure (and the images it held) at once, and its result after
  `results_ttl` seconds or when newer results need the `results_budget` bytes
  (ATELIER_JOB_RESULTS_TTL, ATELIER_JOB_RESULTS_MB); the summary stays, with `result_expired`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from atelier.core.errors import AtelierError, Cancelled, NotFound, QueueFull
from atelier.core.memory import approx_bytes, release_memory

log = logging.getLogger("atelier.worker")

TERMINAL = frozenset({"done", "error", "cancelled"})
MiB = 1024**2
RELEASE_AFTER_BYTES = 64 * MiB  # below this, glibc's arenas are not worth a trim


class Priority(IntEnum):
    INTERACTIVE = 0  # a person is waiting: generation, chat, switches
    BACKGROUND = 1  # analysis of imports, batch work


@dataclass
class JobEvent:
    type: str
    data: dict[str, Any]
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at, **self.data}


class Job:
    def __init__(self, kind: str, fn: Callable[[JobContext], Any], priority: Priority,
                 loop: asyncio.AbstractEventLoop, params: dict[str, Any] | None = None, cost_bytes: int = 0):
        self.id = f"job_{uuid.uuid4().hex[:20]}"
        self.kind = kind
        self.fn: Callable[[JobContext], Any] | None = fn
        self.cost_bytes = cost_bytes
        self.result_bytes = 0
        self.result_expired = False
        self.priority = priority
        self.params = params or {}
        self.status = "queued"
        self.created = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.events: list[JobEvent] = []
        self._loop = loop
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._future: asyncio.Future[Any] = loop.create_future()
        self._subscribers: set[asyncio.Queue[JobEvent | None]] = set()

    # --- state, written by the worker thread, read anywhere
    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def emit(self, type: str, **data: Any) -> None:
        ev = JobEvent(type, data)
        with self._lock:
            self.events.append(ev)
            subs = list(self._subscribers)
        for q in subs:
            self._loop.call_soon_threadsafe(q.put_nowait, ev)

    def _finish(self, status: str, result: Any = None, error: BaseException | None = None) -> None:
        if error is not None:
            # The traceback's frames hold what the job was working on (latents on the GPU, images):
            # a finished job keeps only the message.
            error.__traceback__ = None
        with self._lock:
            if self.status in TERMINAL:
                return
            self.status = status
            self.result = result
            self.result_bytes = approx_bytes(result) if result is not None else 0
            self.error = error
            self.finished_at = time.time()
            self.fn = None  # the closure holds the request's images: nothing keeps them now
        if status == "done":
            self.emit("done")
        elif status == "cancelled":
            self.emit("cancelled")
        else:
            from atelier.core.errors import error_body

            self.emit("error", **error_body(error or RuntimeError("unknown error")))
        with self._lock:
            subs = list(self._subscribers)
        for q in subs:
            self._loop.call_soon_threadsafe(q.put_nowait, None)

        def settle() -> None:
            if self._future.done():
                return
            if status == "done":
                self._future.set_result(result)
            else:
                self._future.set_exception(error or Cancelled("the job was cancelled"))
                # Nobody may await a background job's future: mark the exception as retrieved.
                self._future.exception()

        self._loop.call_soon_threadsafe(settle)

    def drop_result(self) -> int:
        """Forget the result (kept for GET /v1/jobs/{id}); returns the bytes it held.

        The job's future holds the result too (for `wait()`): it is swapped for one that holds
        nothing, on the loop's thread. Waiters already woken keep their reference until they ran."""
        with self._lock:
            freed, self.result, self.result_bytes = self.result_bytes, None, 0
            self.result_expired = True
        try:
            self._loop.call_soon_threadsafe(self._forget_future_result)
        except RuntimeError:  # the loop is closed: nothing will await the future again
            pass
        return freed

    def _forget_future_result(self) -> None:
        f = self._future
        if f.done() and not f.cancelled() and f.exception() is None and f.result() is not None:
            empty = self._loop.create_future()
            empty.set_result(None)
            self._future = empty

    # --- the async side
    async def wait(self) -> Any:
        return await asyncio.shield(self._future)

    async def subscribe(self) -> AsyncIterator[JobEvent]:
        """Every event so far, then live ones, until the job ends."""
        q: asyncio.Queue[JobEvent | None] = asyncio.Queue()
        with self._lock:
            history = list(self.events)
            done = self.status in TERMINAL
            if not done:
                self._subscribers.add(q)
        try:
            for ev in history:
                yield ev
            if done:
                return
            # History and subscription were taken under the lock that emit() holds while
            # appending, so every later event reaches the queue exactly once.
            while True:
                ev = await q.get()
                if ev is None:
                    return
                yield ev
        finally:
            with self._lock:
                self._subscribers.discard(q)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "job",
            "kind": self.kind,
            "status": self.status,
            "priority": self.priority.name.lower(),
            "created": self.created,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "params": self.params,
            "cancel_requested": self.cancel_requested,
            "last_event": self.events[-1].as_dict() if self.events else None,
            "result_expired": self.result_expired,
        }


class JobContext:
    """What model code sees of its job: progress reporting and the cancel flag."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def cancelled(self) -> bool:
        return self.job.cancel_requested

    def emit(self, type: str, **data: Any) -> None:
        self.job.emit(type, **data)

    def raise_if_cancelled(self) -> None:
        if self.job.cancel_requested:
            raise Cancelled("the job was cancelled")


class GPUWorker:
    def __init__(self, max_queue: int = 32, idle_hook: Callable[[], None] | None = None,
                 idle_interval: float = 1.0, keep_finished: int = 500, max_image_bytes: int | None = None,
                 results_budget: int | None = None, results_ttl: float | None = None):
        self.max_queue = max_queue
        self.idle_hook = idle_hook
        self.idle_interval = idle_interval
        self.keep_finished = keep_finished
        self.max_image_bytes = max_image_bytes
        self.results_budget = results_budget
        self.results_ttl = results_ttl
        self._heap: list[tuple[int, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._running: Job | None = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._durations: list[float] = []
        self.completed = 0

    # --- lifecycle
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="atelier-gpu-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            pending = [j for _, _, j in self._heap]
            self._heap.clear()
            if self._running is not None:
                self._running._cancel.set()
            self._cond.notify_all()
        for job in pending:
            job._finish("cancelled", error=Cancelled("the server is shutting down"))
        if self._thread is not None:
            self._thread.join(timeout)

    # --- submitting
    def submit(self, kind: str, fn: Callable[[JobContext], Any], *,
               priority: Priority = Priority.INTERACTIVE, params: dict[str, Any] | None = None,
               cost_bytes: int = 0) -> Job:
        """Queue `fn`; `cost_bytes` is the memory its images take (see the module's docstring)."""
        assert self._loop is not None, "worker not started"
        job = Job(kind, fn, priority, self._loop, params, cost_bytes)
        with self._cond:
            queued = sum(1 for _, _, j in self._heap if not j.finished)
            if queued >= self.max_queue:
                raise QueueFull(
                    f"the queue is full ({queued} jobs waiting, ATELIER_MAX_QUEUE={self.max_queue}); "
                    "retry later",
                    retry_after=self._retry_after(queued),
                )
            held = self.held_bytes()
            if cost_bytes and held and self.max_image_bytes is not None and held + cost_bytes > self.max_image_bytes:
                raise QueueFull(
                    f"the images of the jobs waiting and running take {held / MiB:,.0f} MiB; this request's "
                    f"would take {cost_bytes / MiB:,.0f} MiB more, past ATELIER_IMAGE_MEMORY_MB="
                    f"{self.max_image_bytes / MiB:,.0f}; retry later, or send fewer or smaller images",
                    retry_after=self._retry_after(max(1, queued)),
                )
            heapq.heappush(self._heap, (int(priority), next(self._seq), job))
            self._jobs[job.id] = job
            self._trim()
            self._cond.notify_all()
        self._announce_positions()
        return job

    def _retry_after(self, queued: int) -> int:
        avg = sum(self._durations) / len(self._durations) if self._durations else 2.0
        return max(1, min(60, round(avg * max(1, queued) / 4)))

    def held_bytes(self) -> int:
        """Memory the images of queued and running jobs take (their `cost_bytes`)."""
        running = self._running
        return sum(j.cost_bytes for _, _, j in self._heap if not j.finished) + (
            running.cost_bytes if running is not None and not running.finished else 0)

    def _trim(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.finished]
        for jid in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[jid]

    def expire_results(self) -> int:
        """Drop results past their TTL, then the oldest ones past the byte budget (the newest result
        always stays: a client is about to fetch it). Returns the bytes freed."""
        now, kept, freed, newest = time.time(), 0, 0, True
        for job in reversed(list(self._jobs.values())):
            if not job.finished or job.result is None:
                continue
            if self.results_ttl is not None and now - (job.finished_at or now) > self.results_ttl:
                freed += job.drop_result()
                continue
            kept += job.result_bytes
            if not newest and self.results_budget is not None and kept > self.results_budget:
                freed += job.drop_result()
            newest = False
        return freed

    # --- inspecting
    def get(self, job_id: str) -> Job:
        self.expire_results()
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}", param="id")
        return job

    def queued(self) -> list[Job]:
        with self._cond:
            return [j for _, _, j in sorted(self._heap) if not j.finished]

    @property
    def running(self) -> Job | None:
        return self._running

    def position(self, job: Job) -> int:
        """0 while running, 1 for the next job to run, and so on; -1 when finished."""
        if job is self._running:
            return 0
        for i, j in enumerate(self.queued(), start=1):
            if j is job:
                return i
        return -1

    def snapshot(self) -> dict[str, Any]:
        running = self._running
        return {
            "running": running.summary() if running else None,
            "queued": [j.summary() for j in self.queued()],
            "max_queue": self.max_queue,
            "completed": self.completed,
            "image_bytes": self.held_bytes(),
            "max_image_bytes": self.max_image_bytes,
        }

    # --- cancelling
    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self._cond:
            if job.finished:
                return job
            already = job._cancel.is_set()
            job._cancel.set()
            is_queued = job is not self._running
            if is_queued:
                self._heap = [e for e in self._heap if e[2] is not job]
                heapq.heapify(self._heap)
        if is_queued:
            job._finish("cancelled", error=Cancelled("the job was cancelled before it started"))
            self._announce_positions()
        elif not already:
            job.emit("cancelling")
        return job

    # --- the thread
    def _announce_positions(self) -> None:
        for i, j in enumerate(self.queued(), start=1):
            last = j.events[-1] if j.events else None
            if last is None or last.type != "queued" or last.data.get("position") != i:
                j.emit("queued", position=i)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._stop:
                    if not self._cond.wait(self.idle_interval):
                        self._cond.release()
                        try:
                            self._idle()
                        finally:
                            self._cond.acquire()
                if self._stop:
                    return
                _, _, job = heapq.heappop(self._heap)
                if job.finished:
                    continue
                self._running = job
                job.status = "running"
                job.started_at = time.time()
            self._announce_positions()
            job.emit("started")
            try:
                assert job.fn is not None
                result = job.fn(JobContext(job))
                if job.cancel_requested:
                    job._finish("cancelled", error=Cancelled("the job was cancelled"))
                else:
                    job._finish("done", result=result)
            except Cancelled as exc:
                job._finish("cancelled", error=exc)
            except AtelierError as exc:
                job._finish("error", error=exc)
            except BaseException as exc:  # noqa: BLE001 - the worker must survive any job
                log.exception("job %s (%s) failed", job.id, job.kind)
                job._finish("error", error=exc)
            finally:
                with self._cond:
                    self._running = None
                    self.completed += 1
                    if job.started_at:
                        self._durations = (self._durations + [time.time() - job.started_at])[-20:]
                freed = self.expire_results()
                if job.cost_bytes >= RELEASE_AFTER_BYTES or freed >= RELEASE_AFTER_BYTES:
                    release_memory()

    def _idle(self) -> None:
        """Between jobs: results past their TTL go, then the idle hook (model TTLs) runs."""
        try:
            if self.expire_results() >= RELEASE_AFTER_BYTES:
                release_memory()
            if self.idle_hook is not None:
                self.idle_hook()
        except Exception:  # an idle hook must never kill the worker
            log.exception("idle hook failed")
