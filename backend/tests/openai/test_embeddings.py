"""POST /v1/embeddings over HTTP on the tiny SigLIP: vectors, where the work runs, bad input."""

import base64
import threading
import time

import numpy as np
import pytest

from conftest import png_data_url

IMAGES = [png_data_url(color=c) for c in ((200, 60, 30), (20, 200, 30), (20, 30, 200), (240, 240, 240))]


def vectors(r):
    assert r.status_code == 200, r.text
    body = r.json()
    return np.array([d["embedding"] for d in sorted(body["data"], key=lambda d: d["index"])], np.float32)


def test_vectors_are_unit_length_of_the_model_width_and_batch_invariant(client):
    inputs = ["a dog on a beach", IMAGES[0], "A RED CAR", IMAGES[1], IMAGES[2]]
    batch = vectors(client.post("/v1/embeddings", json={"model": "tiny-embed", "input": inputs}))
    assert batch.shape == (5, 32)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    one_by_one = np.concatenate([vectors(client.post("/v1/embeddings", json={"model": "tiny-embed", "input": x}))
                                 for x in inputs])
    assert np.allclose(batch, one_by_one, atol=1e-5)
    # different images and texts give different vectors; text is read lowercased, as SigLIP 2 was trained
    assert len({tuple(np.round(v, 5)) for v in batch}) == 5
    lower = vectors(client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "a red car"}))
    assert np.allclose(lower[0], batch[2], atol=1e-6)


def test_base64_is_the_little_endian_float32_of_the_vector(client):
    f = client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "hi", "encoding_format": "float"}).json()
    b = client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "hi", "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(b["data"][0]["embedding"]), "<f4")
    assert decoded.tolist() == pytest.approx(f["data"][0]["embedding"], abs=0)


def test_a_request_without_a_model_gets_the_servers_default_embeddings_model(client):
    r = client.post("/v1/embeddings", json={"input": "hello"})
    assert r.status_code == 200 and r.json()["model"] == "tiny-embed"


def test_models_list_the_embeddings_model_with_its_type(client):
    cards = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert cards["tiny-embed"]["type"] == "embeddings" and cards["tiny-embed"]["downloaded"]
    assert cards["tiny-embed"]["size_bytes"] > 0


def test_images_run_at_background_priority_and_texts_at_interactive_when_the_model_must_load(client):
    services = client.app.state.services
    services.manager.unload()
    worker = services.worker
    before = set(worker._jobs)
    assert client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "a query"}).status_code == 200
    text_job = [worker._jobs[j] for j in worker._jobs if j not in before]
    assert [(j.kind, j.priority.name) for j in text_job] == [("embeddings", "INTERACTIVE")]
    before = set(worker._jobs)
    assert client.post("/v1/embeddings", json={"model": "tiny-embed", "input": IMAGES[:2]}).status_code == 200
    image_job = [worker._jobs[j] for j in worker._jobs if j not in before]
    assert [(j.kind, j.priority.name, j.params["images"]) for j in image_job] == [("embeddings", "BACKGROUND", 2)]


def test_a_text_query_does_not_wait_for_a_busy_gpu_worker_once_the_model_is_loaded(client):
    services = client.app.state.services
    client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "warm up"})
    assert services.manager.is_loaded("tiny-embed")
    release = threading.Event()
    blocker = services.worker.submit("busy", lambda ctx: release.wait(30))  # an SDXL job stands in
    try:
        deadline = time.time() + 10
        while blocker.status != "running" and time.time() < deadline:
            time.sleep(0.01)
        t0 = time.perf_counter()
        r = client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "a dog on a beach"})
        assert r.status_code == 200 and blocker.status == "running"
        assert time.perf_counter() - t0 < 10
        # an image batch, though, waits its turn on the worker
        started = {}

        def post_images():
            started["r"] = client.post("/v1/embeddings", json={"model": "tiny-embed", "input": IMAGES[:1]})

        th = threading.Thread(target=post_images)
        th.start()
        time.sleep(0.5)
        assert "r" not in started
    finally:
        release.set()
    th.join(30)
    assert started["r"].status_code == 200


BAD = [
    ({"input": []}, 400, "input"),
    ({"input": ""}, 400, "input"),
    ({"input": ["ok", "  "]}, 400, "input.1"),
    ({"input": 7}, 400, "input"),
    ({"input": None}, 400, "input"),
    ({"input": {"text": "x"}}, 400, "input"),
    ({"input": ["ok", 3]}, 400, "input.1"),
    ({"input": [1, 2, 3]}, 400, "input"),  # token ids
    ({"input": [[1, 2], [3]]}, 400, "input"),
    ({"input": ["x"] * 257}, 400, "input"),  # past ATELIER_MAX_EMBEDDING_INPUTS
    ({"input": [png_data_url()] * 17}, 400, "input"),  # past ATELIER_MAX_BATCH images
    ({"input": "word " * 40}, 400, "input"),  # past the 64-token limit
    ({"input": ["ok", "data:image/png;base64,iVBORw0KGgoAAAA"]}, 400, "input.1"),  # does not decode
    ({"input": "data:image/png;base64,%%%"}, 400, "input"),
    ({"input": "data:text/plain;base64,aGVsbG8="}, 400, "input"),
    ({"input": "x", "model": "no-such-model"}, 404, "model"),
    ({"input": "x", "model": "tiny-vlm"}, 400, "model"),
    ({"input": "x", "model": "tiny-sdxl"}, 400, "model"),
    ({"input": "x", "model": 5}, 400, "model"),
    ({"input": "x", "encoding_format": "hex"}, 400, "encoding_format"),
    ({"input": "x", "dimensions": 16}, 400, "dimensions"),
    ({"input": "x", "dimensions": "32"}, 400, "dimensions"),
    ({"model": "tiny-embed"}, 400, "input"),
]


@pytest.mark.parametrize("body,status,param", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_refused_naming_the_field(client, body, status, param):
    r = client.post("/v1/embeddings", json={"model": "tiny-embed", **body} if "model" not in body else body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["message"]
    assert r.headers.get("x-should-retry") == "false"


def test_dimensions_equal_to_the_model_width_are_accepted(client):
    r = client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "x", "dimensions": 32})
    assert r.status_code == 200 and len(r.json()["data"][0]["embedding"]) == 32
