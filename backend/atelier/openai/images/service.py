"""The OpenAI Images API on top of the generation service: name and size mapping only.

OpenAI's model names (dall-e-2, dall-e-3, gpt-image-*) mean "the default generation model"; its
sizes map to SDXL's trained resolutions where they differ (1792x1024 -> 1344x768); `quality`
scales the model's default steps. Everything else goes through gallery.generate.service, so
both APIs validate, queue and encode the same way.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from pydantic import ValidationError

from atelier.api.deps import Services
from atelier.core.errors import InvalidParameter
from atelier.gallery.generate.protocol import GenerateRequest
from atelier.gallery.generate.service import resolve_model

OPENAI_MODELS = ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest")
# OpenAI sizes outside SDXL's ~1 MP training buckets -> the nearest bucket of the same orientation.
SDXL_BUCKETS = {"1792x1024": (1344, 768), "1024x1792": (768, 1344), "1536x1024": (1216, 832), "1024x1536": (832, 1216)}
QUALITY_STEPS = {"low": 0.5, "medium": 1.0, "standard": 1.0, "auto": 1.0, "high": 1.5, "hd": 1.5}
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def model_name(model: str | None) -> str | None:
    return None if model is None or model.lower() in OPENAI_MODELS else model


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    if size is None or size == "auto":
        return None, None
    if size in SDXL_BUCKETS:
        return SDXL_BUCKETS[size]
    m = _SIZE.match(size.strip().lower())
    if m is None:
        raise InvalidParameter(f"size must be 'auto' or WIDTHxHEIGHT such as 1024x1024, got {size!r}", param="size")
    return int(m.group(1)), int(m.group(2))


def check_response_format(fmt: str | None) -> None:
    if fmt not in (None, "b64_json"):
        raise InvalidParameter(
            f"response_format {fmt!r} is not supported: this server does not host images; use 'b64_json'",
            param="response_format")


def steps_for(services: Services, model: str | None, quality: str | None, steps: int | None) -> int | None:
    if steps is not None or quality is None:
        return steps
    if quality not in QUALITY_STEPS:
        raise InvalidParameter(f"quality must be one of {', '.join(QUALITY_STEPS)}, got {quality!r}", param="quality")
    spec = resolve_model(services, model)
    return max(1, round(int(spec.defaults.get("steps", 30)) * QUALITY_STEPS[quality]))


def to_generate_request(services: Services, fields: dict[str, Any], *, image: bytes | None = None,
                        mask: bytes | None = None) -> GenerateRequest:
    """A /v1/generate request from OpenAI fields (a JSON body or multipart form values)."""
    check_response_format(fields.get("response_format"))
    model = model_name(fields.get("model"))
    width, height = parse_size(fields.get("size"))
    try:
        return _request(services, fields, model, width, height, image, mask)
    except ValidationError as exc:
        err = exc.errors()[0]
        param = ".".join(str(p) for p in err.get("loc", ())) or None
        raise InvalidParameter(f"{param}: {err.get('msg')}" if param else str(exc), param=param) from None


def _request(services, fields, model, width, height, image, mask) -> GenerateRequest:
    return GenerateRequest(
        prompt=fields["prompt"], model=model, n=fields.get("n") or 1, width=width, height=height,
        steps=steps_for(services, model, fields.get("quality"), fields.get("steps")),
        negative_prompt=fields.get("negative_prompt"), seed=fields.get("seed"),
        guidance_scale=fields.get("guidance_scale"), strength=fields.get("strength"),
        output_format=fields.get("output_format") or "png", loras=_loras(fields.get("loras")),
        image=base64.b64encode(image).decode("ascii") if image is not None else None,
        mask=base64.b64encode(mask).decode("ascii") if mask is not None else None,
    )


def _loras(value: Any) -> Any:
    """A JSON body's list as it is; a multipart form's `loras` field is that list as JSON text."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            raise InvalidParameter('loras must be a JSON list such as [{"name": "ink", "weight": 0.8}]',
                                   param="loras") from None
    return value


def to_images_response(result: dict[str, Any]) -> dict[str, Any]:
    p = result["parameters"]
    return {
        "created": result["created"],
        "data": [{"b64_json": d["b64_json"]} for d in result["data"]],
        "output_format": p["output_format"],
        "size": f"{p['width']}x{p['height']}",
    }
