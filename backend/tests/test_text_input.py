"""Text Python cannot encode, integers past 64 bits, and strict types (issue 16 point 3, issue 15 point 11).

A lone surrogate in a prompt used to be accepted (202), after which /v1/status, the job and the
images answered 500 to everyone; a chat seed of 2**64 was a 500; `"stream": "yes"` was coerced.
Each is now a 400 naming the field, and nothing is queued.
"""

from __future__ import annotations

import json

import pytest

from conftest import png_data_url
from test_access import assert_envelope

IMG = png_data_url()
# One valid body per JSON endpoint; every string and integer in it is attacked below.
BODIES = {
    "/v1/generate": {"prompt": "a red fox", "negative_prompt": "blur", "model": "tiny-sdxl", "width": 64,
                     "height": 64, "steps": 1, "seed": 3, "n": 1, "scheduler": "euler"},
    "/v1/jobs": {"prompt": "a red fox", "steps": 1, "width": 64, "height": 64, "seed": 3},
    "/v1/images/generations": {"prompt": "a red fox", "size": "64x64", "n": 1, "steps": 1, "seed": 3,
                               "negative_prompt": "blur", "quality": "low", "user": "me"},
    "/v1/chat/completions": {"model": "tiny-vlm", "max_tokens": 2, "seed": 1, "stop": ["x"], "user": "me",
                             "messages": [{"role": "system", "content": "be brief"},
                                          {"role": "user", "content": [{"type": "text", "text": "what is it?"},
                                                                       {"type": "image_url", "image_url": {"url": IMG}}]}]},
    "/v1/analyze": {"image": IMG, "tasks": ["caption"], "max_tags": 5, "caption_length": "short", "objects": ["fox"]},
    "/v1/analyze/batch": {"images": [IMG], "tasks": ["caption"], "max_tags": 5},
    "/v1/model/switch": {"model_id": "tiny-vlm"},
    "/v1/model/unload": {"model_id": "tiny-vlm"},
    "/v1/vram/mode": {"mode": "auto"},
}


def leaves(value, path=()):
    """(path, value) of every string and integer leaf."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield path, value


def _replace(doc, path, new):
    doc = json.loads(json.dumps(doc))
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = new
    return doc


def _attacks():
    for route, body in BODIES.items():
        for path, value in leaves(body):
            where = ".".join(str(p) for p in path)
            if isinstance(value, str):
                yield pytest.param(route, _replace(body, path, value[:1] + "\ud800" + value[1:]), where,
                                   id=f"{route} {where} surrogate")
            else:
                yield pytest.param(route, _replace(body, path, 2**64), where, id=f"{route} {where} 2**64")
                yield pytest.param(route, _replace(body, path, -(2**63) - 1), where, id=f"{route} {where} -2**63-1")


def _queued_jobs(client) -> int:
    return len(client.app.state.services.worker._jobs)


@pytest.mark.parametrize("route, body, where", list(_attacks()))
def test_unencodable_text_and_huge_integers_are_400s_naming_the_field(client, route, body, where):
    before = _queued_jobs(client)
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as the escape \ud800
    r = client.post(route, content=raw, headers={"Content-Type": "application/json"})
    err = assert_envelope(r, 400, "invalid_parameter")
    assert err["param"] == where, err
    assert _queued_jobs(client) == before
    assert client.get("/v1/status").status_code == 200


def test_surrogates_as_raw_bytes_and_in_keys_and_non_json_numbers_are_refused(client):
    cases = [
        (b'{"prompt": "a \xed\xa0\x80 fox", "steps": 1}', "prompt"),  # an encoded surrogate: not UTF-8
        (b'{"prompt": "fox", "\\udc00": 1}', "body"),
        (b'{"prompt": "fox", "guidance_scale": NaN}', "guidance_scale"),
        (b'{"prompt": "fox", "guidance_scale": -Infinity}', "guidance_scale"),
    ]
    for raw, where in cases:
        r = client.post("/v1/jobs", content=raw, headers={"Content-Type": "application/json"})
        assert assert_envelope(r, 400)["param"] == where, raw
    # A surrogate *pair* is an ordinary character (an emoji): accepted.
    r = client.post("/v1/jobs", content=b'{"prompt": "a fox \\ud83e\\udd8a", "steps": 1, "width": 64, "height": 64}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    client.delete(f"/v1/jobs/{r.json()['id']}")


# ---------------------------------------------------------------------------- strict types
STRICT = [
    ("/v1/chat/completions", {"stream": "yes"}, "stream"),
    ("/v1/chat/completions", {"stream": 1}, "stream"),
    ("/v1/chat/completions", {"max_tokens": "5"}, "max_tokens"),
    ("/v1/chat/completions", {"temperature": "0.5"}, "temperature"),
    ("/v1/chat/completions", {"n": 1.0}, "n"),
    ("/v1/chat/completions", {"stream_options": {"include_usage": "true"}}, "stream_options.include_usage"),
    ("/v1/chat/completions", {"logprobs": "false"}, "logprobs"),
    ("/v1/images/generations", {"n": "2"}, "n"),
    ("/v1/images/generations", {"seed": "7"}, "seed"),
    ("/v1/generate", {"steps": "4"}, "steps"),
    ("/v1/generate", {"guidance_scale": "5"}, "guidance_scale"),
    ("/v1/generate", {"prompt": 5}, "prompt"),
    ("/v1/analyze", {"max_tags": "5"}, "max_tags"),
    ("/v1/model/switch", {"model_id": 3}, "model_id"),
]


@pytest.mark.parametrize("route, change, where", STRICT, ids=[f"{r} {w}={c[w.split('.')[0]]!r}" for r, c, w in STRICT])
def test_wire_models_coerce_nothing(client, route, change, where):
    before = _queued_jobs(client)
    r = client.post(route, json={**BODIES[route], **change})
    err = assert_envelope(r, 400, "invalid_parameter")
    assert err["param"] == where, err
    assert where.split(".")[-1] in err["message"]
    assert _queued_jobs(client) == before
