"""The official OpenAI clients (Python and Node) against a real uvicorn server, and what happens
when a streaming client disconnects. Types, counts and shapes only: random weights."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import png_data_url

NODE_SCRIPT = Path(__file__).resolve().parents[1] / "node" / "openai_client.mjs"


@pytest.fixture(scope="module")
def oa(live_server):
    return openai.OpenAI(base_url=live_server["url"] + "/v1", api_key="unused", max_retries=0, timeout=60)


def image_message(text="What is this?"):
    return {"role": "user", "content": [{"type": "text", "text": text},
                                        {"type": "image_url", "image_url": {"url": png_data_url()}}]}


def test_python_client_chat_completion(oa):
    c = oa.chat.completions.create(model="tiny-vlm", messages=[image_message()], max_tokens=6,
                                   extra_body={"min_tokens": 6})
    assert c.object == "chat.completion" and c.model == "tiny-vlm"
    assert isinstance(c.choices[0].message.content, str) and c.choices[0].finish_reason == "length"
    assert c.usage.completion_tokens == 6 and c.usage.total_tokens == c.usage.prompt_tokens + 6


def test_python_client_stream(oa):
    stream = oa.chat.completions.create(model="tiny-vlm", messages=[image_message()], max_tokens=6,
                                        stream=True, stream_options={"include_usage": True},
                                        extra_body={"min_tokens": 6})
    chunks = list(stream)
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["length"]
    assert chunks[-1].usage.completion_tokens == 6
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert isinstance(text, str)


def test_python_client_models_list(oa):
    ids = [m.id for m in oa.models.list()]
    assert "tiny-vlm" in ids and "tiny-sdxl" in ids


def test_python_client_raises_typed_errors(oa):
    with pytest.raises(openai.NotFoundError):
        oa.chat.completions.create(model="nope", messages=[image_message()])
    with pytest.raises(openai.BadRequestError):
        oa.chat.completions.create(model="tiny-vlm", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}]}])


def test_error_after_the_stream_started_reaches_the_client_as_api_error(oa, live_server):
    from atelier.core.errors import ModelLoadFailed

    services = live_server["app"].state.services
    family = services.manager.families["vlm"]
    services.manager.unload()

    def broken(spec, placement):
        raise ModelLoadFailed("simulated load failure")

    family.load = broken
    try:
        stream = oa.chat.completions.create(model="tiny-vlm", messages=[image_message()], max_tokens=3, stream=True)
        with pytest.raises(openai.APIError, match="simulated load failure"):
            list(stream)
    finally:
        del family.load


def test_client_disconnect_stops_generation(live_server):
    worker = live_server["app"].state.services.worker
    body = {"model": "tiny-vlm", "messages": [image_message()], "max_tokens": 4000, "min_tokens": 4000,
            "stream": True}
    before = set(worker._jobs)
    with httpx.Client(timeout=30) as http:
        with http.stream("POST", live_server["url"] + "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert first.startswith("data: ")
            job = next(worker._jobs[j] for j in worker._jobs if j not in before)
            deadline = time.time() + 20
            while job.status != "running" and time.time() < deadline:
                time.sleep(0.02)
    # The connection is closed: generation must stop long before 4000 tokens.
    deadline = time.time() + 10
    while not job.finished and time.time() < deadline:
        time.sleep(0.05)
    assert job.status == "cancelled"
    assert job.finished_at - job.started_at < 12


def test_node_client(live_server):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.run([node, str(NODE_SCRIPT)], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "ATELIER_URL": live_server["url"] + "/v1",
                               "IMAGE_URL": png_data_url()})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["completion"]["object"] == "chat.completion"
    assert report["completion"]["completion_tokens"] == 5
    assert report["completion"]["total_tokens"] == report["completion"]["prompt_tokens"] + 5
    assert report["stream"]["first_role"] == "assistant" and report["stream"]["finish_reasons"] == ["length"]
    assert report["stream"]["usage_completion_tokens"] == 5 and report["stream"]["chunks"] >= 3
    assert "tiny-vlm" in report["models"]
    assert report["not_found"] == {"status": 404, "code": "model_not_found"}
