"""Upscaling: validate a request, queue it on the GPU worker, upscale in tiles, optionally enhance.

No FastAPI here. `prepare()` turns a request into a fully specified `Prepared` (bounds from
settings, the image checked but still compressed) and raises errors that name the parameter;
`submit()` queues it; the job runs `_run()` on the worker thread:

1. the upscaler, in tiles whose size the planner gives from the memory left beside the weights
   (`planner.upscale_tile`), blended with feathered overlaps (`engine/tiles.py`). A model of a
   smaller scale than asked runs again on its output; a larger one is scaled down to the size asked;
2. optionally the enhance stage: SDXL img2img on 1024 px tiles of the upscaled image, with
   128-256 px overlaps blended the same way, at a low strength, with the image's own prompt (the
   request's, else the one embedded in the image) and the VAE tiled;
3. the result encoded with its parameters embedded, as every generated image is (the source's own
   A1111 parameters kept, with the upscale appended as A1111's extras tab writes it).

Progress: `tile` events (stage "upscale" or "enhance", tile i of n) and SDXL's `step` events;
cancel is honoured between tiles and inside them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from atelier.api.deps import Services
from atelier.core.errors import AtelierError, InvalidParameter
from atelier.core.images import PendingImage, pending_image, to_b64
from atelier.engine.base import ModelSpec
from atelier.engine.tiles import Canvas, grid, to_array
from atelier.engine.vram import planner as vp
from atelier.engine.worker import Job, JobContext, Priority
from atelier.gallery.generate import metadata
from atelier.gallery.generate.service import MAX_GUIDANCE, MAX_SEED, resolve_model
from atelier.gallery.upscale.protocol import UpscaleRequest

SCALES = (2, 4)
DEFAULT_STRENGTH = 0.3
MAX_STRENGTH = 0.6  # above this each tile is redrawn on its own and neighbouring tiles stop agreeing
DEFAULT_OVERLAP = 192
OVERLAP_RANGE = (128, 256)
TILE_RANGE = (32, vp.UPSCALE_TILE_MAX)  # smaller than the planner ever picks: tests, slow CPUs
ENHANCE_ONLY = ("enhance_model", "prompt", "negative_prompt", "strength", "steps", "guidance_scale", "seed", "overlap")


@dataclass
class Enhance:
    spec: ModelSpec
    prompt: str
    negative_prompt: str
    strength: float
    steps: int
    guidance_scale: float
    scheduler: str
    seed: int
    overlap: int
    tile: int = vp.ENHANCE_TILE


@dataclass
class Prepared:
    spec: ModelSpec
    scale: int
    image: PendingImage
    output_size: tuple[int, int]
    tile_size: int | None
    enhance: Enhance | None
    output_format: str
    priority: Priority
    source_parameters: str | None  # the A1111 text embedded in the source image, if any
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_bytes(self) -> int:
        """Memory the job's images take: the source (compressed and decoded), the blending canvas
        (float32 sums and weights) and the output (decoded, then encoded)."""
        w, h = self.image.size
        ow, oh = self.output_size
        return len(self.image.data) + w * h * 4 + ow * oh * (3 * 4 + 4 + 3 * 2)


def _bounded(name: str, value: float, lo: float, hi: float, hint: str = "") -> float:
    if not lo <= value <= hi:
        raise InvalidParameter(f"{name} must be between {lo:g} and {hi:g}, got {value:g}{hint}", param=name)
    return value


def resolve_upscaler(services: Services, name: str | None) -> ModelSpec:
    return services.catalog.resolve(name or services.manager.default_model("upscaler"), kind="upscaler")


def embedded_parameters(data: bytes) -> str | None:
    try:
        return metadata.read_parameters(data)
    except Exception:  # noqa: BLE001 - an image without readable metadata simply has none
        return None


def prepare(services: Services, req: UpscaleRequest) -> Prepared:
    """Validates `req`; decodes nothing but the image's header. Run it off the event loop."""
    s = services.settings
    if req.scale not in SCALES:
        raise InvalidParameter(f"scale must be 2 or 4, got {req.scale}", param="scale")
    if req.tile_size is not None:
        _bounded("tile_size", req.tile_size, *TILE_RANGE)
    if not req.enhance:
        given = [name for name in ENHANCE_ONLY if getattr(req, name) is not None]
        if given:
            raise InvalidParameter(f"{given[0]} applies to the enhance stage: set enhance to true, or leave it out",
                                   param=given[0])
    spec = resolve_upscaler(services, req.model)
    image = pending_image(req.image, max_pixels=s.max_image_pixels, param="image")
    w, h = image.size
    ow, oh = w * req.scale, h * req.scale
    if ow * oh > s.upscale_max_pixels:
        smaller = req.scale == 4 and w * h * 4 <= s.upscale_max_pixels
        raise InvalidParameter(
            f"scale {req.scale} would make {w}x{h} into {ow}x{oh} = {ow * oh:,} pixels; the limit is "
            f"{s.upscale_max_pixels:,} (ATELIER_UPSCALE_MAX_PIXELS): "
            + ("use scale 2" if smaller else "send a smaller image"),
            param="scale" if smaller else "image")
    source_text = embedded_parameters(image.data)

    enhance = None
    if req.enhance:
        try:
            gen = resolve_model(services, req.enhance_model)
        except AtelierError as exc:
            exc.param = "enhance_model"  # the same checks as /v1/generate's `model`, named for this field
            raise
        d = gen.defaults
        embedded_prompt = metadata.parse_a1111(source_text).get("prompt", "") if source_text else ""
        prompt = req.prompt if req.prompt is not None else embedded_prompt
        negative = req.negative_prompt if req.negative_prompt is not None else ""
        for name, text in (("prompt", prompt), ("negative_prompt", negative)):
            if len(text) > s.max_prompt_chars:
                raise InvalidParameter(f"{name} is {len(text)} characters; the limit is {s.max_prompt_chars} "
                                       "(ATELIER_MAX_PROMPT_CHARS)", param=name)
        strength = float(_bounded("strength", req.strength if req.strength is not None else DEFAULT_STRENGTH,
                                  0.0, MAX_STRENGTH, " (enhance keeps to low strengths: tiles redrawn further stop "
                                  "matching their neighbours)" if (req.strength or 0) > MAX_STRENGTH else ""))
        steps = int(_bounded("steps", req.steps if req.steps is not None else int(d.get("steps", 30)), 1, s.max_steps,
                             " (ATELIER_MAX_STEPS)" if (req.steps or 0) > s.max_steps else ""))
        if strength > 0:
            # img2img runs steps x strength of the schedule: at least one step must run.
            steps = max(steps, math.ceil(1 / strength))
        guidance = float(_bounded("guidance_scale", req.guidance_scale if req.guidance_scale is not None
                                  else float(d.get("guidance_scale", 5.0)), 0.0, MAX_GUIDANCE))
        if req.seed is None or req.seed == -1:
            import random

            seed = random.randrange(0, MAX_SEED)
        else:
            seed = int(_bounded("seed", req.seed, 0, MAX_SEED, " (or -1 for a random seed)"))
        overlap = int(_bounded("overlap", req.overlap if req.overlap is not None else DEFAULT_OVERLAP, *OVERLAP_RANGE))
        enhance = Enhance(gen, prompt, negative, strength, steps, guidance, str(d.get("scheduler", "euler")), seed,
                          overlap)

    parameters: dict[str, Any] = {
        "mode": "upscale", "model": spec.id, "scale": req.scale, "width": ow, "height": oh,
        "source_width": w, "source_height": h, "tile_size": req.tile_size, "enhance": req.enhance,
        "output_format": req.output_format,
    }
    if enhance is not None:
        parameters.update(enhance_model=enhance.spec.id, prompt=enhance.prompt, negative_prompt=enhance.negative_prompt,
                          strength=enhance.strength, steps=enhance.steps, guidance_scale=enhance.guidance_scale,
                          scheduler=enhance.scheduler, seed=enhance.seed, overlap=enhance.overlap,
                          enhance_tile=enhance.tile)
    priority = Priority.BACKGROUND if req.priority == "background" else Priority.INTERACTIVE
    return Prepared(spec, req.scale, image, (ow, oh), req.tile_size, enhance, req.output_format, priority,
                    source_text, parameters)


