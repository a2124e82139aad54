"""Model lifecycle: which models are loaded, where, and for how long.

The manager is an object with a budget, a TTL and a lock (see docs/ARCHITECTURE.md, "VRAM manager"):

- two tiers: models on the GPU, and a RAM cache (ATELIER_RAM_CACHE_GB) that holds evicted
  checkpoints so a swap back is a host-to-device copy instead of a cold `from_pretrained`;
- the pure planner (`engine/vram/planner.py`) decides every placement and eviction; the manager
  carries the plan out and logs each decision in one line;
- idle models are unloaded after ATELIER_MODEL_TTL seconds (0 keeps them), from the worker's idle hook;
- a mode switch (POST /v1/vram/mode) is applied between jobs;
- `run(spec, fn)` recovers from an out-of-memory error: free caches, evict idle models, tile the
  VAE, drop one mode, retry once; then OutOfMemory (503) telling the user what to change.

Only the GPU worker thread calls acquire(), run(), unload(), evict_expired() and apply_pending_mode();
status() and request_mode() may be called from anywhere.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar, runtime_checkable

import torch

from atelier.core.config import Settings
from atelier.core.errors import InvalidParameter, ModelLoadFailed, OutOfMemory
from atelier.core.library_logs import quiet_progress_bars
from atelier.engine.base import Family, LoadedModel, ModelSpec, Placement, module_bytes_by_device
from atelier.engine.catalog import Catalog
from atelier.engine.vram import planner as vp
from atelier.engine.vram.footprint import Footprint

log = logging.getLogger("atelier.vram")
T = TypeVar("T")


def pick_device(settings: Settings) -> str:
    if settings.device == "cpu":
        return "cpu"
    if settings.device == "cuda" or torch.cuda.is_available():
        return "cuda"
    return "cpu"


@runtime_checkable
class Reconfigurable(Protocol):
    """Optional on a LoadedModel: apply runtime memory switches (VAE tiling/slicing, attention
    slicing) without reloading. The OOM recovery uses it to tile the VAE."""

    def configure(self, placement: Placement) -> None: ...


def probe_device(device: str) -> vp.DeviceInfo:
    """Total and free memory of the device models run on (RAM figures on the CPU)."""
    if device == "cuda" and torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        return vp.DeviceInfo("cuda", torch.cuda.get_device_name(), int(total), int(free),
                             capability=tuple(torch.cuda.get_device_capability()))
    import psutil

    vm = psutil.virtual_memory()
    return vp.DeviceInfo("cpu", "cpu", int(vm.total), int(vm.available))


def ram_available() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, OutOfMemory)):  # families may already have translated it
        return True
    # bitsandbytes and some CUDA kernels raise a plain RuntimeError with the allocator's message.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@dataclass
class Entry:
    spec: ModelSpec
    model: LoadedModel
    placement: Placement
    tier: str  # "gpu" | "offloaded" | "ram"
    loaded_at: float
    last_used: float
    load_ms: float
    bytes: dict[str, int] = field(default_factory=dict)


@dataclass
class Acquired:
    model: LoadedModel
    ms: float  # milliseconds spent making it ready (0 when it was already on the GPU)
    source: str  # "gpu" | "ram_cache" | "disk"
    plan: vp.Plan


class ModelManager:
    def __init__(self, settings: Settings, catalog: Catalog, families: dict[str, Family], *,
                 probe: Callable[[], vp.DeviceInfo] | None = None, gpu_device: str | None = None,
                 ram_probe: Callable[[], int] | None = ram_available, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.catalog = catalog
        self.families = families
        self.device = pick_device(settings)  # "cuda" | "cpu"
        # Where "on the GPU" models live; tests simulate a card with gpu_device="cpu" and a fake probe.
        self.gpu_device = gpu_device or self.device
        self._probe = probe or (lambda: probe_device(self.device))
        self._ram_probe = ram_probe
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._lock = threading.RLock()  # one load/move at a time
        self.configured_mode: str = settings.vram_mode
        self._pending_mode: str | None = None
        self._oom_floor: vp.Effective | None = None  # a mode the OOM recovery dropped to
        self._force_vae_tiling = False
        self._footprints: dict[str, Footprint] = {}
        self._no_footprint: set[str] = set()  # models whose configs cannot be sized (not downloaded)
        self.last_plan: list[str] = []

    # --- facts for the planner

    def family(self, spec: ModelSpec) -> Family:
        fam = self.families.get(spec.family)
        if fam is None:
            raise ModelLoadFailed(f"no loader for model family {spec.family!r} (model {spec.id!r})", param="model")
        return fam

    def footprint(self, spec: ModelSpec) -> Footprint:
        """The model's parts as its family sizes them from configs (`Family.parts`), remembered."""
        fp = self._footprints.get(spec.id)
        if fp is None:
            fp = self.family(spec).parts(spec)
            self._footprints[spec.id] = fp
        return fp

    def device_info(self) -> vp.DeviceInfo:
        return self._probe()

    def _residents(self) -> tuple[vp.Resident, ...]:
        out = []
        for e in self._entries.values():
            dev = e.bytes
            on_gpu = sum(n for d, n in dev.items() if d.startswith("cuda")) if self.gpu_device != "cpu" else 0
            total = sum(dev.values())
            if self.gpu_device == "cpu" and e.tier == "gpu":
                on_gpu = total  # a simulated card: trust the tier
            out.append(vp.Resident(e.spec.id, e.spec.kind, e.tier, on_gpu, total - on_gpu, e.last_used, e.placement))
        return tuple(out)

    def limits(self, spec: ModelSpec, device: vp.DeviceInfo) -> vp.ModelLimits | None:
        """What the model's code can run as on `device`, if its family narrows the ladders."""
        fam = self.families.get(spec.family)
        return fam.limits(spec, device) if fam is not None else None

    def is_downloaded(self, spec: ModelSpec) -> bool:
        fam = self.families.get(spec.family)
        try:
            return bool(fam and fam.is_downloaded(spec))
        except Exception:  # noqa: BLE001 - a broken cache entry is not downloaded
            return False

    def ensure_downloaded(self, spec: ModelSpec) -> None:
        """The family's one "not downloaded" error (409 naming the command) unless it is here."""
        self.family(spec).ensure_downloaded(spec)

    def plan_for(self, spec: ModelSpec, task: vp.Task | None = None) -> vp.Plan:
        task = task or default_task(spec)
        device = self.device_info()
        return vp.plan(
            model_id=spec.id, kind=spec.kind, footprint=self.footprint(spec), task=task,
            device=device, mode=self.configured_mode, residents=self._residents(),
            ram_budget_bytes=int(self.settings.ram_cache_gb * vp.GiB),
            ram_free_bytes=self._ram_probe() if self._ram_probe else None,
            force_vae_tiling=self._force_vae_tiling, mode_floor=self._oom_floor, limits=self.limits(spec, device),
        )

    # --- the services' interface

    def acquire(self, spec: ModelSpec, task: vp.Task | None = None) -> tuple[LoadedModel, float]:
        """The loaded model for `spec`, placed by the planner. Returns it and the ms spent loading."""
        got = self.acquire_detailed(spec, task)
        return got.model, got.ms

    def acquire_detailed(self, spec: ModelSpec, task: vp.Task | None = None) -> Acquired:
        with self._lock:
            self.apply_pending_mode()
            p = self.plan_for(spec, task)
            self.last_plan = list(p.log)
            for line in p.log:
                log.info(line)
            for mid in p.drop:
                self._drop(mid)
            for mid in p.evict_to_ram:
                self._to_ram(mid)
            if p.drop:
                # Only dropped models need a collection (cycles keep modules alive); a model moved to the
                # RAM cache freed its GPU blocks already, and the allocator reuses them for the incoming one.
                _free_caches()
            t0 = time.perf_counter()
            entry = self._entries.get(spec.id)
            # In cpu mode the RAM is where models run: one already loaded there has nothing to move
            # (a no-op .to() still walks every module, ~1 ms per request for a tiny model).
            in_place = p.mode == "cpu" and entry is not None and entry.tier == "gpu"
            if entry is not None and p.reuse == "ram" and not in_place:
                entry.model.to(self.gpu_device)
                entry.tier = "gpu"
                source = "ram_cache"
            elif entry is not None:
                source = "gpu" if entry.tier == "gpu" else "offloaded"
            else:
                entry = self._load(spec, p.placement)
                source = "disk"
            if (entry.placement.vae_tiling, entry.placement.vae_slicing) != (p.placement.vae_tiling,
                                                                             p.placement.vae_slicing):
                if isinstance(entry.model, Reconfigurable):
                    entry.placement = replace(entry.placement, vae_tiling=p.placement.vae_tiling,
                                              vae_slicing=p.placement.vae_slicing)
                    entry.model.configure(entry.placement)
                else:  # status keeps telling the truth: the options change at the next load
                    log.info("%s cannot switch VAE tiling/slicing in place (no configure()); kept as loaded",
                             spec.id)
            ms = (time.perf_counter() - t0) * 1000 if source != "gpu" else 0.0
            if source != "gpu" or not entry.bytes:
                # Nothing moved when it was already on the GPU: the figures of its load or last move hold.
                entry.bytes = module_bytes_by_device(entry.model.modules())
            entry.last_used = self._clock()
            if source == "ram_cache":
                log.info("swapped %s in from the RAM cache in %.0f ms", spec.id, ms)
            return Acquired(entry.model, ms, source, p)

    def run(self, spec: ModelSpec, fn: Callable[[LoadedModel], T], task: vp.Task | None = None) -> T:
        """Acquire `spec` and call fn(model), recovering once from an out-of-memory error."""
        task = task or default_task(spec)
        try:
            model, _ = self.acquire(spec, task)
            return self._touch(spec, fn(model))
        except Exception as exc:  # noqa: BLE001 - only OOM is handled, the rest re-raised
            if not is_oom(exc):
                raise
            log.warning("out of memory running %s (%s): recovering", spec.id, _one_line(exc))
        steps = self._recover(spec)
        try:
            model, _ = self.acquire(spec, task)
            return self._touch(spec, fn(model))
        except Exception as exc:  # noqa: BLE001
            if not is_oom(exc):
                raise
            _free_caches()
            raise OutOfMemory(self._oom_message(spec, task, steps)) from exc

    def switch(self, spec: ModelSpec, task: vp.Task | None = None) -> dict[str, Any]:
        """Preload `spec` (POST /v1/model/switch): what was done and how long it took."""
        from atelier.engine.status import placement_dict

        t0 = time.perf_counter()
        got = self.acquire_detailed(spec, task)
        return {
            "model": spec.id,
            "source": got.source,
            "load_ms": round(got.ms, 1),
            "total_ms": round((time.perf_counter() - t0) * 1000, 1),
            "mode": got.plan.mode,
            "placement": placement_dict(got.plan.placement),
            "plan": got.plan.log,
        }

    def unload(self, model_id: str | None = None) -> list[str]:
        """Free a model (or all of them) from the GPU and the RAM cache; memory returns to baseline."""
        with self._lock:
            ids = [model_id] if model_id else list(self._entries)
            done = [mid for mid in ids if self._drop(mid)]
            if done:
                _free_caches()
                log.info("unloaded %s", ", ".join(done))
            if not self._entries:
                self._oom_floor = None
                self._force_vae_tiling = False
            return done

    def evict_expired(self) -> None:
        """The worker's idle hook: apply a pending mode switch, unload models idle past the TTL."""
        with self._lock:
            self.apply_pending_mode()
            ttl = self.settings.model_ttl
            if ttl <= 0:
                return
            now = self._clock()
            expired = [e for e in self._entries.values() if now - e.last_used > ttl]
            for e in expired:
                log.info("unload %s: idle for %.0f s (ATELIER_MODEL_TTL=%g)", e.spec.id, now - e.last_used, ttl)
                self._drop(e.spec.id)
            if expired:
                _free_caches()
                if not self._entries:
                    self._oom_floor = None
                    self._force_vae_tiling = False

    def default_model(self, kind: str) -> str | None:
        """The model a request without one gets: the configured default of the kind
        (`Settings.default_model`) when this catalog serves it and it is downloaded; else the first
        downloaded model of the kind (a user who fetched another model first is served by it, not
        told to fetch the default); else the default, or the first of the kind (ATELIER_MODELS=tiny),
        whose error says how to fetch it."""
        configured = self.settings.default_model(kind)
        specs = [s for s in self.catalog.all() if s.kind == kind]
        served = [s for s in specs if s.id == configured] + [s for s in specs if s.id != configured]
        ready = next((s.id for s in served if self.is_downloaded(s)), None)
        return ready or (served[0].id if served else configured)

    def resolve(self, name: str | None, kind: str) -> ModelSpec:
        """The catalog entry a request asks for, or, when it names none, the default of the kind
        (`default_model`): the one place a request's model is decided."""
        return self.catalog.resolve(name or self.default_model(kind), kind=kind)

    def loaded(self, model_id: str) -> LoadedModel | None:
        """The model if it is loaded (any tier), its idle clock reset; None otherwise. For work that
        may run beside the GPU worker on parts that never leave the CPU (SigLIP's text tower): the
        model's own lock, not the manager's, guards that use against close()."""
        e = self._entries.get(model_id)
        if e is None:
            return None
        e.last_used = self._clock()
        return e.model

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._entries

    def tier(self, model_id: str) -> str | None:
        e = self._entries.get(model_id)
        return e.tier if e else None

    # --- modes

    def request_mode(self, mode: str) -> None:
        """Ask for a mode; it is applied between jobs (the next acquire or the idle hook)."""
        if mode not in vp.MODES:
            raise InvalidParameter(f"mode must be one of {', '.join(vp.MODES)}, got {mode!r}", param="mode")
        self._pending_mode = mode

    def apply_pending_mode(self) -> bool:
        mode = self._pending_mode
        if mode is None:
            return False
        with self._lock:
            self._pending_mode = None
            old = self.configured_mode
            self.configured_mode = mode
            self._oom_floor = None
            self._force_vae_tiling = False
            # Every model leaves the GPU: the next job places what it needs under the new mode's rules
            # (a model whose dtype/quantisation no longer matches is reloaded then).
            moved = [e.spec.id for e in list(self._entries.values()) if e.tier == "gpu"]
            for mid in moved:
                self._to_ram(mid)
            self._enforce_ram_budget()
            _free_caches()
            effective, why = vp.resolve_mode(mode, self.device_info())
            log.info("vram mode %s -> %s (effective %s: %s); moved %s to the RAM cache", old, mode, effective,
                     why, ", ".join(moved) or "nothing")
            return True

    def effective_mode(self) -> tuple[str, str]:
        mode, why = vp.resolve_mode(self.configured_mode, self.device_info())
        if self._oom_floor and mode in vp.ORDER and vp.ORDER.index(self._oom_floor) > vp.ORDER.index(mode):
            return self._oom_floor, f"{why}, dropped to {self._oom_floor} after an out-of-memory error"
        return mode, why

    # --- status

    def status(self) -> dict[str, Any]:
        """Device, mode, RAM cache and every catalog model's state: engine/status.py presents them."""
        from atelier.engine.status import manager_status

        return manager_status(self)

    def entries(self) -> dict[str, Entry]:
        """A snapshot of the loaded models (the worker may be changing them)."""
        return dict(self._entries)

    @property
    def pending_mode(self) -> str | None:
        return self._pending_mode

    def sized(self, spec: ModelSpec) -> Footprint | None:
        """The model's parts if they can be known now: sized at once when no load runs (see
        `while_no_load`), None while one does or when its configs are not on disk (remembered)."""
        if spec.id in self._no_footprint:
            return None
        fp = self._footprints.get(spec.id)
        if fp is not None:
            return fp
        try:
            return self.while_no_load(lambda: self.footprint(spec))
        except Exception:  # noqa: BLE001 - no configs yet: unknown, never an error on a status page
            self._no_footprint.add(spec.id)
            return None

    def while_no_load(self, fn: Callable[[], T]) -> T | None:
        """fn() if no load or move is running (the manager's lock is free), else None at once.

        For sizing on request threads: building a model on the meta device imports diffusers /
        transformers classes for the first time, and their lazy modules are not safe to import
        from two threads at once (CI saw "cannot import name ..." from a load beside a sizing)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return fn()
        finally:
            self._lock.release()

    # --- internals (worker thread, under the lock)

    def _load(self, spec: ModelSpec, placement: Placement) -> Entry:
        fam = self.family(spec)
        fam.ensure_downloaded(spec)
        if placement.device == "cuda":
            placement = replace(placement, device=self.gpu_device)
        quiet_progress_bars()  # the line below says what was loaded and how long it took
        t0 = time.perf_counter()
        model = fam.load(spec, placement)
        ms = (time.perf_counter() - t0) * 1000
        now = self._clock()
        tier = "offloaded" if placement.offload != "none" else "gpu"
        entry = Entry(spec, model, placement, tier, now, now, ms)
        entry.bytes = module_bytes_by_device(model.modules())
        self._entries[spec.id] = entry
        log.info("loaded %s from disk in %.0f ms (%s)", spec.id, ms, _fmt_bytes(entry.bytes))
        return entry

    def _to_ram(self, model_id: str) -> None:
        e = self._entries.get(model_id)
        if e is None or e.tier != "gpu":
            return
        if self.settings.ram_cache_gb <= 0:
            self._drop(model_id)
            return
        try:
            e.model.to("cpu")
        except RuntimeError as exc:  # e.g. bitsandbytes weights some families cannot move
            log.info("drop %s instead of caching it in RAM (%s); its next use reloads it from disk",
                     model_id, _one_line(exc))
            self._drop(model_id)
            return
        e.tier = "ram"
        e.bytes = module_bytes_by_device(e.model.modules())

    def _drop(self, model_id: str) -> bool:
        e = self._entries.pop(model_id, None)
        if e is None:
            return False
        try:
            e.model.close()
        finally:
            del e
        return True

    def _enforce_ram_budget(self) -> None:
        budget = int(self.settings.ram_cache_gb * vp.GiB)
        cached = sorted((e for e in self._entries.values() if e.tier == "ram"), key=lambda e: e.last_used)
        used = sum(sum(e.bytes.values()) for e in cached)
        for e in cached:
            if used <= budget:
                break
            used -= sum(e.bytes.values())
            log.info("drop %s from the RAM cache: over ATELIER_RAM_CACHE_GB", e.spec.id)
            self._drop(e.spec.id)

    def _touch(self, spec: ModelSpec, result: T) -> T:
        e = self._entries.get(spec.id)
        if e is not None:
            e.last_used = self._clock()
            if getattr(e.model, "loras", None) is not None:  # attached LoRA adapters count as its bytes
                e.bytes = module_bytes_by_device(e.model.modules())
        return result

    def _recover(self, spec: ModelSpec) -> list[str]:
        """The OOM recovery steps, in order; returns what was done, for the final message."""
        steps = []
        with self._lock:
            # 1. Free caches: the allocator's cached blocks and any garbage holding tensors.
            _free_caches()
            steps.append("freed the allocator caches")
            # 2. Evict every idle model (everything but the one this job needs) to the RAM cache.
            idle = [mid for mid, e in self._entries.items() if mid != spec.id and e.tier == "gpu"]
            for mid in idle:
                self._to_ram(mid)
            self._enforce_ram_budget()
            _free_caches()
            if idle:
                steps.append(f"evicted {', '.join(idle)}")
            log.warning("OOM recovery: freed caches; evicted %s", ", ".join(idle) or "nothing")
            # 3. Tile the VAE (generation): decode in tiles and one image at a time.
            if spec.kind == "generation":
                self._force_vae_tiling = True
                steps.append("tiled the VAE")
                log.warning("OOM recovery: VAE tiling and slicing on")
            # 4. Drop one mode: the next plan reloads the model with the lower mode's placement.
            mode, _ = self.effective_mode()
            lower = vp.lower_mode(mode) if mode in vp.ORDER else None
            if lower is not None:
                self._oom_floor = lower
                steps.append(f"dropped from {mode} to {lower} mode")
                log.warning("OOM recovery: dropping from %s to %s mode until the next mode switch or idle unload",
                            mode, lower)
        return steps

    def _oom_message(self, spec: ModelSpec, task: vp.Task, steps: list[str]) -> str:
        dev = self.device_info()
        what = f"{task.width}x{task.height}, batch {task.batch}" if spec.kind == "generation" else f"batch {task.batch}"
        done = "; ".join(steps)
        advice = []
        if spec.kind == "generation":
            advice.append("a smaller size (e.g. 768x768) or batch 1")
        if self.configured_mode != "low":
            advice.append('ATELIER_VRAM_MODE=low (or POST /v1/vram/mode {"mode": "low"})')
        advice.append("closing other programs that use the GPU (nvidia-smi lists them)")
        return (f"out of memory running {spec.id} ({what}) on {dev.name} with {_gib(dev.free_bytes)} free of "
                f"{_gib(dev.total_bytes)}, after one retry ({done}). Try " + ", or ".join(advice) + ".")


def default_task(spec: ModelSpec) -> vp.Task:
    if spec.kind == "upscaler":
        tile = vp.UPSCALE_TILE_MAX
        return vp.Task(kind="upscaler", width=tile, height=tile, scale=int(spec.defaults.get("scale", 4)))
    if spec.kind != "generation":  # vision, and kinds the planner places like vision models
        return vp.Task(kind="vision")
    d = spec.defaults
    return vp.Task(kind="generation", width=int(d.get("width", 1024)), height=int(d.get("height", 1024)))


def _free_caches() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _one_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _gib(n: float) -> str:
    return f"{n / vp.GiB:.1f} GiB"


def _fmt_bytes(b: dict[str, int]) -> str:
    return ", ".join(f"{d}: {n / vp.MiB:.0f} MiB" for d, n in b.items()) or "no tensors"
