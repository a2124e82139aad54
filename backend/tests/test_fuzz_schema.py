"""Fuzzing (issue 9, point 5): schemathesis against the app's own OpenAPI schema, in-process (ASGI).

Every operation gets a bounded, derandomized set of generated requests, valid and invalid
(schemathesis' positive and negative modes): the same cases on every run, no example database.
The properties: no 5xx, ever; every 4xx is the OpenAI error envelope. Generation bounds are
lowered for the run (ATELIER_MAX_SIDE=256, ATELIER_MAX_STEPS=4) so that a request the fuzzer
gets right costs a fraction of a second on the tiny SDXL, not minutes.

A second property covers values the schema allows in shape that hypothesis never generates: a lone
UTF-16 surrogate in any string, an integer past 64 bits in any integer (400 naming the field).

FUZZ_EXAMPLES (default 12) sets the examples per operation and mode; raise it for a deeper
local run (`FUZZ_EXAMPLES=200 pytest tests/test_fuzz_schema.py`).
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from atelier.main import create_app
from test_text_input import leaves

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def _operations() -> list:
    """(METHOD, path, mode) for every operation in the schema. Building an app touches no disk and no
    model, so the list is known at collection time (one pytest item per operation and mode)."""
    from atelier.core.config import Settings

    paths = create_app(Settings(models="tiny", _env_file=None)).openapi()["paths"]
    cases = []
    for path, item in paths.items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            cases.append(pytest.param(method.upper(), path, GenerationMode.POSITIVE, id=f"{method.upper()} {path} ok"))
            # Negative cases need something that can be invalid: a body with a schema. (A free-form
            # string path parameter, or raw bytes, have no invalid value; hypothesis would report
            # "Unsatisfiable".)
            content = (op.get("requestBody") or {}).get("content", {})
            if any(t == "application/json" or t == "multipart/form-data" for t in content):
                cases.append(pytest.param(method.upper(), path, GenerationMode.NEGATIVE,
                                          id=f"{method.upper()} {path} invalid"))
    return cases


@pytest.fixture(scope="module")
def api_schema(tiny_settings):
    fuzz_settings = tiny_settings.model_copy(update={"max_side": 256, "max_steps": 4, "max_queue": 8})
    app = create_app(fuzz_settings)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    # Stop the worker thread that schemathesis' ASGI client started (the app's lifespan).
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def assert_error_envelope(response) -> None:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} with a non-JSON body: {response.content[:200]!r}") from None
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["type"], str) and isinstance(err["code"], str), err


# schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) breaks on pytest 9
# (it reads Function._nodeid), so each operation runs its strategy under hypothesis directly.
@pytest.mark.parametrize("method, path, mode", _operations())
def test_no_request_makes_the_server_fail(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case):
        response = case.call(timeout=120)  # a valid chat request may generate 512 tokens on a busy CPU
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.content[:500]!r}\n"
            f"reproduce: {case.as_curl_command()}")
        if response.status_code >= 400:
            assert_error_envelope(response)

    check()


# ---------------------------------------------------------------------------- hostile values
# Values the schema allows in shape but no JSON parser's consumer can take (issue 16, point 3):
# hypothesis' text strategies never produce lone surrogates, nor integers past 64 bits, so each
# generated valid body gets one of its string or integer leaves replaced by one of these.
HOSTILE_TEXT = ["\ud800", "a\udfffb", "\udbff\ud7ff"]
HOSTILE_INTS = [2**64, -(2**63) - 1, 10**30]


def _is_hostile(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return False
        except UnicodeEncodeError:
            return True
    return not -(2**63) <= value < 2**63


def _json_body_operations() -> list:
    from atelier.core.config import Settings

    paths = create_app(Settings(models="tiny", _env_file=None)).openapi()["paths"]
    return [pytest.param(m.upper(), p, id=f"{m.upper()} {p}") for p, item in paths.items() for m, op in item.items()
            if "application/json" in (op.get("requestBody") or {}).get("content", {})]


@pytest.mark.parametrize("method, path", _json_body_operations())
def test_hostile_text_and_integers_are_400s_naming_the_field(api_schema, method, path):
    from hypothesis import assume
    from hypothesis import strategies as st

    operation = api_schema[path][method]

    @given(case=operation.as_strategy(GenerationMode.POSITIVE), pick=st.integers(min_value=0), kind=st.integers(0, 2))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case, pick, kind):
        found = list(leaves(case.body))
        assume(found)
        where, value = found[pick % len(found)]
        hostile = HOSTILE_TEXT[kind] if isinstance(value, str) else HOSTILE_INTS[kind]
        target = case.body
        for p in where[:-1]:
            target = target[p]
        target[where[-1]] = hostile
        response = case.call(timeout=60)
        assert response.status_code == 400, (
            f"{case.method} {case.formatted_path} with {hostile!r} at {where} -> {response.status_code}: "
            f"{response.content[:300]!r}")
        assert_error_envelope(response)
        # It names the field, or another one the generated body already had out of range.
        bad = {".".join(map(str, p)) or "body" for p, v in leaves(case.body) if _is_hostile(v)}
        assert json.loads(response.content)["error"]["param"] in bad, (where, bad)

    check()