def submit(services: Services, p: Prepared) -> Job:
    """Queues the upscale; raises QueueFull (429 + Retry-After) past ATELIER_MAX_QUEUE or the image memory."""
    return services.worker.submit("upscale", lambda ctx: _run(services, p, ctx), priority=p.priority,
                                  params=dict(p.parameters), cost_bytes=p.cost_bytes)


# --------------------------------------------------------------------------- on the worker

def planned_tile(services: Services, spec: ModelSpec, scale: int, requested: int | None) -> int:
    """The upscaler tile the planner gives for the memory left beside the weights (the request may ask smaller)."""
    task = vp.Task(kind="upscaler", width=vp.UPSCALE_TILE_MAX, height=vp.UPSCALE_TILE_MAX, scale=scale)
    plan = services.manager.plan_for(spec, task)
    import torch

    dtype_bytes = torch.empty((), dtype=plan.placement.dtype).element_size()
    tile = vp.upscale_tile(vp.room_for_work(plan), scale, dtype_bytes)
    return min(tile, requested) if requested else tile


def upscale_to(model, image: Image.Image, size: tuple[int, int], *, tile: int, ctx=None) -> tuple[Image.Image, int]:
    """`image` through `model` until it reaches `size` (a 2x model runs twice for 4x), resized to exactly
    `size` (a 4x model's output scaled down for 2x). Returns the image and the tiles run."""
    tiles = 0
    while image.width < size[0] or image.height < size[1]:
        r = model.upscale(image, tile=tile, ctx=ctx)
        image, tiles = r.image, tiles + r.tiles
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image, tiles


