"""POST /v1/images/generations (JSON) and POST /v1/images/edits (multipart), as OpenAI serves them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from atelier.api.deps import ServicesDep
from atelier.api.disconnect import await_job
from atelier.core.errors import InvalidImage, InvalidParameter
from atelier.gallery.generate import service as generation
from atelier.openai.images import service
from atelier.openai.images.protocol import ImageGenerateRequest, ImagesResponse

router = APIRouter(tags=["openai"])

_INT_FIELDS = ("n", "seed", "steps", "output_compression")
_FLOAT_FIELDS = ("strength", "guidance_scale")


async def _run(services, request: Request, req) -> dict[str, Any]:
    prepared = await run_in_threadpool(generation.prepare, services, req)
    job = generation.submit(services, prepared)
    return service.to_images_response(await await_job(job, request, services.worker))


@router.post("/images/generations", response_model=ImagesResponse, response_model_exclude_none=True)
async def create_image(body: ImageGenerateRequest, request: Request, services: ServicesDep) -> dict[str, Any]:
    req = service.to_generate_request(services, body.model_dump(exclude_none=True))
    return await _run(services, request, req)


async def _file(form, *names: str) -> bytes | None:
    files = [v for name in names for v in form.getlist(name)]
    if not files:
        return None
    if len(files) > 1:
        raise InvalidParameter(f"send one {names[0]}, got {len(files)}", param=names[0])
    f = files[0]
    if not isinstance(f, UploadFile):
        raise InvalidImage(f"{names[0]} must be a file upload (multipart/form-data), not a text field", param=names[0])
    return await f.read()


@router.post(
    "/images/edits", response_model=ImagesResponse, response_model_exclude_none=True,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["image", "prompt"],
        "properties": {
            "image": {"type": "string", "format": "binary"}, "prompt": {"type": "string"},
            "mask": {"type": "string", "format": "binary"}, "model": {"type": "string"},
            "n": {"type": "integer"}, "size": {"type": "string"}, "quality": {"type": "string"},
            "response_format": {"type": "string"}, "output_format": {"type": "string"},
            "strength": {"type": "number", "description": "Atelier extension (default 0.75)."},
            "negative_prompt": {"type": "string"}, "seed": {"type": "integer"},
            "steps": {"type": "integer"}, "guidance_scale": {"type": "number"},
        }}}}}},
)
async def edit_image(request: Request, services: ServicesDep) -> dict[str, Any]:
    """img2img from `image` toward `prompt`; with `mask`, only its transparent area is repainted."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidParameter("send the edit as multipart/form-data with an `image` file and a `prompt`")
    form = await request.form()
    try:
        image = await _file(form, "image", "image[]")
        mask = await _file(form, "mask")
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("image", "mask")}
    finally:
        await form.close()
    if image is None:
        raise InvalidImage("image is required: attach the image to edit as a file field `image`", param="image")
    if not fields.get("prompt", "").strip():
        raise InvalidParameter("prompt is required: describe the edit", param="prompt")
    for name, cast in [*((f, int) for f in _INT_FIELDS), *((f, float) for f in _FLOAT_FIELDS)]:
        if name in fields:
            try:
                fields[name] = cast(fields[name])
            except ValueError:
                raise InvalidParameter(f"{name} must be a number, got {fields[name]!r}", param=name) from None
    req = service.to_generate_request(services, fields, image=image, mask=mask)
    return await _run(services, request, req)
