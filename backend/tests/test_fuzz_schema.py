"""Fuzzing (issue 9, point 5): schemathesis against the app's own OpenAPI schema, in-process (ASGI).

Every operation gets a bounded, derandomized set of generated requests, valid and invalid
(schemathesis' positive and negative modes): the same cases on every run, no example database.
The properties: no 5xx, ever; every 4xx is the OpenAI error envelope. Generation bounds are
lowered for the run (ATELIER_MAX_SIDE=256, ATELIER_MAX_STEPS=4) so that a request the fuzzer
gets right costs a fraction of a second on the tiny SDXL, not minutes.

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
            # Negative cases need something that can be invalid: a body. (A free-form string path
            # parameter has no invalid value; hypothesis would report "Unsatisfiable".)
            if "requestBody" in op:
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
