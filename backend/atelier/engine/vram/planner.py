"""The VRAM planner: a pure function from (device, mode, task, model sizes, what is resident) to a Plan.

No torch device calls, no clocks, no globals: the manager gathers the facts, the planner decides,
and every decision comes back as one readable log line. That makes it a table test.

Policy in one place (docs/ARCHITECTURE.md, "VRAM manager", explains the numbers):

- Auto picks the mode from the card's total memory (`AUTO_THRESHOLDS`); no GPU means "cpu"
  (float32 unless a model runs in one dtype only, everything in RAM).
- A model whose code runs in one dtype only, or breaks under an offload kind, says so with
  `ModelLimits` (Moondream: bfloat16, never offloaded); rungs it cannot run as are skipped, logged.
- Each mode is an ordered ladder of placements (`LADDERS`: offload order is data). The planner
  takes the first rung that fits `free + what our evictable models hold`, after the working-memory
  reserve of the task; if the mode's own rungs do not fit even with every other model evicted, it
  falls through to the next mode's rungs and says so.
- Which other models may stay on the GPU is the mode's `keep` rule: high keeps all while they fit,
  balanced keeps one model per kind (an SDXL checkpoint and the vision model side by side), low keeps
  none. Whatever must leave goes least-recently-used first to the RAM cache, which has its own
  budget; the RAM cache drops least-recently-used entries past that budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import torch

from atelier.engine.base import Placement
from atelier.engine.vram.footprint import Footprint

GiB = 1024**3
MiB = 1024**2

Mode = Literal["auto", "high", "balanced", "low"]
Effective = Literal["high", "balanced", "low", "cpu"]
MODES: tuple[str, ...] = ("auto", "high", "balanced", "low")
ORDER: tuple[Effective, ...] = ("high", "balanced", "low")  # "drop one mode" walks this to the right

# Auto: the first row whose minimum total VRAM the card reaches. Cards report a little under their
# label (a "12 GB" RTX 3060 shows 12.0 GiB total, ~11.6 GiB free), hence the round-down margins.
AUTO_THRESHOLDS: tuple[tuple[int, Effective], ...] = (
    (20 * GiB, "high"),  # 24 GB class: SDXL fp16 twice + Moondream fp16 + reserve
    (9 * GiB, "balanced"),  # 10-16 GB: NF4 SDXL + fp16 Moondream resident together
    (0, "low"),  # <= 8 GB: NF4 + CPU offload, one model at a time
)

# Working-memory reserve (beside the weights), in the spirit of ComfyUI (~1.2 GB), Forge (1 GB) and
# InvokeAI (3 GB), but scaled by the task. Coefficients are for fp16 with PyTorch SDPA attention;
# scripts/bench_gpu.py measures them on a real card.
BASE_RESERVE = 512 * MiB  # allocator fragmentation, cuBLAS/cuDNN workspaces
UNET_PER_MP = 768 * MiB  # UNet activations per megapixel per UNet batch row (CFG doubles the rows)
VAE_PER_MP = 2560 * MiB  # VAE decode peak per megapixel decoded at once, fp16 (fp32 doubles it)
VAE_TILE_PX = 1024 * 1024  # SDXL's VAE tiles at its sample_size (1024): tiling bounds decode to this
VISION_RESERVE = 768 * MiB  # per image: a VLM's crops or tiles and the KV cache its answer grows
TILE_ABOVE_PX = 1024 * 1024  # Balanced tiles the VAE decode above ~1 MP (SDXL's native 1024x1024)


@dataclass(frozen=True)
class DeviceInfo:
    type: Literal["cuda", "cpu"]
    name: str
    total_bytes: int
    free_bytes: int
    capability: tuple[int, int] | None = None  # CUDA compute capability: bfloat16 is native from 8.0


@dataclass(frozen=True)
class ModelLimits:
    """What a model can run as, where it is narrower than the ladders: facts of its family's code,
    each with the reason the decision log gives."""

    dtype: torch.dtype | None = None  # the one compute dtype it runs in (None: the rung's)
    dtype_reason: str = ""
    offloads: frozenset[str] = frozenset({"none", "model", "sequential"})  # the offload kinds it survives
    offload_reason: str = ""
    images_at_once: int | None = None  # vision: most images in working memory at once (None: the batch)
    reserve_per_image: int | None = None  # vision: working memory per image, where VISION_RESERVE is wrong


@dataclass(frozen=True)
class Task:
    """What the next job will do: sets the working-memory reserve."""

    kind: Literal["generation", "vision", "upscaler"] = "generation"
    width: int = 1024  # upscaler: one tile's input size
    height: int = 1024
    batch: int = 1
    cfg: bool = True  # classifier-free guidance runs the UNet on two rows per image
    scale: int = 4  # upscaler: output px per input px, per side


@dataclass(frozen=True)
class Resident:
    """A model the manager holds. tier: gpu (weights on the card), offloaded (RAM, hooks move parts
    in during a call), ram (the RAM cache)."""

    model_id: str
    kind: str
    tier: Literal["gpu", "offloaded", "ram"]
    gpu_bytes: int
    ram_bytes: int
    last_used: float
    placement: Placement


@dataclass(frozen=True)
class Rung:
    """One placement of a ladder. vae options are decided per task."""

    dtype: torch.dtype
    quant: Literal["none", "nf4", "int8"]
    offload: Literal["none", "model", "sequential"]
    vae_tiling: bool = False
    vae_slicing: bool = False

    def label(self) -> str:
        q = "" if self.quant == "none" else f" {self.quant}"
        o = "" if self.offload == "none" else f" +{self.offload} offload"
        return f"{_dtype_name(self.dtype)}{q}{o}"


FP16 = torch.float16
LADDERS: dict[Effective, dict[str, tuple[Rung, ...]]] = {
    "high": {
        "generation": (Rung(FP16, "none", "none"),),
        "vision": (Rung(FP16, "none", "none"),),
        "upscaler": (Rung(FP16, "none", "none"),),
        "embeddings": (Rung(FP16, "none", "none"),),
    },
    "balanced": {
        "generation": (Rung(FP16, "nf4", "none"),),
        "vision": (Rung(FP16, "none", "none"), Rung(FP16, "nf4", "none")),
        "upscaler": (Rung(FP16, "none", "none"),),  # tens of MB: the tile size, not the weights, gives way
        # SigLIP's image tower (~0.2 GB fp16) stays resident beside SDXL and the vision model.
        "embeddings": (Rung(FP16, "none", "none"),),
    },
    "low": {
        # Sequential offload hooks every leaf module with accelerate's cpu_offload, which fails on
        # bitsandbytes weights ("Cannot copy out of meta tensor"): the last resorts keep float16
        # weights in RAM and move each layer in when it runs. Model offload moves whole parts
        # with .to(), which 4-bit weights support.
        "generation": (Rung(FP16, "nf4", "model", True, True), Rung(FP16, "none", "sequential", True, True)),
        "vision": (Rung(FP16, "nf4", "none"), Rung(FP16, "none", "sequential")),
        "upscaler": (Rung(FP16, "none", "none"),),
        "embeddings": (Rung(FP16, "none", "none"),),
    },
}
# How many models of each kind may stay on the GPU beside the one being loaded (None: while they fit).
KEEP: dict[Effective, dict[str, int | None]] = {
    "high": {"generation": None, "vision": None, "upscaler": None, "embeddings": None},
    "balanced": {"generation": 0, "vision": 0, "upscaler": 0, "embeddings": 0},  # per kind: the new one replaces its kind's resident
    "low": {"generation": 0, "vision": 0, "upscaler": 0, "embeddings": 0},
}
KEEP_OTHER_KIND: dict[Effective, bool] = {"high": True, "balanced": True, "low": False}


@dataclass
class Plan:
    mode: Effective
    placement: Placement
    reserve_bytes: int
    model_gpu_bytes: int  # the new model's bytes on the GPU (offload: the biggest part moved in)
    model_ram_bytes: int  # its bytes in RAM (offloaded parts)
    capacity_bytes: int  # free VRAM + what our models hold on the GPU now
    planned_gpu_bytes: int  # kept residents + the new model + reserve
    evict_to_ram: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)  # freed entirely (from the GPU or the RAM cache)
    reuse: Literal["gpu", "ram", "offloaded"] | None = None
    fits: bool = True
    log: list[str] = field(default_factory=list)


def resolve_mode(configured: str, device: DeviceInfo) -> tuple[Effective, str]:
    """The effective mode and why."""
    if device.type != "cuda":
        return "cpu", "no CUDA device: everything runs on the CPU (float32 unless a model runs in one dtype only)"
    if configured != "auto":
        return configured, f"ATELIER_VRAM_MODE={configured}"  # type: ignore[return-value]
    for minimum, mode in AUTO_THRESHOLDS:
        if device.total_bytes >= minimum:
            return mode, f"auto: {_gib(device.total_bytes)} total VRAM >= {_gib(minimum)}"
    return "low", "auto"


def lower_mode(mode: Effective) -> Effective | None:
    if mode not in ORDER:
        return None
    i = ORDER.index(mode)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def working_reserve(task: Task, *, vae_tiling: bool = False, vae_slicing: bool = False,
                    vae_fp32: bool = False, limits: ModelLimits | None = None) -> int:
    """Bytes of working memory the task needs beside the weights."""
    if task.kind == "upscaler":
        return upscale_reserve(task.width, task.height, task.scale, 4 if vae_fp32 else 2)
    if task.kind == "vision":
        images = max(1, task.batch)
        per_image = VISION_RESERVE
        if limits is not None:
            images = min(images, limits.images_at_once or images)
            per_image = limits.reserve_per_image or per_image
        return BASE_RESERVE + per_image * images
    mp = task.width * task.height / 2**20
    rows = task.batch * (2 if task.cfg else 1)
    unet = UNET_PER_MP * mp * rows
    decoded_at_once = task.width * task.height * (1 if vae_slicing else task.batch)
    if vae_tiling:
        decoded_at_once = min(decoded_at_once, VAE_TILE_PX)
    vae = VAE_PER_MP * decoded_at_once / 2**20 * (2 if vae_fp32 else 1)
    return int(BASE_RESERVE + max(unet, vae))


def plan(*, model_id: str, kind: str, footprint: Footprint, task: Task, device: DeviceInfo,
         mode: str, residents: tuple[Resident, ...] = (), ram_budget_bytes: int = 8 * GiB,
         ram_free_bytes: int | None = None, force_vae_tiling: bool = False,
         mode_floor: Effective | None = None, limits: ModelLimits | None = None) -> Plan:
    """Decide where `model_id` goes and what makes room for it.

    mode_floor: a mode the OOM recovery dropped to; the plan uses the lower of it and the mode.
    limits: what the model's code can run as (its dtype, the offloads it survives)."""
    limits = limits or ModelLimits()
    effective, why = resolve_mode(mode, device)
    if mode_floor is not None and effective in ORDER and ORDER.index(mode_floor) > ORDER.index(effective):
        why = f"{why}, dropped to {mode_floor} after an out-of-memory error"
        effective = mode_floor
    if effective == "cpu":
        return _plan_cpu(model_id, kind, footprint, task, device, why, residents, ram_budget_bytes,
                         ram_free_bytes, limits)

    log = [f"mode {effective} ({why}); {device.name}: {_gib(device.free_bytes)} free of {_gib(device.total_bytes)}"]
    if limits.dtype is not None:
        log.append(f"{model_id} runs in {_dtype_name(limits.dtype)}: {limits.dtype_reason}")
    others = [r for r in residents if r.model_id != model_id]
    current = next((r for r in residents if r.model_id == model_id), None)
    ours_on_gpu = sum(r.gpu_bytes for r in residents if r.tier == "gpu")
    capacity = device.free_bytes + ours_on_gpu

    start = ORDER.index(effective)
    # The mode's rungs and, below them, the lower modes' rungs, less those the model cannot run as.
    ladder: list[tuple[Effective, Rung]] = []
    for m in ORDER[start:]:
        for rung in LADDERS[m][kind]:
            if rung.offload not in limits.offloads:
                log.append(f"{model_id} is never offloaded (skipping {m}'s {rung.offload}-offload rung):"
                           f" {limits.offload_reason}")
                continue
            ladder.append((m, rung if limits.dtype is None else replace(rung, dtype=limits.dtype)))
    choice = None
    for m, rung in ladder:
        rung = _vae_options(rung, m, kind, task, force_vae_tiling)
        placement = Placement(device="cuda", dtype=rung.dtype, quant=rung.quant, offload=rung.offload,
                              vae_tiling=rung.vae_tiling, vae_slicing=rung.vae_slicing)
        need = footprint.gpu_bytes(rung.dtype, rung.quant, rung.offload)
        reserve = working_reserve(task, vae_tiling=rung.vae_tiling, vae_slicing=rung.vae_slicing, limits=limits)
        if need + reserve <= capacity:
            choice = (m, rung, placement, need, reserve)
            break
        log.append(f"{model_id} as {rung.label()} ({m}) needs {_gib(need)} + {_gib(reserve)} reserve"
                   f" > {_gib(capacity)} available even with every other model evicted")
    fits = choice is not None
    if choice is None:  # nothing fits: take the last rung (the smallest) and let OOM recovery speak
        m, rung = ladder[-1]
        rung = _vae_options(rung, m, kind, task, True)
        placement = Placement(device="cuda", dtype=rung.dtype, quant=rung.quant, offload=rung.offload,
                              vae_tiling=True, vae_slicing=True)
        need = footprint.gpu_bytes(rung.dtype, rung.quant, rung.offload)
        reserve = working_reserve(task, vae_tiling=True, vae_slicing=True, limits=limits)
        choice = (m, rung, placement, need, reserve)
    m, rung, placement, need, reserve = choice
    if m != effective:
        log.append(f"{effective} placement does not fit: using the {m} rung {rung.label()}")
    total = footprint.total_bytes(rung.dtype, rung.quant)
    ram_part = total - need if rung.offload != "none" else 0

    result = Plan(mode=effective, placement=placement, reserve_bytes=reserve, model_gpu_bytes=need,
                  model_ram_bytes=ram_part, capacity_bytes=capacity, planned_gpu_bytes=0, fits=fits, log=log)

    # 1. The requested model: reuse it as it is, or reload because its placement changed.
    if current is not None:
        if _same_weights(current.placement, placement):
            result.reuse = current.tier
            verb = {"gpu": "already on the GPU", "ram": "in the RAM cache: moving it to the GPU",
                    "offloaded": "already loaded with CPU offload"}[current.tier]
            log.append(f"{model_id}: {verb}")
        else:
            result.drop.append(model_id)
            log.append(f"{model_id}: placement changed from {_label(current.placement)} to {rung.label()};"
                       " reloading from disk")

    # 2. Which other models may stay on the GPU (the mode's rule), least recently used leave first.
    on_gpu = sorted((r for r in others if r.tier == "gpu"), key=lambda r: r.last_used)
    keep: list[Resident] = []
    leave: list[tuple[Resident, str]] = []
    per_kind_left = dict(KEEP[m])
    for r in sorted(on_gpu, key=lambda r: -r.last_used):  # most recent first get the places
        if r.kind != kind and not KEEP_OTHER_KIND[m]:
            leave.append((r, f"{m} keeps one model on the GPU at a time"))
            continue
        if r.kind == kind:
            left = per_kind_left.get(r.kind)
            if left is not None and left <= 0:
                leave.append((r, f"{m} keeps one {kind} model on the GPU"))
                continue
            if left is not None:
                per_kind_left[r.kind] = left - 1
        keep.append(r)
    used = need + reserve + sum(r.gpu_bytes for r in keep)
    for r in sorted(keep, key=lambda r: r.last_used):  # LRU first
        if used <= capacity:
            break
        keep.remove(r)
        used -= r.gpu_bytes
        leave.append((r, f"needs room: {_gib(used + r.gpu_bytes)} planned > {_gib(capacity)} available"))
    result.planned_gpu_bytes = used
    for r, reason in sorted(leave, key=lambda x: x[0].last_used):
        result.evict_to_ram.append(r.model_id)
        log.append(f"evict {r.model_id} ({_gib(r.gpu_bytes)}) from the GPU to the RAM cache: {reason}")
    for r in keep:
        log.append(f"keep {r.model_id} on the GPU ({_gib(r.gpu_bytes)})")

    # 3. The RAM cache budget: entries (and freshly evicted ones) past it go, LRU first.
    cached = [r for r in others if r.tier in ("ram", "offloaded")] + [r for r, _ in leave]
    _fit_ram_cache(result, cached, ram_budget_bytes, ram_free_bytes, ram_part)

    log.append(f"load {model_id} as {rung.label()}{_vae_label(placement)}: {_gib(need)} on the GPU"
               f"{f', {_gib(ram_part)} in RAM' if ram_part else ''} + {_gib(reserve)} reserve for"
               f" {_task_label(task, limits)}; planned {_gib(used)} of {_gib(capacity)}"
               + ("" if fits else " (DOES NOT FIT: expect out-of-memory recovery)"))
    return result


