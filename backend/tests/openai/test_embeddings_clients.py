"""POST /v1/embeddings through the official OpenAI clients (Python and Node) against a real uvicorn
server on the tiny SigLIP: what the clients decode is what the server computed."""

import json
import math
import shutil
import subprocess
from pathlib import Path

import openai
import pytest

from conftest import png_data_url

NODE_SCRIPT = Path(__file__).resolve().parents[1] / "node" / "openai_embeddings.mjs"


@pytest.fixture(scope="module")
def oa(live_server):
    return openai.OpenAI(base_url=live_server["url"] + "/v1", api_key="unused", max_retries=0, timeout=60)


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def test_python_client_embeds_a_list_of_texts_in_order(oa):
    r = oa.embeddings.create(model="tiny-embed", input=["a dog on a beach", "a red car"])
    assert r.object == "list" and r.model == "tiny-embed"
    assert [d.index for d in r.data] == [0, 1] and all(d.object == "embedding" for d in r.data)
    assert all(len(d.embedding) == 32 and abs(norm(d.embedding) - 1) < 1e-5 for d in r.data)
    assert r.data[0].embedding != r.data[1].embedding
    assert r.usage.prompt_tokens == r.usage.total_tokens > 0
    one = oa.embeddings.create(model="tiny-embed", input="a red car")
    assert one.data[0].embedding == pytest.approx(r.data[1].embedding, abs=1e-6)


def test_python_client_float_and_base64_carry_the_same_vector(oa):
    # the client asks for base64 unless told otherwise, and decodes it
    b64 = oa.embeddings.create(model="tiny-embed", input="hello").data[0].embedding
    flt = oa.embeddings.create(model="tiny-embed", input="hello", encoding_format="float").data[0].embedding
    assert b64 == flt


def test_python_client_embeds_an_image_data_url(oa):
    r = oa.embeddings.create(model="tiny-embed", input=[png_data_url(), "a photo"])
    assert len(r.data) == 2 and abs(norm(r.data[0].embedding) - 1) < 1e-5
    assert r.usage.prompt_tokens == (32 // 8) ** 2 + len("a photo") + 1  # patches + bytes + end token


def test_python_client_raises_typed_errors(oa):
    with pytest.raises(openai.BadRequestError) as e:
        oa.embeddings.create(model="tiny-embed", input=[])
    assert e.value.body["param"] == "input"
    with pytest.raises(openai.BadRequestError) as e:
        oa.embeddings.create(model="tiny-vlm", input="x")
    assert e.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        oa.embeddings.create(model="no-such-model", input="x")
    with pytest.raises(openai.BadRequestError) as e:
        oa.embeddings.create(model="tiny-embed", input="x", dimensions=8)
    assert e.value.body["param"] == "dimensions"


def test_node_client(live_server, oa):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    repo = Path(__file__).resolve().parents[3]
    image = png_data_url(color=(10, 200, 90))
    proc = subprocess.run([node, str(NODE_SCRIPT)], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "ATELIER_URL": live_server["url"] + "/v1",
                               "IMAGE_URL": image})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    texts = report["texts"]
    assert texts["object"] == "list" and texts["model"] == "tiny-embed"
    assert [d["index"] for d in texts["data"]] == [0, 1]
    assert texts["usage"]["prompt_tokens"] == texts["usage"]["total_tokens"] > 0
    # the Node client's decoding of base64 gives the vectors the Python client gets
    py = oa.embeddings.create(model="tiny-embed", input=["a dog on a beach", "a red car"], encoding_format="float")
    for node_row, py_row in zip(texts["data"], py.data):
        assert node_row["embedding"] == pytest.approx(py_row.embedding, abs=1e-7)
    assert report["floats"] == pytest.approx(py.data[0].embedding, abs=1e-7)
    img = oa.embeddings.create(model="tiny-embed", input=[image], encoding_format="float").data[0].embedding
    assert report["image"] == pytest.approx(img, abs=1e-6)
    assert report["errors"] == {
        "empty": {"status": 400, "param": "input", "code": "invalid_parameter"},
        "not_embeddings": {"status": 400, "param": "model", "code": "invalid_parameter"},
        "unknown": {"status": 404, "param": "model", "code": "model_not_found"},
    }
