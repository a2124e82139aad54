"""Gallery analysis: caption, tags, NSFW and objects for one image or a batch.

Analysis is BACKGROUND work on the one GPU worker: a person chatting or generating goes first.
A batch loads the model once and captions its images together (the VLM adapter batches them in
one generate() call); a model that takes one image per call (Moondream) gets every task of one
image before the next, so it encodes each image once. One bad image becomes that image's error,
never the batch's.
Images wait in the queue compressed and are decoded by the job, one at a time, scaled to WORK_SIDE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from PIL import Image

from atelier.api.deps import Services
from atelier.api.disconnect import await_job
from atelier.core.errors import AtelierError, Cancelled, InvalidParameter, error_body
from atelier.core.images import WORK_SIDE, PendingImage, decoding_cost
from atelier.core.remote_images import load_image
from atelier.core.text import xml_safe
from atelier.engine.base import ModelSpec
from atelier.engine.vision import TAGS_PROMPT, GenerationParams
from atelier.engine.manager import is_oom
from atelier.engine.vram.planner import Task
from atelier.engine.worker import JobContext, Priority
from atelier.gallery.analyze.nsfw import get_detector
from atelier.gallery.analyze.protocol import (
    AnalyzeBatchRequest,
    AnalyzeBatchResult,
    AnalyzeOptions,
    AnalyzeRequest,
    AnalyzeResult,
    BatchItem,
    Tag,
)
from atelier.gallery.analyze.tags import parse_tags

MODEL_TASKS = frozenset({"caption", "tags", "objects", "points"})
LOCATE_TASKS = frozenset({"objects", "points"})
TAGS_MAX_TOKENS = 96  # ~20 tags of a few tokens each
DEFAULT_OBJECTS = 3  # tags located when the request names no objects


@dataclass
class Plan:
    spec: ModelSpec | None
    opts: AnalyzeOptions
    nsfw: bool


@dataclass
class ImageResult:
    data: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


# ----------------------------------------------------------------------------- planning
def plan(services: Services, opts: AnalyzeOptions) -> Plan:
    tasks = set(opts.tasks)
    spec = None
    if tasks & MODEL_TASKS:
        spec = services.manager.resolve(opts.model, "vision")
        family = services.manager.families.get(spec.family)
        if tasks & LOCATE_TASKS and not getattr(family, "detects", False):
            raise InvalidParameter(
                f"{spec.id} cannot locate objects: use a model with detection (moondream-2) "
                f"or leave {' and '.join(sorted(repr(t) for t in tasks & LOCATE_TASKS))} out of tasks",
                param="tasks")
        services.manager.ensure_downloaded(spec)
    nsfw = "nsfw" in tasks and services.settings.nsfw_detector != "off"
    return Plan(spec, opts, nsfw)


# ----------------------------------------------------------------------------- the job
def _each(results: list[ImageResult], run_batch: Callable[[list[Image.Image]], list[Any]],
          run_one: Callable[[Image.Image], Any], images: list[Image.Image], key: str,
          shape: Callable[[Any], Any]) -> None:
    """Run a task on every image still healthy: as one batch, or image by image if the batch fails
    (so the failing image is the only one that pays)."""
    live = [i for i, r in enumerate(results) if r.error is None]
    if not live:
        return
    try:
        outs = run_batch([images[i] for i in live])
        for i, out in zip(live, outs):
            results[i].data[key] = shape(out)
        return
    except Cancelled:
        raise
    except Exception:  # noqa: BLE001 - retried image by image below
        pass
    for i in live:
        try:
            results[i].data[key] = shape(run_one(images[i]))
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - becomes this image's error
            if is_oom(exc):  # one image alone does not fit: the manager's OOM recovery takes over
                raise
            results[i].error = exc


def _add_ms(timings: dict[str, float], key: str, t0: float) -> None:
    timings[key] = round(timings.get(key, 0.0) + _ms(t0), 1)


def _model_tasks(model: Any, p: Plan, images: list[Image.Image], results: list[ImageResult],
                 timings: dict[str, float], ctx: JobContext) -> None:
    if getattr(model, "batches_images", True):
        _tasks(model, p, images, results, timings, ctx)
        return
    # One image per call: each image's tasks together, so the model encodes it once for all of them.
    for img, r in zip(images, results):
        _tasks(model, p, [img], [r], timings, ctx)


def _tasks(model: Any, p: Plan, images: list[Image.Image], results: list[ImageResult],
           timings: dict[str, float], ctx: JobContext) -> None:
    tasks = set(p.opts.tasks)
    cancelled = lambda: ctx.cancelled  # noqa: E731
    if "caption" in tasks:
        t0 = time.perf_counter()
        _each(results, lambda imgs: model.caption_batch(imgs, p.opts.caption_length, cancelled=cancelled),
              lambda img: model.caption_batch([img], p.opts.caption_length, cancelled=cancelled)[0],
              images, "caption", lambda c: xml_safe(c.text).strip())
        _add_ms(timings, "caption_ms", t0)
        ctx.raise_if_cancelled()

    if "tags" in tasks or (tasks & LOCATE_TASKS and not p.opts.objects):
        t0 = time.perf_counter()
        params = GenerationParams(max_tokens=min(TAGS_MAX_TOKENS, 8 + 5 * p.opts.max_tags))
        _each(results, lambda imgs: model.ask_batch(imgs, TAGS_PROMPT, params, cancelled=cancelled),
              lambda img: model.ask_batch([img], TAGS_PROMPT, params, cancelled=cancelled)[0],
              images, "tags", lambda c: parse_tags(c.text, p.opts.max_tags))
        _add_ms(timings, "tags_ms", t0)
        ctx.raise_if_cancelled()

    for task, locate in (("objects", model.detect), ("points", model.point)):
        if task not in tasks:
            continue
        t0 = time.perf_counter()
        for r, img in zip(results, images):
            if r.error is not None:
                continue
            names = p.opts.objects or r.data.get("tags", [])[:DEFAULT_OBJECTS]
            try:
                found = []
                for name in names:
                    ctx.raise_if_cancelled()
                    found.extend(locate(img, name, p.opts.max_objects))
                r.data[task] = found
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001
                if is_oom(exc):
                    raise
                r.error = exc
        _add_ms(timings, f"{task}_ms", t0)


def _decode(pending: list[PendingImage], results: list[ImageResult], ctx: JobContext) -> list[Image.Image | None]:
    """One image at a time, each scaled to WORK_SIDE at once: at most one image is held at full size.
    An image that does not decode becomes its own error."""
    images: list[Image.Image | None] = []
    for r, img in zip(results, pending):
        ctx.raise_if_cancelled()
        try:
            images.append(img.decode(WORK_SIDE))
        except AtelierError as exc:
            r.error = exc
            images.append(None)
    return images


def run_analysis(services: Services, p: Plan, pending: list[PendingImage],
                 ctx: JobContext) -> tuple[list[ImageResult], dict[str, float]]:
    tasks = set(p.opts.tasks)
    timings: dict[str, float] = {}
    results = [ImageResult() for _ in pending]
    t0 = time.perf_counter()
    images = _decode(pending, results, ctx)
    timings["decode_ms"] = _ms(t0)
    undecodable = {i for i, img in enumerate(images) if img is None}

    if p.spec is not None and len(undecodable) < len(images):
        t_load = time.perf_counter()

        def with_model(model: Any) -> None:
            # a retry after an out-of-memory error starts clean (the decode is not repeated)
            for key in [k for k in timings if k != "decode_ms"]:
                del timings[key]
            timings["load_ms"] = _ms(t_load)
            for i, r in enumerate(results):
                if i not in undecodable:
                    r.data.clear()
                    r.error = None
            t_work = time.perf_counter()
            _model_tasks(model, p, images, results, timings, ctx)
            timings["model_ms"] = _ms(t_work)

        # run() recovers once from an out-of-memory error (evict, tile, drop a mode, retry).
        services.manager.run(p.spec, with_model, Task(kind="vision", batch=len(images)))
        services.analysis.record(p.spec.id, len(images), timings["model_ms"])

    if p.nsfw:
        t0 = time.perf_counter()
        detector = get_detector()
        for r, img in zip(results, images):
            if r.error is not None:
                continue
            ctx.raise_if_cancelled()
            try:
                r.data["nsfw"] = detector.classify(img)
            except Exception as exc:  # noqa: BLE001
                r.error = exc
        timings["nsfw_ms"] = _ms(t0)

    if "tags" not in tasks:
        for r in results:
            r.data.pop("tags", None)
    for r in results:
        if "tags" in r.data:
            r.data["tags"] = [Tag(name=t, score=None) for t in r.data["tags"]]
    return results, timings


async def _submit(services: Services, p: Plan, images: list[PendingImage], request: Request, n_total: int):
    job = services.worker.submit(
        "analyze", lambda ctx: run_analysis(services, p, images, ctx), priority=Priority.BACKGROUND,
        params={"model": p.spec.id if p.spec else None, "tasks": list(p.opts.tasks), "images": n_total},
        cost_bytes=decoding_cost(images, WORK_SIDE),
    )
    submitted = time.time()
    results, timings = await await_job(job, request, services.worker)
    if job.started_at:
        timings["queue_ms"] = round((job.started_at - submitted) * 1000, 1)
    return results, timings


# ----------------------------------------------------------------------------- endpoints
async def analyze(services: Services, req: AnalyzeRequest, request: Request) -> AnalyzeResult:
    t0 = time.perf_counter()
    p = plan(services, req)
    img = await load_image(req.image, services.settings, param="image")
    read_ms = _ms(t0)
    results, timings = await _submit(services, p, [img], request, 1)
    r = results[0]
    if r.error is not None:
        raise r.error
    return AnalyzeResult(**r.data, model=p.spec.id if p.spec else None,
                         timings={"read_ms": read_ms, **timings, "total_ms": _ms(t0)})


async def analyze_batch(services: Services, req: AnalyzeBatchRequest, request: Request) -> AnalyzeBatchResult:
    t0 = time.perf_counter()
    limit = services.settings.max_batch
    if len(req.images) > limit:
        raise InvalidParameter(f"at most {limit} images per batch (ATELIER_MAX_BATCH), got {len(req.images)}",
                               param="images")
    p = plan(services, req)
    items: list[BatchItem | None] = [None] * len(req.images)
    read: list[tuple[int, PendingImage]] = []
    for i, value in enumerate(req.images):
        try:
            read.append((i, await load_image(value, services.settings, param=f"images.{i}")))
        except AtelierError as exc:
            items[i] = BatchItem(index=i, error=error_body(exc)["error"])
    read_ms = _ms(t0)
    timings: dict[str, float] = {}
    if read:
        results, timings = await _submit(services, p, [img for _, img in read], request, len(req.images))
        for (i, _), r in zip(read, results):
            items[i] = (BatchItem(index=i, error=error_body(r.error)["error"]) if r.error is not None
                        else BatchItem(index=i, **r.data))
    return AnalyzeBatchResult(data=[it for it in items if it is not None], model=p.spec.id if p.spec else None,
                              timings={"read_ms": read_ms, **timings, "total_ms": _ms(t0)})