def _plan_cpu(model_id: str, kind: str, footprint: Footprint, task: Task, device: DeviceInfo, why: str,
              residents: tuple[Resident, ...], ram_budget: int, ram_free: int | None,
              limits: ModelLimits) -> Plan:
    vae_tiling = kind == "generation" and task.width * task.height > 2 * TILE_ABOVE_PX
    dtype = limits.dtype or torch.float32
    placement = Placement(device="cpu", dtype=dtype, vae_tiling=vae_tiling)
    total = footprint.total_bytes(dtype)
    reserve = working_reserve(task, vae_tiling=vae_tiling, vae_fp32=dtype == torch.float32, limits=limits)
    log = [f"mode cpu ({why}); {device.name}: {_gib(device.free_bytes)} RAM available of {_gib(device.total_bytes)}"]
    if limits.dtype is not None:
        log.append(f"{model_id} runs in {_dtype_name(dtype)}: {limits.dtype_reason}")
    p = Plan(mode="cpu", placement=placement, reserve_bytes=reserve, model_gpu_bytes=0, model_ram_bytes=total,
             capacity_bytes=device.free_bytes, planned_gpu_bytes=0, log=log)
    current = next((r for r in residents if r.model_id == model_id), None)
    if current is not None:
        if _same_weights(current.placement, placement):
            p.reuse = "ram"
            log.append(f"{model_id}: already loaded in RAM")
        else:
            p.drop.append(model_id)
            log.append(f"{model_id}: placement changed to {_dtype_name(dtype)} on the CPU; reloading from disk")
    others = [r for r in residents if r.model_id != model_id]
    _fit_ram_cache(p, others, ram_budget, ram_free, total if current is None else 0)
    log.append(f"load {model_id} as {_dtype_name(dtype)} on the CPU: {_gib(total)} in RAM + {_gib(reserve)} working"
               f" memory for {_task_label(task, limits)}")
    return p


