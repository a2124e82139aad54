import asyncio
import threading
import time

import pytest

from atelier.core.errors import Cancelled, QueueFull
from atelier.engine.worker import GPUWorker, Priority


@pytest.fixture
async def worker():
    w = GPUWorker(max_queue=3, idle_interval=0.05)
    w.start(asyncio.get_running_loop())
    yield w
    w.stop()


async def test_jobs_never_run_concurrently(worker):
    active = 0
    peak = 0
    lock = threading.Lock()

    def fn(ctx):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return ctx.job.id

    jobs = [worker.submit("t", fn) for _ in range(3)]
    results = await asyncio.gather(*(j.wait() for j in jobs))
    assert results == [j.id for j in jobs]
    assert peak == 1


async def test_interactive_jobs_run_before_background_ones(worker):
    gate = threading.Event()
    order: list[str] = []
    blocker = worker.submit("block", lambda ctx: gate.wait(2))
    while worker.running is not blocker:
        await asyncio.sleep(0.01)
    bg = worker.submit("bg", lambda ctx: order.append("bg"), priority=Priority.BACKGROUND)
    fg = worker.submit("fg", lambda ctx: order.append("fg"), priority=Priority.INTERACTIVE)
    assert worker.position(fg) == 1 and worker.position(bg) == 2
    gate.set()
    await asyncio.gather(blocker.wait(), bg.wait(), fg.wait())
    assert order == ["fg", "bg"]


async def test_submit_past_max_queue_raises_queue_full_with_retry_after(worker):
    gate = threading.Event()
    worker.submit("block", lambda ctx: gate.wait(2))
    await asyncio.sleep(0.05)  # let it start running: running jobs do not count
    for _ in range(3):
        worker.submit("q", lambda ctx: None)
    with pytest.raises(QueueFull) as info:
        worker.submit("q", lambda ctx: None)
    assert int(info.value.headers["Retry-After"]) >= 1
    gate.set()


async def test_cancel_queued_job_never_runs_it(worker):
    gate = threading.Event()
    ran = []
    blocker = worker.submit("block", lambda ctx: gate.wait(2))
    victim = worker.submit("v", lambda ctx: ran.append(1))
    worker.cancel(victim.id)
    gate.set()
    await blocker.wait()
    with pytest.raises(Cancelled):
        await victim.wait()
    await asyncio.sleep(0.05)
    assert ran == [] and victim.status == "cancelled"


async def test_cancel_running_job_is_seen_by_the_job_and_ends_cancelled(worker):
    started = threading.Event()

    def fn(ctx):
        started.set()
        for _ in range(200):
            ctx.raise_if_cancelled()
            time.sleep(0.01)
        return "finished"

    job = worker.submit("long", fn)
    await asyncio.to_thread(started.wait, 2)
    worker.cancel(job.id)
    with pytest.raises(Cancelled):
        await job.wait()
    assert job.status == "cancelled"


async def test_late_subscriber_gets_full_history_in_order(worker):
    def fn(ctx):
        for i in range(3):
            ctx.emit("step", step=i + 1, total=3)
        return 1

    job = worker.submit("t", fn)
    await job.wait()
    types = [ev.type for ev in [e async for e in job.subscribe()]]
    assert types[0] in ("queued", "started")
    assert types[-1] == "done"
    steps = [e.data["step"] async for e in job.subscribe() if e.type == "step"]
    assert steps == [1, 2, 3]


async def test_a_failing_job_does_not_kill_the_worker(worker):
    bad = worker.submit("bad", lambda ctx: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        await bad.wait()
    good = worker.submit("good", lambda ctx: 42)
    assert await good.wait() == 42


async def test_idle_hook_runs_on_the_worker_thread_when_idle():
    seen = []
    w = GPUWorker(idle_interval=0.02, idle_hook=lambda: seen.append(threading.current_thread().name))
    w.start(asyncio.get_running_loop())
    await asyncio.sleep(0.15)
    w.stop()
    assert seen and all(n == "atelier-gpu-worker" for n in seen)
