"""Contracts between the model families, the model manager and the services.

A *family* (one file per family under `engine/families/`: sdxl, moondream, vlm) knows how to
find, size and load one kind of checkpoint. A *loaded model* is what the manager keeps, moves
between devices and evicts; services call the family-specific methods on it (generate,
caption, chat...). Only the GPU worker thread touches loaded models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import torch

if TYPE_CHECKING:
    from atelier.engine.vram.footprint import Footprint
    from atelier.engine.vram.planner import DeviceInfo, ModelLimits

# "generation", "vision", "embeddings" and "upscaler" today; a new family may bring its own kind (the planner places an unknown
# kind as it places vision models).
Kind = str
Quant = Literal["none", "nf4", "int8"]


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: a model a user can ask for by id or alias."""

    id: str
    kind: Kind
    family: str  # a registered Family's name (engine/families/)
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


@dataclass(frozen=True)
class RepoFile:
    """One file of a hub repo listing."""

    path: str
    size: int
    blob: str | None = None  # the cache's blob name (sha256 for LFS files, git blob id otherwise)


@dataclass(frozen=True)
class ExtraRepo:
    """Another hub repo a loader reads by name (Moondream's code loads its tokenizer repo itself),
    pinned, fetched with the model and loaded from the cache only."""

    repo: str
    revision: str
    allow: tuple[str, ...] = ("*.json", "*.txt", "*.model")


@dataclass(frozen=True)
class DownloadRecipe:
    """What the downloader fetches for one catalog model: the family's knowledge, the downloader's work.

    allow: fnmatch patterns (`*` also matches `/`) for the files of the model's own repo its loader
    reads. prefer_fp16: where a file ships as `x.safetensors` and `x.fp16.safetensors`, keep only
    the fp16 one. select: a last say over the kept files, given (kept, whole listing); SDXL takes a
    repo's single-file checkpoint when it has no diffusers layout. fallback_bytes: a conservative
    size for the disk check when the hub answers but will not list file sizes."""

    allow: tuple[str, ...]
    extra_repos: tuple[ExtraRepo, ...] = ()
    prefer_fp16: bool = False
    select: Callable[[list[RepoFile], list[RepoFile]], list[RepoFile]] | None = None
    fallback_bytes: int = 15 * 1024**3


def not_downloaded_message(model_id: str) -> str:
    """The one wording of "not downloaded": every error, /v1/status and so the UI say this."""
    return (f"model {model_id!r} is not downloaded: press Download next to it on the Status page, "
            f"or run: make models MODELS={model_id}")


class Family:
    """Everything Atelier knows about one kind of checkpoint, in one object (one file per family
    under `engine/families/`). The manager, the planner, `/v1/models`, `/v1/status`, the
    downloader and the services ask the family; none of them switches on family names.

    A family overrides `is_downloaded`, `load` and one of `parts` (per-component sizes: lets the
    planner offload part by part and quantise only what the family quantises) or `footprint`
    (total bytes for a placement: the planner then sees one part). Everything else has a default.
    """

    name: str = ""
    # Optional skills the services ask about: vision families that answer only about an image
    # (`requires_image`) or can return boxes (`detects`).
    requires_image: bool = False
    detects: bool = False

    # --- on disk
    def is_downloaded(self, spec: ModelSpec) -> bool:
        raise NotImplementedError

    def download_hint(self, spec: ModelSpec) -> str:
        """The command a user runs to fetch the weights."""
        return f"make models MODELS={spec.id}"

    def not_downloaded_message(self, spec: ModelSpec) -> str:
        return not_downloaded_message(spec.id)

    def ensure_downloaded(self, spec: ModelSpec) -> None:
        """Raise the one "not downloaded" error (409, naming the command) unless the weights are here."""
        from atelier.core.errors import ModelNotDownloaded

        try:
            ok = self.is_downloaded(spec)
        except Exception:  # noqa: BLE001 - a broken cache entry is not downloaded
            ok = False
        if not ok:
            raise ModelNotDownloaded(self.not_downloaded_message(spec), param="model")

    def download_recipe(self, spec: ModelSpec) -> DownloadRecipe | None:
        """What to fetch from the hub; None: this family has nothing to download."""
        return None

    # --- sizes (one formula: engine/vram/footprint.py's Component.bytes)
    def parts(self, spec: ModelSpec) -> Footprint:
        """The model's parts as parameter counts by layer type, from its configs."""
        if type(self).footprint is Family.footprint:
            raise NotImplementedError(f"family {self.name!r} defines neither parts() nor footprint()")
        from atelier.engine.vram.footprint import Component, Footprint

        n = self.footprint(spec, Placement(device="cuda", dtype=torch.float16))
        return Footprint((Component("model", 0, 0, n // 2, n // 2, False),), source=f"{self.name} family")

    def footprint(self, spec: ModelSpec, placement: Placement) -> int:
        """Bytes on the placement's device once loaded with `placement` (under offload: what sits
        there at once). The planner, `/v1/models` `size_bytes` and `/v1/status` all read this."""
        return self.parts(spec).gpu_bytes(placement.dtype, placement.quant, placement.offload)

    def download_bytes(self, spec: ModelSpec) -> int | None:
        """About what a download fetches: the parameters in 16 bits, as hub safetensors hold them."""
        fp = self.parts(spec)
        return fp.params * 2 if fp.components else None

    def limits(self, spec: ModelSpec, device: DeviceInfo) -> ModelLimits | None:
        """What the model's code can run as, where it is narrower than the planner's ladders."""
        return None

    # --- requests
    def defaults(self, spec: ModelSpec) -> dict[str, Any]:
        """Request defaults for this model (steps, size, scheduler...), shown on `/v1/models`."""
        return dict(spec.defaults)

    def load(self, spec: ModelSpec, placement: Placement) -> LoadedModel:
        raise NotImplementedError