def _fit_ram_cache(p: Plan, cached: list[Resident], budget: int, ram_free: int | None, incoming: int) -> None:
    limit = budget
    if ram_free is not None:
        # Never let the cache push the machine into swap: keep 2 GiB of RAM free for everything else.
        room = ram_free - incoming - 2 * GiB + sum(r.ram_bytes for r in cached if r.tier != "gpu")
        if room < limit:
            limit = max(0, room)
            p.log.append(f"RAM cache limited to {_gib(limit)} by free system RAM (ATELIER_RAM_CACHE_GB={_gib(budget)})")
    size = lambda r: r.ram_bytes + r.gpu_bytes  # noqa: E731 - bytes it will hold in RAM once cached
    used = sum(size(r) for r in cached)
    for r in sorted(cached, key=lambda r: r.last_used):
        if used <= limit:
            break
        used -= size(r)
        if r.model_id in p.evict_to_ram:
            p.evict_to_ram.remove(r.model_id)
        p.drop.append(r.model_id)
        p.log.append(f"drop {r.model_id} ({_gib(size(r))}) from memory: RAM cache over budget"
                     f" ({_gib(used + size(r))} > {_gib(limit)}), least recently used")


def _vae_options(rung: Rung, mode: Effective, kind: str, task: Task, force: bool) -> Rung:
    if kind != "generation":
        return rung
    big = task.width * task.height > TILE_ABOVE_PX
    tiling = rung.vae_tiling or force or (mode == "balanced" and big)
    slicing = rung.vae_slicing or force or (tiling and task.batch > 1)
    return replace(rung, vae_tiling=tiling, vae_slicing=slicing)


