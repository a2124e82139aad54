#!/usr/bin/env python3
"""Render docs/API.md from the app's own OpenAPI schema, so the reference can't drift.

    PYTHONPATH=backend .venv/bin/python scripts/gen_api_docs.py          # rewrite docs/API.md
    PYTHONPATH=backend .venv/bin/python scripts/gen_api_docs.py --check  # exit 1 if stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

INTRO = """# API reference

Generated from the server's OpenAPI schema by `scripts/gen_api_docs.py` (a test fails when it is
stale). The live schema is at `/openapi.json` and an interactive explorer at `/docs` on a running
server.

- Base URL: `http://<host>:8080/v1` (the official OpenAI clients take it as `base_url`).
- Auth: when `ATELIER_API_KEY` is set, every `/v1` route, and `/docs`, `/redoc` and
  `/openapi.json`, want `Authorization: Bearer <key>`.
- Who may call: a request whose `Origin` is neither the server's own, a loopback origin, nor in
  `ATELIER_CORS_ORIGINS`, or whose `Host` is not a name the server answers to
  (`ATELIER_ALLOWED_HOSTS`), gets 403 `forbidden`. State-changing requests send
  `Content-Type: application/json` (415 `unsupported_media_type` for text/plain, form-urlencoded,
  or a body without a type); `multipart/form-data` only to `/v1/images/edits`.
- Errors: always `{"error": {"message", "type", "param", "code"}}`; validation errors are 400,
  never 422, and name the field (`param`; `body` when the JSON does not parse). Types are strict,
  as OpenAI's: `"stream": "yes"` or `"n": "2"` is a 400, never coerced. Text must be valid
  Unicode (a lone UTF-16 surrogate such as `"\\ud800"` is a 400), integers must fit in 64 bits,
  and `NaN`/`Infinity` are not numbers. Deterministic failures carry `x-should-retry: false`.
- Limits: a full queue (`ATELIER_MAX_QUEUE` jobs), or images of waiting and running jobs past
  `ATELIER_IMAGE_MEMORY_MB`, answer 429 `queue_full` with `Retry-After`. Headers over 32 KiB get
  431; a request head (or a stalled body) slower than `ATELIER_HEADER_TIMEOUT` is closed; past
  `ATELIER_MAX_CONNECTIONS` open connections a new one gets 503 `too_many_connections`.
- Disconnecting cancels: a client that closes its connection before `/v1/generate`, the Images
  endpoints, `/v1/chat/completions` or `/v1/analyze*` answer cancels the job (queued or running).
- Job results: `GET /v1/jobs/{id}` and its events carry a finished generation's images for
  `ATELIER_JOB_RESULTS_TTL` seconds (300) within `ATELIER_JOB_RESULTS_MB` (256, oldest dropped
  first); after that `result` is null and `result_expired` is true. The job itself is listed
  until 500 newer ones finished.
- Streaming (`/v1/chat/completions` with `stream: true`, `/v1/jobs/{id}/events`): server-sent
  events of `data: {json}` lines; chat ends with a raw `data: [DONE]`.
- LoRA: `/v1/generate`, `/v1/jobs` and `/v1/images/generations` take `loras: [{name, weight}]`
  (on `/v1/images/edits`, the same list as a JSON form field), and A1111's `<lora:name:weight>` in
  the prompt (taken out of the text the model sees; no weight means 1). Names are those
  `GET /v1/models` lists with `type: lora`. Bounds, each a 400 naming the field: weight -4 to 4
  (`loras[i].weight`, or `prompt` for a tag), at most 8 LoRAs per request (`loras`), each named
  once (`loras`), an unknown, incompatible (SD 1.5, Flux...) or unreadable LoRA (`loras[i].name` or
  `prompt`); a pickle file is a 400 `unsafe_model_format`. The images carry A1111's
  `Lora hashes: "name: hash, ..."` and a tag per LoRA in the prompt of their `parameters`.
"""


def _type(schema: dict, defs: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " \\| ".join(_type(s, defs) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    t = schema.get("type", "any")
    if t == "array":
        return f"{_type(schema.get('items', {}), defs)}[]"
    return str(t)


def _fields(schema: dict, defs: dict) -> list[str]:
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    props = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, p in props.items():
        desc = (p.get("description") or "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type(p, defs)} | {'yes' if name in required else ''} | {desc} |")
    return rows


def render() -> str:
    from atelier.core.config import Settings
    from atelier.main import create_app

    spec = create_app(Settings(models="real")).openapi()
    defs = spec.get("components", {}).get("schemas", {})
    out = [INTRO]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method.upper(), path, op))
    for tag, ops in by_tag.items():
        out += [f"## {tag}", ""]
        for method, path, op in ops:
            out += [f"### `{method} {path}`", ""]
            text = op.get("description") or op.get("summary") or ""
            if text:
                out += [text.strip(), ""]
            body = op.get("requestBody", {}).get("content", {})
            for ctype, media in body.items():
                rows = _fields(media.get("schema", {}), defs)
                if rows:
                    out += [f"Request body (`{ctype}`):", "", *rows, ""]
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "path")]
            if params:
                out += ["Parameters: " + ", ".join(f"`{p['name']}` ({p['in']})" for p in params), ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    target = ROOT / "docs" / "API.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/API.md is stale: run `PYTHONPATH=backend .venv/bin/python scripts/gen_api_docs.py`")
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
