"""Model lifecycle: which models are loaded, where, and for how long.

INTERIM minimal version (one model resident at a time, fp32 on CPU / fp16 on CUDA). The VRAM
manager issue replaces the placement policy with the planner; the interface below is what the
services use and stays stable: acquire() / unload() / evict_expired() / status().
Only the GPU worker thread calls acquire() and unload().
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from atelier.core.config import Settings
from atelier.core.errors import ModelNotDownloaded
from atelier.engine.base import Family, LoadedModel, ModelSpec, Placement, module_bytes_by_device
from atelier.engine.catalog import Catalog

log = logging.getLogger("atelier.manager")


def pick_device(settings: Settings) -> str:
    if settings.device == "cpu":
        return "cpu"
    if settings.device == "cuda" or torch.cuda.is_available():
        return "cuda"
    return "cpu"


@dataclass
class Entry:
    model: LoadedModel
    loaded_at: float
    last_used: float
    load_ms: float


class ModelManager:
    def __init__(self, settings: Settings, catalog: Catalog, families: dict[str, Family]):
        self.settings = settings
        self.catalog = catalog
        self.families = families
        self.device = pick_device(settings)
        self._loaded: dict[str, Entry] = {}
        self._lock = threading.RLock()

    def family(self, spec: ModelSpec) -> Family:
        return self.families[spec.family]

    def placement_for(self, spec: ModelSpec) -> Placement:
        if self.device == "cuda":
            return Placement(device="cuda", dtype=torch.float16)
        return Placement(device="cpu", dtype=torch.float32)

    def acquire(self, spec: ModelSpec) -> tuple[LoadedModel, float]:
        """The loaded model for `spec`, loading it (and evicting others) if needed.

        Returns the model and the milliseconds spent loading (0 when it was resident)."""
        with self._lock:
            entry = self._loaded.get(spec.id)
            if entry is not None:
                entry.last_used = time.time()
                return entry.model, 0.0
            fam = self.family(spec)
            if not fam.is_downloaded(spec):
                raise ModelNotDownloaded(
                    f"model {spec.id!r} is not downloaded; fetch it with: {fam.download_hint(spec)}",
                    param="model",
                )
            for other in list(self._loaded):
                self.unload(other)
            t0 = time.perf_counter()
            model = fam.load(spec, self.placement_for(spec))
            ms = (time.perf_counter() - t0) * 1000
            now = time.time()
            self._loaded[spec.id] = Entry(model, now, now, ms)
            log.info("loaded %s on %s in %.0f ms", spec.id, self.device, ms)
            return model, ms

    def unload(self, model_id: str | None = None) -> list[str]:
        with self._lock:
            ids = [model_id] if model_id else list(self._loaded)
            done = []
            for mid in ids:
                entry = self._loaded.pop(mid, None)
                if entry is not None:
                    entry.model.close()
                    done.append(mid)
            if done:
                gc.collect()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            return done

    def evict_expired(self) -> None:
        ttl = self.settings.model_ttl
        if ttl <= 0:
            return
        now = time.time()
        for mid, entry in list(self._loaded.items()):
            if now - entry.last_used > ttl:
                log.info("unloading %s: idle for %.0f s (ATELIER_MODEL_TTL=%g)", mid, now - entry.last_used, ttl)
                self.unload(mid)

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._loaded

    def status(self) -> dict[str, Any]:
        models = []
        for spec in self.catalog.all():
            entry = self._loaded.get(spec.id)
            fam = self.families.get(spec.family)
            downloaded = bool(fam and fam.is_downloaded(spec))
            row: dict[str, Any] = {
                "id": spec.id,
                "kind": spec.kind,
                "state": ("on_gpu" if self.device == "cuda" else "in_ram") if entry else
                         ("on_disk" if downloaded else "not_downloaded"),
            }
            if entry:
                row["bytes"] = module_bytes_by_device(entry.model.modules())
                row["last_used"] = entry.last_used
                row["expires_at"] = entry.last_used + self.settings.model_ttl if self.settings.model_ttl > 0 else None
            models.append(row)
        return {"device": self.device, "models": models}
