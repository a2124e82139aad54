"""Memory is bounded by bytes, not by job count (issue 16, point 5).

A 3.5 MB batch of 16 x 40 MP PNGs queued behind a running job used to take the server from 795 MiB
to 3.5 GiB (decoded while it waited) and RSS stayed there. Now a queued job holds its compressed
bytes; the images of waiting and running jobs stay within ATELIER_IMAGE_MEMORY_MB (429 past it);
the job decodes one image at a time; freed memory goes back to the OS; finished jobs drop their
closure at once and their results after a TTL or past a byte budget.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import io
import json
import threading
import time
import weakref

import httpx
import pytest

from atelier.core.errors import QueueFull
from atelier.engine.worker import GPUWorker
from conftest import png_data_url
from servers import tiny_server_process

MiB = 1024**2
BIG = (6000, 4000)  # a 24 MP camera frame
N_BIG = 8
BUDGET_MB = 200  # one batch of N_BIG fits (~170 MiB as the job decodes it), two do not
QUEUED_GROWTH = 80 * MiB  # RSS a queued batch may add (its ~2 MB body, parsing, the request's objects)
AFTER_GROWTH = 96 * MiB  # RSS left after the batch ran: arena fragmentation, caches; decoded it is ~1.5 GiB


# ---------------------------------------------------------------------------- the worker's budget
@pytest.fixture
def worker():
    loop = asyncio.new_event_loop()
    w = GPUWorker(max_queue=8, max_image_bytes=100 * MiB, results_budget=10 * MiB, results_ttl=60)
    w.start(loop)
    yield w, loop
    w.stop()
    loop.close()


def _blocker(w: GPUWorker):
    release = threading.Event()
    job = w.submit("block", lambda ctx: release.wait(10))
    deadline = time.time() + 5
    while w.running is not job and time.time() < deadline:
        time.sleep(0.005)
    return job, release


def _settle(loop, job):
    loop.run_until_complete(asyncio.wait_for(job.wait(), 10))


def test_image_memory_is_a_budget_in_bytes_with_429_past_it(worker):
    w, loop = worker
    job, release = _blocker(w)
    a = w.submit("a", lambda ctx: "a", cost_bytes=60 * MiB)
    with pytest.raises(QueueFull) as exc:
        w.submit("b", lambda ctx: "b", cost_bytes=50 * MiB)
    assert "ATELIER_IMAGE_MEMORY_MB" in exc.value.message and exc.value.headers.get("Retry-After")
    small = w.submit("c", lambda ctx: "c", cost_bytes=30 * MiB)  # still fits
    assert w.held_bytes() == 90 * MiB
    release.set()
    for j in (job, a, small):
        _settle(loop, j)
    assert w.held_bytes() == 0
    # A job bigger than the whole budget runs when it is alone.
    huge = w.submit("huge", lambda ctx: "ok", cost_bytes=500 * MiB)
    _settle(loop, huge)
    assert huge.status == "done"


def test_a_finished_job_lets_go_of_its_closure_and_its_result_expires(worker):
    w, loop = worker

    class Images:  # stands for the decoded images a closure captured
        pass

    held = Images()
    ref = weakref.ref(held)
    job = w.submit("gen", lambda ctx, images=held: {"data": ["x" * (6 * MiB)]})
    del held
    _settle(loop, job)
    gc.collect()
    assert ref() is None, "the finished job still holds what its closure captured"
    assert job.result is not None and job.result_bytes >= 6 * MiB
    second = w.submit("gen", lambda ctx: {"data": ["y" * (6 * MiB)]})
    _settle(loop, second)
    w.expire_results()
    # 12 MiB of results in a 10 MiB budget: the older one goes, the newest stays.
    assert job.result is None and job.result_expired and job.summary()["result_expired"]
    assert second.result is not None
    w.results_ttl = 0.0
    time.sleep(0.01)
    w.expire_results()
    assert second.result is None and second.result_expired


def test_500_finished_jobs_do_not_hold_their_base64_results(worker):
    """Neither the job nor its future keeps a result past its expiry: 500 finished generations
    (the jobs the worker remembers) hold only the newest result, within the byte budget."""
    w, loop = worker

    class Result(dict):  # a generation's response, weakly referenceable
        pass

    refs = []
    for i in range(500):
        job = w.submit("generate", lambda ctx, i=i: Result(data=[{"b64_json": f"{i:04d}" * (16 * 1024)}]))
        _settle(loop, job)
        refs.append(weakref.ref(job.result))
    w.expire_results()
    loop.run_until_complete(asyncio.sleep(0))  # the futures give up their results on the loop
    gc.collect()
    alive = [i for i, r in enumerate(refs) if r() is not None]
    kept = sum(len(r()["data"][0]["b64_json"]) for r in refs if r() is not None)
    assert kept <= w.results_budget and alive[-1] == 499, alive[-5:]
    assert len(alive) <= w.results_budget // (64 * 1024) + 1


def test_a_result_delivered_in_its_response_is_not_kept(client):
    r = client.post("/v1/generate", json={"prompt": "a fox", "width": 64, "height": 64, "steps": 1})
    assert r.status_code == 200 and r.json()["data"]
    worker = client.app.state.services.worker
    job = next(j for j in reversed(list(worker._jobs.values())) if j.kind == "generate")
    assert job.result is None and job.result_expired


def test_an_expired_result_reads_as_such_over_http(client):
    worker = client.app.state.services.worker
    r = client.post("/v1/jobs", json={"prompt": "a fox", "width": 64, "height": 64, "steps": 1})
    job_id = r.json()["id"]
    deadline = time.time() + 60
    while client.get(f"/v1/jobs/{job_id}").json()["status"] not in ("done", "error") and time.time() < deadline:
        time.sleep(0.05)
    body = client.get(f"/v1/jobs/{job_id}").json()
    assert body["status"] == "done" and body["result"]["data"] and body["result_expired"] is False
    ttl = worker.results_ttl
    worker.results_ttl = 0.0
    try:
        body = client.get(f"/v1/jobs/{job_id}").json()
    finally:
        worker.results_ttl = ttl
    assert body["status"] == "done" and body["result"] is None and body["result_expired"] is True


# ---------------------------------------------------------------------------- a real server's RSS
def _big_png() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", BIG, (90, 140, 200)).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def server(tiny_models_dir, tmp_path_factory):
    with tiny_server_process(tiny_models_dir, tmp_path_factory, "mem", ATELIER_IMAGE_MEMORY_MB=str(BUDGET_MB)) as srv:
        yield srv


def _running_kind(url: str) -> str | None:
    running = httpx.get(url + "/v1/status", timeout=30).json()["queue"]["running"]
    return running["kind"] if running else None


def _queued(url: str) -> list[dict]:
    return httpx.get(url + "/v1/status", timeout=30).json()["queue"]["queued"]


def test_a_queued_batch_of_large_images_holds_its_compressed_bytes_and_memory_comes_back(server):
    url = server.url
    chat = {"model": "tiny-vlm", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": png_data_url()}}]}]}
    # Warm up: the vision model, the NSFW detector and one request of each kind, then the baseline.
    assert httpx.post(url + "/v1/chat/completions", json={**chat, "max_tokens": 2}, timeout=120).status_code == 200
    small = {"images": [png_data_url()], "tasks": ["nsfw"]}
    assert httpx.post(url + "/v1/analyze/batch", json=small, timeout=120).status_code == 200
    batch = json.dumps({"images": [_big_png()] * N_BIG, "tasks": ["nsfw"]})
    time.sleep(0.5)
    baseline = server.rss()

    # A long chat holds the GPU worker, so the batch waits in the queue.
    stop = threading.Event()

    def block() -> None:
        body = {**chat, "max_tokens": 4000, "min_tokens": 4000, "stream": True}
        with httpx.Client(timeout=120) as c, c.stream("POST", url + "/v1/chat/completions", json=body) as r:
            for _ in r.iter_lines():
                if stop.is_set():
                    return  # closing the stream cancels the chat

    blocker = threading.Thread(target=block)
    blocker.start()
    deadline = time.time() + 60
    while _running_kind(url) != "chat" and time.time() < deadline:
        time.sleep(0.05)

    answers: dict = {}

    def send_batch() -> None:
        answers["batch"] = httpx.post(url + "/v1/analyze/batch", content=batch, timeout=300,
                                      headers={"Content-Type": "application/json"})

    sender = threading.Thread(target=send_batch)
    sender.start()
    while not _queued(url) and time.time() < deadline:
        time.sleep(0.05)
    assert _queued(url), "the batch never reached the queue"
    time.sleep(0.5)
    queued_rss = server.rss()

    # A second batch does not fit in the image budget beside the first: 429, nothing decoded.
    second = httpx.post(url + "/v1/analyze/batch", content=batch, timeout=60, headers={"Content-Type": "application/json"})
    assert second.status_code == 429 and second.headers.get("retry-after"), second.text
    assert "ATELIER_IMAGE_MEMORY_MB" in second.json()["error"]["message"]

    stop.set()
    blocker.join(60)
    sender.join(300)
    r = answers["batch"]
    assert r.status_code == 200, r.text[:300]
    assert [item.get("nsfw", {}).get("label") for item in r.json()["data"]] == ["safe"] * N_BIG
    time.sleep(0.5)
    after = server.rss()
    print(f"RSS baseline {baseline / MiB:.0f} MiB, batch queued {queued_rss / MiB:.0f} MiB, "
          f"after {after / MiB:.0f} MiB")
    assert queued_rss - baseline < QUEUED_GROWTH, "the queued batch holds decoded images"
    assert after - baseline < AFTER_GROWTH, "memory did not come back after the batch"