def _pad8(img: Image.Image) -> Image.Image:
    """SDXL works in multiples of 8 px: pad by repeating the edge (cropped off again after)."""
    w, h = img.size
    pw, ph = -(-w // 8) * 8, -(-h // 8) * 8
    if (pw, ph) == (w, h):
        return img
    a = np.asarray(img)
    return Image.fromarray(np.pad(a, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge"))


def enhance_tiled(model, image: Image.Image, e: Enhance, ctx=None) -> Image.Image:
    """SDXL img2img over `image` in tiles of `e.tile` px sharing `e.overlap` px, blended with feathered
    overlaps. At strength 0 every tile comes back as it went in, so the image does too."""
    from atelier.engine.families.sdxl import SDXLRequest

    src = to_array(image)
    h, w = src.shape[:2]
    tiles = grid(w, h, e.tile, e.overlap)
    canvas = Canvas(w, h)
    vae = getattr(getattr(model, "pipe", None), "vae", None)
    was_tiled = bool(getattr(vae, "use_tiling", False))
    if vae is not None:
        vae.enable_tiling()  # tiles larger than the VAE's own sample size decode in parts
    try:
        for i, t in enumerate(tiles):
            if ctx is not None:
                ctx.raise_if_cancelled()
                ctx.emit("tile", stage="enhance", tile=i, tiles=len(tiles))
            part = image.crop((t.x0, t.y0, t.x1, t.y1))
            if e.strength > 0:
                padded = _pad8(part)
                req = SDXLRequest(prompt=e.prompt, negative_prompt=e.negative_prompt, width=padded.width,
                                  height=padded.height, steps=e.steps, guidance_scale=e.guidance_scale,
                                  seeds=[e.seed], scheduler=e.scheduler, image=padded, strength=e.strength)
                out = model.generate(req, ctx).images[0]
                part = out.crop((0, 0, t.width, t.height))
            canvas.add(t, to_array(part), e.overlap)
    finally:
        if vae is not None and not was_tiled:
            vae.disable_tiling()
    if ctx is not None:
        ctx.emit("tile", stage="enhance", tile=len(tiles), tiles=len(tiles))
    return canvas.image()


def parameters_text(p: Prepared, tile: int) -> str:
    """The A1111 `parameters` text the result carries. The source's own text is kept and the upscale
    appended as A1111's extras tab writes it; an enhanced image is described as the img2img it was."""
    upscale_fields = [("Postprocess upscale by", p.scale), ("Postprocess upscaler", p.spec.id)]
    e = p.enhance
    if e is not None and e.strength > 0:
        from atelier.engine.families.sdxl import sampler_name

        text = metadata.a1111_parameters({
            "prompt": e.prompt, "negative_prompt": e.negative_prompt, "steps": e.steps,
            "sampler": sampler_name(e.scheduler), "guidance_scale": e.guidance_scale, "seed": e.seed,
            "width": p.output_size[0], "height": p.output_size[1], "model": e.spec.id, "strength": e.strength,
        })
        upscale_fields += [("Enhance tile", e.tile), ("Enhance overlap", e.overlap)]
    elif p.source_parameters:
        text = p.source_parameters.rstrip("\n")
    else:
        text = ""
    extra = ", ".join(f"{k}: {v}" for k, v in [*upscale_fields, ("Upscale tile", tile)])
    if not text:
        return f"{extra}, Version: Atelier"
    return f"{text}, {extra}"


def _run(services: Services, p: Prepared, ctx: JobContext) -> dict[str, Any]:
    job = ctx.job
    queued_ms = ((job.started_at or time.time()) - job.created) * 1000
    ctx.raise_if_cancelled()
    image = p.image.decode()
    manager = services.manager

    # 1. Upscale, in tiles the planner sizes.
    tile = planned_tile(services, p.spec, p.scale, p.tile_size)
    ctx.emit("loading", model=p.spec.id, resident=manager.is_loaded(p.spec.id))
    t0 = time.perf_counter()
    task = vp.Task(kind="upscaler", width=tile, height=tile, scale=p.scale)
    out, tiles = manager.run(p.spec, lambda m: upscale_to(m, image, p.output_size, tile=tile, ctx=ctx), task)
    upscale_ms = (time.perf_counter() - t0) * 1000
    del image

    # 2. Enhance: SDXL img2img per 1024 px tile (skipped at strength 0: every tile would come back unchanged).
    enhance_ms = 0.0
    e = p.enhance
    if e is not None and e.strength > 0:
        ctx.emit("loading", model=e.spec.id, resident=manager.is_loaded(e.spec.id))
        t0 = time.perf_counter()
        gen_task = vp.Task(kind="generation", width=e.tile, height=e.tile, cfg=e.guidance_scale > 1.0)
        out = manager.run(e.spec, lambda m: enhance_tiled(m, out, e, ctx), gen_task)
        enhance_ms = (time.perf_counter() - t0) * 1000

    # 3. Encode with the parameters embedded.
    ctx.raise_if_cancelled()
    t0 = time.perf_counter()
    data = metadata.encode(out, p.output_format, parameters_text(p, tile))
    encode_ms = (time.perf_counter() - t0) * 1000
    parameters = {**p.parameters, "tile_size": tile, "tiles": tiles}
    return {
        "id": job.id, "object": "upscale", "created": int(job.created), "model": p.spec.id,
        "data": [{"b64_json": to_b64(data), "width": out.width, "height": out.height}],
        "parameters": parameters,
        "timings": {"queued_ms": round(queued_ms, 1), "upscale_ms": round(upscale_ms, 1),
                    "enhance_ms": round(enhance_ms, 1), "encode_ms": round(encode_ms, 1),
                    "total_ms": round((time.time() - job.created) * 1000, 1)},
    }
