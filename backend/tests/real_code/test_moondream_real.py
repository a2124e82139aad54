"""The whole vision HTTP surface on Moondream 2's real code (tiny random weights, tests/real_code/).

Each server is the unchanged app (`python -m atelier`, or the same app behind a simulated card)
with HF_HOME on the rig, the network "unplugged" (HF_ENDPOINT is a host that never answers, and
HF_HUB_OFFLINE is NOT set), served in four plans: the CPU (no GPU), Balanced on a 12 GiB card,
Low on a 6 GiB card (NF4) and a 16 GiB card without bfloat16 (compute capability 7.5, float16).
Random weights give garbage text: the tests assert shapes, counts and bounds, never content.

ATELIER_MOONDREAM_CODE names a checkout (or bare git dir) of github.com/vikhyat/moondream;
ATELIER_MOONDREAM_COMMIT the commit (default 44146f1, the last before the pinned 2025-06-21
revision). scripts/moondream_rig.py lays the code out as an offline Hugging Face cache with tiny
random weights; the servers read it through HF_HOME. Without ATELIER_MOONDREAM_CODE (CI, which
has no copy of the code) every test here is skipped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import png_data_url
from servers import ServerProcess

CODE = os.environ.get("ATELIER_MOONDREAM_CODE")
COMMIT = os.environ.get("ATELIER_MOONDREAM_COMMIT", "44146f1")
REPO = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.real_code,
              pytest.mark.skipif(not CODE, reason="ATELIER_MOONDREAM_CODE is not set (a checkout of "
                                                  "github.com/vikhyat/moondream)")]


@pytest.fixture(scope="session")
def rig(tmp_path_factory) -> Path:
    """HF_HOME of an offline cache holding the real code and tiny random weights."""
    out = tmp_path_factory.mktemp("moondream-rig")
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "moondream_rig.py"), "--code", CODE,
                          "--commit", COMMIT, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


class Blackhole:
    """A "hub" that accepts connections and never answers: the network as a pulled cable looks to a
    client with a timeout. Counts who tried."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self):
        self.sock.close()
        for c in self._held:
            c.close()


@pytest.fixture(scope="session")
def hub_blackhole():
    bh = Blackhole()
    yield bh
    bh.close()


MODEL = "moondream-2"
IMAGE_POS = 730  # BOS + 27 x 27 patches: what encode_image leaves in the KV cache
SERVERS = {
    "cpu": ({}, None, "bfloat16", "none"),
    "balanced-12gib": ({"RIG_CARD_GIB": "12", "ATELIER_VRAM_MODE": "balanced"}, "sim", "bfloat16", "none"),
    "low-6gib": ({"RIG_CARD_GIB": "6", "ATELIER_VRAM_MODE": "low"}, "sim", "bfloat16", "nf4"),
    "no-bf16-16gib": ({"RIG_CARD_GIB": "16", "RIG_CARD_CAPABILITY": "7.5"}, "sim", "float16", "none"),
}


def data_url(size=(320, 240), color=(200, 60, 30)) -> str:
    return png_data_url(size, color)


IMAGE = data_url()


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request, rig, hub_blackhole, tmp_path_factory):
    env_extra, kind, dtype, quant = SERVERS[request.param]
    cwd = tmp_path_factory.mktemp(f"server-{request.param}")
    env = {"HF_HOME": str(rig), "HF_HUB_CACHE": str(rig / "hub"), "HF_ENDPOINT": hub_blackhole.url,
           "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "10",
           "ATELIER_MODELS": "real", "ATELIER_DATA_DIR": str(cwd / "data"), "ATELIER_MODELS_DIR": str(cwd / "models"),
           "ATELIER_MODEL_TTL": "0", "ATELIER_LOG_LEVEL": "info", **env_extra}
    argv = None if kind is None else [__file__.replace("test_moondream_real.py", "serve_simulated.py")]
    proc = ServerProcess(env, cwd, argv=argv)
    try:
        proc.wait_ready(180)
        client = httpx.Client(base_url=proc.url, timeout=300)
        yield {"name": request.param, "client": client, "proc": proc, "dtype": dtype, "quant": quant,
               "url": proc.url, "blackhole": hub_blackhole}
        client.close()
    finally:
        proc.stop()


def status_row(c: httpx.Client) -> dict:
    return next(m for m in c.get("/v1/status").json()["models"] if m["id"] == MODEL)


def rig_tokens(rig, text: str) -> int:
    from tokenizers import Tokenizer

    (path,) = (rig / "hub" / "models--moondream--starmie-v1" / "snapshots").glob("*/tokenizer.json")
    return len(Tokenizer.from_file(str(path)).encode(text).ids)


