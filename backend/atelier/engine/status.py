"""What `/v1/status` and `/v1/models` say about the models: the manager's state, presented.

The manager decides (engine/manager.py); this module only reads it and the families' answers
(downloaded? how big? how to fetch?) and lays them out. Sizes are the family's one formula
(`Family.footprint`), the planner's own numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from atelier.engine.base import ModelSpec, Placement
from atelier.engine.hub_cache import partial_progress
from atelier.engine.vram import planner as vp

if TYPE_CHECKING:
    from atelier.engine.manager import ModelManager

STATES = {"gpu": "on_gpu", "offloaded": "offloaded", "ram": "in_ram"}
# How /v1/models quotes a model's size: its weights in fp16, not quantised, all on one device.
SIZE_PLACEMENT = Placement(device="cuda", dtype=torch.float16)


def placement_dict(p: Placement) -> dict[str, Any]:
    return {"device": p.device, "dtype": str(p.dtype).removeprefix("torch."), "quantization": p.quant,
            "offload": p.offload, "vae_tiling": p.vae_tiling, "vae_slicing": p.vae_slicing}


def size_bytes(manager: ModelManager, spec: ModelSpec) -> int | None:
    """`/v1/models` `size_bytes`: the family's footprint at fp16; None until it can be sized."""
    fam = manager.families.get(spec.family)
    if fam is None or manager.sized(spec) is None:
        return None
    try:  # sized only while no model loads (see ModelManager.while_no_load); unknown meanwhile
        n = manager.while_no_load(lambda: fam.footprint(spec, SIZE_PLACEMENT))
    except Exception:  # noqa: BLE001 - unknown, not an error
        return None
    return None if n is None else int(n)


def planned(manager: ModelManager, spec: ModelSpec) -> dict[str, Any] | None:
    """How the planner would place a model that is not loaded, in the current mode, with its sizes
    from configs: what loading it will cost before anyone loads it."""
    if manager.sized(spec) is None:
        return None
    try:
        p = manager.plan_for(spec)
    except Exception:  # noqa: BLE001 - a status page must not fail on one model's configs
        return None
    return {**placement_dict(p.placement), "gpu_bytes": p.model_gpu_bytes, "ram_bytes": p.model_ram_bytes,
            "fits": p.fits}


def download_bytes(manager: ModelManager, spec: ModelSpec) -> int | None:
    """About what a download fetches (the family's `download_bytes`); None until sized."""
    fam = manager.families.get(spec.family)
    if fam is None or manager.sized(spec) is None:
        return None
    try:
        return fam.download_bytes(spec)
    except Exception:  # noqa: BLE001
        return None


def model_row(manager: ModelManager, spec: ModelSpec, entry: Any, device_type: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": spec.id, "kind": spec.kind, "family": spec.family}
    ttl = manager.settings.model_ttl
    if entry is None:
        downloaded = manager.is_downloaded(spec)
        row.update(state="on_disk" if downloaded else "not_downloaded", dtype=None, quantization=None,
                   offload=None, bytes={}, last_used=None, expires_at=None, planned=planned(manager, spec),
                   # an interrupted download (bytes_done, bytes_total): the Download button resumes it
                   partial_download=None if downloaded or spec.local else partial_progress(spec.source, spec.revision))
        if not downloaded:
            fam = manager.families.get(spec.family)
            hint = fam.not_downloaded_message(spec) if fam is not None else None
            row.update(download_bytes=download_bytes(manager, spec), download_hint=hint)
        return row
    state = STATES[entry.tier]
    if device_type == "cpu" and entry.tier == "gpu":
        state = "in_ram"  # no GPU: loaded models live in RAM
    row.update(state=state, dtype=str(entry.placement.dtype).removeprefix("torch."),
               quantization=entry.placement.quant, offload=entry.placement.offload,
               vae_tiling=entry.placement.vae_tiling, bytes=dict(entry.bytes), last_used=entry.last_used,
               expires_at=entry.last_used + ttl if ttl > 0 else None, load_ms=round(entry.load_ms, 1))
    adapters = getattr(entry.model, "loras", None)  # LoRAs attached to it (engine/families/lora.py)
    if adapters is not None:
        row["loras"] = adapters.status()
    return row


def manager_status(manager: ModelManager) -> dict[str, Any]:
    dev = manager.device_info()
    entries = manager.entries()
    used_ours = sum(n for e in entries.values() for d, n in e.bytes.items() if d.startswith("cuda"))
    effective, why = manager.effective_mode()
    models = [model_row(manager, spec, entries.get(spec.id), dev.type) for spec in manager.catalog.all()]
    ram_cached = sum(sum(e.bytes.values()) for e in entries.values() if e.tier in ("ram", "offloaded"))
    return {
        "device": {"type": dev.type, "name": dev.name, "total_bytes": dev.total_bytes,
                   "free_bytes": dev.free_bytes, "used_bytes": dev.total_bytes - dev.free_bytes,
                   "used_by_models_bytes": used_ours},
        "mode": {"configured": manager.configured_mode, "effective": effective, "reason": why,
                 "pending": manager.pending_mode},
        "ram_cache": {"budget_bytes": int(manager.settings.ram_cache_gb * vp.GiB), "used_bytes": ram_cached},
        "model_ttl": manager.settings.model_ttl,
        "models": models,
        "last_plan": list(manager.last_plan),
    }
