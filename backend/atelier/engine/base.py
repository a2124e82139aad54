"""Contracts between the model families, the model manager and the services.

A *family* (one file per family under `engine/families/`: sdxl, moondream, vlm) knows how to
find, size and load one kind of checkpoint. A *loaded model* is what the manager keeps, moves
between devices and evicts; services call the family-specific methods on it (generate,
caption, chat...). Only the GPU worker thread touches loaded models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch

Kind = Literal["generation", "vision", "upscaler", "embeddings"]
Quant = Literal["none", "nf4", "int8"]


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: a model a user can ask for by id or alias."""

    id: str
    kind: Kind
    family: str  # "sdxl" | "moondream" | "vlm" | "siglip"
    source: str  # a Hugging Face repo id, or a local path (directory or .safetensors file)
    revision: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    local: bool = False  # source is a path on disk (user-dropped or tiny), not a hub repo
    trust_remote_code: bool = False
    created: int = 0
    # Other hub repos the loader reads by name (Moondream's code loads its tokenizer repo itself),
    # each pinned: (repo, revision). Downloaded with the model, loaded from the cache only.
    extra_repos: tuple[tuple[str, str], ...] = ()


@dataclass
class Placement:
    """How the manager wants a model loaded: decided by the VRAM planner."""

    device: str = "cpu"  # "cpu" | "cuda"
    dtype: torch.dtype = torch.float32
    quant: Quant = "none"
    # "none": everything on `device`; "model": accelerate model CPU offload (whole
    # sub-models moved in and out); "sequential": layer by layer (smallest cards).
    offload: Literal["none", "model", "sequential"] = "none"
    vae_tiling: bool = False
    vae_slicing: bool = False
    attention_slicing: bool = False


def module_bytes_by_device(modules: dict[str, torch.nn.Module]) -> dict[str, int]:
    """Bytes of parameters and buffers resident on each device (e.g. {"cpu": 1234, "cuda:0": 0})."""
    out: dict[str, int] = {}
    seen: set[int] = set()
    for mod in modules.values():
        if mod is None:
            continue
        for t in list(mod.parameters()) + list(mod.buffers()):
            key = id(t)
            if key in seen:
                continue
            seen.add(key)
            dev = str(t.device)
            out[dev] = out.get(dev, 0) + t.numel() * t.element_size()
    return out


class LoadedModel(Protocol):
    spec: ModelSpec
    placement: Placement

    def modules(self) -> dict[str, torch.nn.Module]:
        """The torch modules this model holds (for sizing and moving)."""
        ...

    def to(self, device: str) -> None:
        """Move every module to `device` (the RAM cache tier is "cpu")."""
        ...

    def close(self) -> None:
        """Drop references so the memory can be freed."""
        ...


class Family(Protocol):
    name: str

    def is_downloaded(self, spec: ModelSpec) -> bool: ...

    def download_hint(self, spec: ModelSpec) -> str:
        """The command a user runs to fetch the weights."""
        ...

    def estimate_bytes(self, spec: ModelSpec, placement: Placement) -> int:
        """Bytes the model occupies once loaded with `placement`, computed from its configs."""
        ...

    def load(self, spec: ModelSpec, placement: Placement) -> LoadedModel: ...