def chat(c, messages, **kw):
    r = c.post("/v1/chat/completions", json={"model": MODEL, "messages": messages, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def user(text, image=IMAGE):
    return {"role": "user", "content": [{"type": "text", "text": text},
                                        {"type": "image_url", "image_url": {"url": image}}]}


# --- load: planned = loaded, from the cache, offline ---------------------------------------------
def test_a_cached_model_loads_offline_in_seconds_as_planned(server):
    c = server["client"]
    deadline = time.time() + 120
    while (row := status_row(c))["planned"] is None and time.time() < deadline:
        time.sleep(0.5)  # status sizes models when no load or other sizing holds the manager: soon
    assert row["state"] == "on_disk", row
    planned = row["planned"]
    assert (planned["dtype"], planned["quantization"], planned["offload"]) == (server["dtype"], server["quant"], "none")
    before = server["blackhole"].connections
    t0 = time.perf_counter()
    r = c.post("/v1/model/switch", json={"model_id": MODEL})
    wall = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["placement"]["dtype"] == server["dtype"] and body["placement"]["quantization"] == server["quant"]
    assert server["blackhole"].connections == before, "the load reached for the network"
    assert body["load_ms"] < 10_000 and wall < 12, body  # tiny weights: the time the disk (and imports) take
    print(f"\n{server['name']}: load_ms={body['load_ms']} plan={json.dumps(body['plan'])}")
    row = status_row(c)
    assert row["dtype"] == server["dtype"] and row["quantization"] == server["quant"] and row["offload"] == "none"
    loaded = sum(row["bytes"].values())
    expected = planned["gpu_bytes"] + planned["ram_bytes"]
    if server["quant"] == "none":
        assert loaded == expected, (loaded, expected)  # every byte planned, to the byte
    else:  # bitsandbytes keeps the NF4 block scales outside the parameters: a few % of the 4-bit weights
        assert 0.95 * expected < loaded <= expected, (loaded, expected)


# --- analysis --------------------------------------------------------------------------------------
@pytest.mark.parametrize("length", ["short", "normal"])
def test_caption(server, length):
    r = server["client"].post("/v1/analyze", json={"image": IMAGE, "tasks": ["caption"], "caption_length": length})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["caption"], str) and body["model"] == MODEL


def test_tags_nsfw_objects_and_points_in_one_call(server):
    r = server["client"].post("/v1/analyze", json={
        "image": IMAGE, "tasks": ["tags", "nsfw", "objects", "points"], "max_tags": 3, "objects": ["square", "wall"],
        "max_objects": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["tags"], list) and len(body["tags"]) <= 3
    assert body["nsfw"]["label"] in ("safe", "nsfw") and 0 <= body["nsfw"]["score"] <= 1
    assert 0 < len(body["objects"]) <= 4 and {o["name"] for o in body["objects"]} <= {"square", "wall"}
    for o in body["objects"]:
        assert 0 <= o["x_min"] <= o["x_max"] <= 1 and 0 <= o["y_min"] <= o["y_max"] <= 1, o
    assert 0 < len(body["points"]) <= 4 and all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for p in body["points"])


def test_batch_analysis_gives_every_image_its_results(server):
    images = [IMAGE, data_url(color=(10, 200, 10)), data_url((200, 120), (30, 30, 30))]
    r = server["client"].post("/v1/analyze/batch", json={"images": images, "tasks": ["caption", "tags", "nsfw"],
                                                         "caption_length": "short", "max_tags": 3})
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    assert [it["index"] for it in items] == [0, 1, 2]
    for it in items:
        assert not it.get("error"), it
        assert isinstance(it["caption"], str) and isinstance(it["tags"], list) and it["nsfw"]["label"]


# --- chat ------------------------------------------------------------------------------------------
def test_chat_usage_is_the_context_the_code_built(server, rig):
    question = "What colour is the square?"
    body = chat(server["client"], [user(question)], max_tokens=6)
    usage, choice = body["usage"], body["choices"][0]
    # query(): the encoded image, its prefix template (3 ids), the question, the suffix twice (2 ids)
    assert usage["prompt_tokens"] == IMAGE_POS + 3 + rig_tokens(rig, question) + 2
    assert 0 <= usage["completion_tokens"] <= 6
    assert choice["finish_reason"] == ("length" if usage["completion_tokens"] == 6 else "stop")
    assert isinstance(choice["message"]["content"], str)


def test_chat_with_a_system_prompt_and_several_turns(server, rig):
    messages = [{"role": "system", "content": "Answer in one word."}, user("Describe it."),
                {"role": "assistant", "content": "A square."}, user("What colour?", data_url(color=(0, 0, 255)))]
    body = chat(server["client"], messages, max_tokens=4)
    assert body["usage"]["prompt_tokens"] == IMAGE_POS + 3 + rig_tokens(rig, "Answer in one word.\n\nWhat colour?") + 2


def test_streamed_chat_with_the_openai_client_matches_the_plain_answer(server):
    import openai

    client = openai.OpenAI(base_url=server["url"] + "/v1", api_key="unused", max_retries=0)
    messages = [user("Name the shape.")]
    plain = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8)
    stream = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert text == plain.choices[0].message.content  # greedy: the same ids, streamed or not
    assert finish == [plain.choices[0].finish_reason]
    assert chunks[-1].usage.prompt_tokens == plain.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_a_400_leaves_the_connection_usable(server):
    c = server["client"]
    r = c.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert chat(c, [user("Again?")], max_tokens=2)["usage"]["completion_tokens"] <= 2


# --- unload and reload -----------------------------------------------------------------------------
def test_unload_then_the_next_call_reloads(server):
    c = server["client"]
    assert c.post("/v1/model/unload", json={"model_id": MODEL}).json()["unloaded"] == [MODEL]
    assert status_row(c)["state"] == "on_disk"
    r = c.post("/v1/analyze", json={"image": IMAGE, "tasks": ["caption"], "caption_length": "short"})
    assert r.status_code == 200, r.text
    row = status_row(c)
    assert row["state"] in ("on_gpu", "in_ram") and row["dtype"] == server["dtype"]
