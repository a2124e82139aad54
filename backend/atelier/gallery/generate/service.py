"""Generation: validate a request, queue it on the GPU worker, run it, encode the images.

No FastAPI here. `prepare()` turns a request into a fully specified `Prepared` (defaults from
the catalog entry, bounds from settings, source images checked but still compressed) and raises
errors that say what to change; `submit()` queues it; the job runs `_run()` on the worker thread,
decodes the images and returns the response body, so /v1/generate, /v1/jobs and the OpenAI Images
API share one path.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image, ImageOps

from atelier.api.deps import Services
from atelier.core.errors import InvalidParameter
from atelier.core.images import PendingImage, decoding_cost, pending_image, to_b64
from atelier.engine.base import ModelSpec
from atelier.engine.families import lora
from atelier.engine.families.sdxl import SCHEDULERS, SDXLRequest, denoising_steps, random_seed, sampler_name
from atelier.engine.vram.planner import Task
from atelier.engine.worker import Job, JobContext, Priority
from atelier.gallery.generate import metadata
from atelier.gallery.generate.protocol import GenerateRequest

MAX_N = 4
MAX_GUIDANCE = 30.0
MAX_SEED = 2**32 - 1
DEFAULT_STRENGTH = 0.75


@dataclass
class Prepared:
    spec: ModelSpec
    request: SDXLRequest  # image and mask still None: the job decodes `image` and `mask` into it
    output_format: str
    priority: Priority
    parameters: dict[str, Any] = field(default_factory=dict)  # what the response and the job summary show
    image: PendingImage | None = None
    mask: PendingImage | None = None

    @property
    def cost_bytes(self) -> int:
        """Memory the job takes for images: the sources (compressed, then decoded) and its outputs
        (decoded, then encoded)."""
        r = self.request
        sources = [i for i in (self.image, self.mask) if i is not None]
        return decoding_cost(sources) + len(r.seeds) * r.width * r.height * 4


def _bounded_int(name: str, value: int, lo: int, hi: int, hint: str = "") -> int:
    if not lo <= value <= hi:
        raise InvalidParameter(f"{name} must be between {lo} and {hi}, got {value}{hint}", param=name)
    return value


def _side(name: str, value: int, max_side: int) -> int:
    if value % 8:
        lower, upper = value // 8 * 8, value // 8 * 8 + 8
        raise InvalidParameter(f"{name} must be a multiple of 8, got {value} (try {lower} or {upper})", param=name)
    return _bounded_int(name, value, 64, max_side, " (ATELIER_MAX_SIDE)" if value > max_side else "")


def _fit(size: tuple[int, int], area: int, max_side: int) -> tuple[int, int]:
    """A size with the aspect ratio of `size` and about `area` pixels, in multiples of 8."""
    w, h = size
    scale = (area / (w * h)) ** 0.5
    w, h = max(64, round(w * scale / 8) * 8), max(64, round(h * scale / 8) * 8)
    if max(w, h) > max_side:
        f = max_side / max(w, h)
        w, h = max(64, int(w * f) // 8 * 8), max(64, int(h * f) // 8 * 8)
    return w, h


def _mask(pending: PendingImage, size: tuple[int, int]) -> Image.Image:
    """White = repaint. Transparent pixels mark the area when the mask has alpha (OpenAI's convention).
    The mask was probed in the request (bombs and garbage refused there)."""
    raw = ImageOps.exif_transpose(Image.open(io.BytesIO(pending.data)))
    if raw.mode in ("RGBA", "LA") or (raw.mode == "P" and "transparency" in raw.info):
        alpha = raw.convert("RGBA").getchannel("A")
        mask = alpha.point(lambda a: 255 if a < 128 else 0)
    else:
        mask = raw.convert("L")
    return mask.resize(size, Image.Resampling.NEAREST)


def resolve_model(services: Services, name: str | None) -> ModelSpec:
    """The catalog entry for `name`; without one, the default generation model (ModelManager.resolve)."""
    return services.manager.resolve(name, "generation")


def prepare(services: Services, req: GenerateRequest) -> Prepared:
    """Validates `req` against the model's defaults and the server's bounds. Decodes images: run it off
    the event loop."""
    s = services.settings
    spec = resolve_model(services, req.model)
    d = spec.defaults

    # LoRAs: `loras` entries and `<lora:name:weight>` tags (taken out of the text the model sees).
    text, tags = lora.parse_prompt_tags(req.prompt)
    uses = lora.check_request(services.loras, [(x.name, x.weight) for x in req.loras or []], tags)
    if not text.strip():
        raise InvalidParameter("prompt is empty: describe the image to generate", param="prompt")
    for name in ("prompt", "negative_prompt"):
        text = getattr(req, name) or ""
        if len(text) > s.max_prompt_chars:
            raise InvalidParameter(
                f"{name} is {len(text)} characters; the limit is {s.max_prompt_chars} (ATELIER_MAX_PROMPT_CHARS)",
                param=name)

    n = _bounded_int("n", req.n if req.n is not None else 1, 1, MAX_N)
    steps = _bounded_int("steps", req.steps if req.steps is not None else int(d.get("steps", 30)), 1, s.max_steps,
                         " (ATELIER_MAX_STEPS)" if (req.steps or 0) > s.max_steps else "")
    guidance = float(req.guidance_scale if req.guidance_scale is not None else d.get("guidance_scale", 5.0))
    if not 0.0 <= guidance <= MAX_GUIDANCE:
        raise InvalidParameter(f"guidance_scale must be between 0 and {MAX_GUIDANCE:g}, got {guidance:g}",
                               param="guidance_scale")
    scheduler = req.scheduler or d.get("scheduler", "euler")
    if scheduler not in SCHEDULERS:
        raise InvalidParameter(f"unknown scheduler {scheduler!r}; choose one of: {', '.join(SCHEDULERS)}",
                               param="scheduler")
    if req.seed is None or req.seed == -1:
        base_seed = random_seed()
    else:
        base_seed = _bounded_int("seed", req.seed, 0, MAX_SEED, " (or -1 for a random seed)")
    seeds = [(base_seed + i) % (MAX_SEED + 1) for i in range(n)]

    image = mask = None
    strength = None
    if req.image is not None:
        image = pending_image(req.image, max_pixels=s.max_image_pixels, param="image")
    elif req.mask is not None:
        raise InvalidParameter("mask needs an image: send the image to inpaint in `image`", param="mask")
    elif req.strength is not None:
        raise InvalidParameter("strength applies to img2img: send the source image in `image`", param="strength")

    default_w, default_h = int(d.get("width", 1024)), int(d.get("height", 1024))
    if image is not None and req.width is None and req.height is None:
        width, height = _fit(image.size, default_w * default_h, s.max_side)
    else:
        width = _side("width", req.width if req.width is not None else default_w, s.max_side)
        height = _side("height", req.height if req.height is not None else default_h, s.max_side)

    if image is not None:
        strength = float(req.strength if req.strength is not None else DEFAULT_STRENGTH)
        if not 0.0 < strength <= 1.0:
            raise InvalidParameter(f"strength must be above 0 and at most 1, got {strength:g}", param="strength")
        mode = "inpaint" if req.mask is not None else "img2img"
        if denoising_steps(steps, strength, mode) < 1:
            raise InvalidParameter(
                f"steps x strength must reach at least 1 denoising step, got {steps} x {strength:g}: "
                f"raise steps to {int(1 / strength) + 1} or strength to {1 / steps:.2g}", param="strength")
        if req.mask is not None:
            mask = pending_image(req.mask, max_pixels=s.max_image_pixels, param="mask")

    sdxl = SDXLRequest(
        prompt=text, negative_prompt=req.negative_prompt or "", width=width, height=height, steps=steps,
        guidance_scale=guidance, seeds=seeds, scheduler=scheduler,
        strength=strength if strength is not None else DEFAULT_STRENGTH,
        loras=lora.lora_set(uses, int(s.lora_cache_mb * 2**20)) if uses else None,
    )
    mode = "txt2img" if image is None else ("inpaint" if mask is not None else "img2img")
    parameters = {
        "mode": mode, "model": spec.id, "prompt": req.prompt, "negative_prompt": sdxl.negative_prompt,
        "width": width, "height": height, "steps": steps, "guidance_scale": guidance, "scheduler": scheduler,
        "seed": seeds[0], "seeds": seeds, "n": n, "strength": strength, "output_format": req.output_format,
        "loras": [{"name": u.info.name, "weight": u.weight, "hash": u.info.short_hash} for u in uses],
    }
    priority = Priority.BACKGROUND if req.priority == "background" else Priority.INTERACTIVE
    return Prepared(spec, sdxl, req.output_format, priority, parameters, image, mask)


def submit(services: Services, p: Prepared) -> Job:
    """Queues the generation; raises QueueFull (429 + Retry-After) past ATELIER_MAX_QUEUE."""
    job_params = {k: v for k, v in p.parameters.items() if k != "seeds"}
    return services.worker.submit("generate", lambda ctx: _run(services, p, ctx), priority=p.priority,
                                  params=job_params, cost_bytes=p.cost_bytes)


def _with_sources(p: Prepared) -> SDXLRequest:
    """The request with its source image (at the output size) and mask decoded: on the worker."""
    if p.image is None:
        return p.request
    r = p.request
    image = p.image.decode()
    if image.size != (r.width, r.height):
        image = image.resize((r.width, r.height), Image.Resampling.LANCZOS)
    mask = _mask(p.mask, (r.width, r.height)) if p.mask is not None else None
    return replace(r, image=image, mask=mask)


def _lora_meta(p: Prepared) -> dict[str, Any]:
    """A1111's infotext for the LoRAs: `Lora hashes`, and a `<lora:name:weight>` tag in the prompt for
    each one given in `loras` (A1111 reads LoRAs only from the prompt)."""
    used = p.parameters.get("loras") or []
    if not used:
        return {}
    _, tagged = lora.parse_prompt_tags(p.parameters["prompt"])
    in_prompt = {name.lower() for name, _ in tagged}
    extra = " ".join(f"<lora:{u['name']}:{u['weight']:g}>" for u in used if u["name"].lower() not in in_prompt)
    hashes = lora.a1111_hashes([(u["name"], u["hash"]) for u in used])
    prompt = p.parameters["prompt"] + (" " + extra if extra else "")
    return {"prompt": prompt, "lora_hashes": hashes}


def _run(services: Services, p: Prepared, ctx: JobContext) -> dict[str, Any]:
    """On the GPU worker thread: load (if needed), generate, encode."""
    job = ctx.job
    queued_ms = ((job.started_at or time.time()) - job.created) * 1000
    ctx.raise_if_cancelled()
    resident = services.manager.is_loaded(p.spec.id) if hasattr(services.manager, "is_loaded") else False
    req = _with_sources(p)
    ctx.emit("loading", model=p.spec.id, resident=resident)
    task = Task(kind="generation", width=req.width, height=req.height, batch=len(req.seeds),
                cfg=req.guidance_scale > 1.0,
                adapter_bytes=sum(a.size_bytes for a in req.loras.adapters) if req.loras else 0)
    t_load = time.perf_counter()
    times: dict[str, float] = {}

    def with_model(model: Any) -> Any:
        times["load_ms"] = (time.perf_counter() - t_load) * 1000
        ctx.raise_if_cancelled()
        t0 = time.perf_counter()
        out = model.generate(req, ctx)
        times["inference_ms"] = (time.perf_counter() - t0) * 1000
        return out

    # run() recovers once from an out-of-memory error (evict, tile the VAE, drop a mode, retry).
    result = services.manager.run(p.spec, with_model, task)
    load_ms, inference_ms = times["load_ms"], times["inference_ms"]

    t0 = time.perf_counter()
    data = []
    for img, seed in zip(result.images, result.seeds, strict=True):
        ctx.raise_if_cancelled()  # encoding four large PNGs takes a while: stop between images
        meta = {**p.parameters, "seed": seed, "sampler": sampler_name(p.request.scheduler), **_lora_meta(p)}
        data.append({"b64_json": to_b64(metadata.encode(img, p.output_format, metadata.a1111_parameters(meta))),
                     "seed": seed})
    encode_ms = (time.perf_counter() - t0) * 1000
    return {
        "id": job.id,
        "object": "generation",
        "created": int(job.created),
        "model": p.spec.id,
        "data": data,
        "parameters": p.parameters,
        "timings": {
            "queued_ms": round(queued_ms, 1), "load_ms": round(load_ms, 1), "inference_ms": round(inference_ms, 1),
            "encode_ms": round(encode_ms, 1), "total_ms": round((time.time() - job.created) * 1000, 1),
        },
    }