def _same_weights(a: Placement, b: Placement) -> bool:
    """Can a loaded model serve placement b without a reload? (VAE options are runtime switches.)"""
    return a.dtype == b.dtype and a.quant == b.quant and a.offload == b.offload


def _dtype_name(d: torch.dtype) -> str:
    return str(d).removeprefix("torch.")


def _label(p: Placement) -> str:
    return Rung(p.dtype, p.quant, p.offload).label()


def _vae_label(p: Placement) -> str:
    flags = [n for n, on in (("VAE tiling", p.vae_tiling), ("VAE slicing", p.vae_slicing)) if on]
    return f" with {' and '.join(flags)}" if flags else ""


def _task_label(t: Task, limits: ModelLimits) -> str:
    if t.kind == "upscaler":
        return f"x{t.scale} tiles of {t.width}x{t.height}"
    if t.kind == "vision":
        at_once = limits.images_at_once
        return f"vision x{t.batch}" + (f", {at_once} at a time" if at_once and t.batch > at_once else "")
    return f"{t.width}x{t.height}" + (f" x{t.batch}" if t.batch > 1 else "")


def _gib(n: float) -> str:
    return f"{n / GiB:.2f} GiB"


# --------------------------------------------------------------------------- upscalers (issue 21)
# An ESRGAN-class upscaler is tens of MB; its activations are what fill the card: ~384 values per
# input pixel per unit of scale per channel (ComfyUI's estimate for these models, a 4x model on a
# 512 px tile in fp16: ~2.3 GiB). The planner sizes the tile to the memory left, not the model.
UPSCALE_VALUES_PER_PX = 384 * 3
UPSCALE_TILE_MAX = 512  # bigger tiles gain little speed, and a cancel waits for the tile in flight
UPSCALE_TILE_MIN = 64
ENHANCE_TILE = 1024  # the enhance stage runs SDXL img2img on tiles of SDXL's native size


def upscale_reserve(width: int, height: int, scale: int, dtype_bytes: int) -> int:
    """Working memory for one upscaler tile of width x height input pixels."""
    return int(BASE_RESERVE + width * height * UPSCALE_VALUES_PER_PX * scale * dtype_bytes)


def upscale_tile(room_bytes: int, scale: int, dtype_bytes: int, *, cap: int = UPSCALE_TILE_MAX) -> int:
    """The largest square tile (a multiple of 32 input px, within [UPSCALE_TILE_MIN, cap]) whose working
    memory fits `room_bytes` (what is left beside the weights)."""
    per_px = UPSCALE_VALUES_PER_PX * scale * dtype_bytes
    side = int(math.isqrt(max(0, room_bytes - BASE_RESERVE) // per_px))
    return max(UPSCALE_TILE_MIN, min(cap, side // 32 * 32))


def room_for_work(p: Plan) -> int:
    """Bytes a plan leaves for working memory: capacity less the kept residents and the model."""
    if p.mode == "cpu":
        return p.capacity_bytes - p.model_ram_bytes
    return p.capacity_bytes - (p.planned_gpu_bytes - p.reserve_bytes)
