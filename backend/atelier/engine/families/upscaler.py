"""Upscalers: Real-ESRGAN and the other permissively licensed architectures spandrel knows.

One file holds everything about the family (finding, sizing, downloading, loading, running):

- sources: a hub repo's single `.safetensors` (the catalog names the file in `defaults["file"]`), a
  `.safetensors` the user dropped into the models folder, or the tiny random ESRGAN built by
  `engine/tiny_upscaler.py`. Only `.safetensors`: spandrel would also unpickle `.pth`/`.ckpt`, which
  can run code, and its `spandrel_extra_arches` (non-commercial licences) is never installed;
- sizing: the parameters counted from the safetensors header (no weight read), or the catalog's
  `defaults["params"]` before a download;
- running: `UpscalerModel.upscale()` cuts the image into tiles (`engine/tiles.py`, the size from
  the planner's `upscale_tile`), runs each through the model and blends them with feathered
  overlaps. Cancel is checked before every convolution, so a cancelled job stops within a layer,
  and between tiles, where each tile also reports progress.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed, ModelNotDownloaded, OutOfMemory
from atelier.engine.base import ModelSpec, Placement
from atelier.engine.hub_cache import cached_snapshot
from atelier.engine.tiles import Canvas, Tile, grid, to_array
from atelier.engine.vram.footprint import Component, Footprint

log = logging.getLogger("atelier.upscaler")

DEFAULT_OVERLAP = 16  # input px shared by neighbouring tiles (x4: 64 output px of blending)
FALLBACK_DOWNLOAD_BYTES = 128 * 1024**2


# --------------------------------------------------------------------------- sources

def _source(spec: ModelSpec) -> Path | None:
    """The .safetensors file of an upscaler, or None while it is not downloaded."""
    if spec.local:
        return Path(spec.source)
    snap = cached_snapshot(spec.source, spec.revision)
    if snap is None:
        return None
    f = snap / spec.defaults["file"]
    return f if f.is_file() else None


def _meta_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors as shapes on the meta device: enough for spandrel's detection, no weight read."""
    from safetensors import safe_open

    out = {}
    with safe_open(str(path), framework="pt") as f:
        for k in f.keys():
            out[k] = torch.empty(f.get_slice(k).get_shape(), device="meta")
    return out


def detect(path: Path) -> str | None:
    """The spandrel architecture of a `.safetensors` file, if it is a single-image upscaler; None if not
    (an SDXL checkpoint, a LoRA, a corrupt file). Reads the header only."""
    try:
        import spandrel

        sd = spandrel.canonicalize_state_dict(_meta_state_dict(path))
        for support in spandrel.MAIN_REGISTRY.architectures("detection"):
            if support.detect(sd):
                return str(support.architecture.name)
    except Exception as exc:  # noqa: BLE001 - a folder scan must not fail on one file
        log.info("%s: not an upscaler (%s)", path, exc)
    return None


@lru_cache(maxsize=64)
def _param_count(path: str, mtime: float) -> int:
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        return sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys())


# --------------------------------------------------------------------------- the family

class UpscalerFamily:
    name = "upscaler"

    # --- what the family knows about a catalog entry (issue 17's Family contract, by name)
    def defaults(self, spec: ModelSpec) -> dict[str, Any]:
        return {"scale": 4, "overlap": DEFAULT_OVERLAP, **spec.defaults}

    def download_recipe(self, spec: ModelSpec) -> dict[str, Any]:
        """What the downloader fetches of the repo: the one file the catalog names."""
        return {"allow": [spec.defaults["file"]], "fallback_bytes": FALLBACK_DOWNLOAD_BYTES}

    def is_downloaded(self, spec: ModelSpec) -> bool:
        src = _source(spec)
        return src is not None and src.is_file()

    def ensure_downloaded(self, spec: ModelSpec) -> Path:
        src = _source(spec)
        if src is None or not src.is_file():
            raise ModelNotDownloaded.for_model(spec.id)
        return src

    def download_hint(self, spec: ModelSpec) -> str:
        return f"make models MODELS={spec.id}"

    def footprint(self, spec: ModelSpec) -> Footprint:
        """One part, nothing quantisable (convolutions): counted from the header, or the catalog's figure."""
        src = _source(spec)
        if src is not None and src.is_file():
            params, source = _param_count(str(src), src.stat().st_mtime), f"{src.name} header"
        else:
            params, source = int(spec.defaults.get("params", 16_700_000)), "catalog"
        return Footprint((Component("model", 0, 0, params, params, False),), source=source)

    def estimate_bytes(self, spec: ModelSpec, placement: Placement) -> int:
        return self.footprint(spec).total_bytes(placement.dtype)

    def limits(self, spec: ModelSpec, device) -> Any:  # noqa: ANN001 - vp.DeviceInfo
        from atelier.engine.vram.planner import ModelLimits

        return ModelLimits(offloads=frozenset({"none"}),
                           offload_reason="an upscaler is tens of MB: its tiles shrink instead")

    def load(self, spec: ModelSpec, placement: Placement) -> UpscalerModel:
        path = self.ensure_downloaded(spec)
        if path.suffix.lower() != ".safetensors":
            raise InvalidParameter(f"upscalers load from .safetensors only, got {path.name}", param="model")
        try:
            import spandrel

            desc = spandrel.ModelLoader("cpu").load_from_file(str(path))
        except Exception as exc:
            raise ModelLoadFailed(f"could not load upscaler {spec.id!r} from {path.name}: {type(exc).__name__}: {exc}",
                                  param="model") from exc
        if not isinstance(desc, spandrel.ImageModelDescriptor) or desc.purpose not in ("SR", "Restoration"):
            raise ModelLoadFailed(f"{path.name} is a {desc.architecture.name} model for {desc.purpose}, "
                                  "not an image upscaler", param="model")
        dtype = placement.dtype
        if dtype == torch.float16 and not desc.supports_half:
            dtype = torch.bfloat16 if desc.supports_bfloat16 else torch.float32
        try:
            desc.to(placement.device).to(dtype).eval()
        except torch.OutOfMemoryError as exc:
            raise OutOfMemory(f"out of memory while loading {spec.id!r}: {exc}") from exc
        log.info("%s: %s, x%d, %s on %s", spec.id, desc.architecture.name, desc.scale, dtype, placement.device)
        return UpscalerModel(spec, Placement(**{**placement.__dict__, "dtype": dtype}), desc)


FAMILY = UpscalerFamily()


# --------------------------------------------------------------------------- running

@dataclass
class UpscaleResult:
    image: Image.Image
    tiles: int
    tile: int  # input px per side
    model_scale: int
    pixels: np.ndarray | None = None  # the blended float output before 8-bit rounding (keep_float=True)


@contextlib.contextmanager
def _cancel_points(model: torch.nn.Module, ctx):
    """Cancel checked before every convolution: a tile of a 23-block ESRGAN is ~350 of them."""
    if ctx is None:
        yield
        return

    def check(module, args):
        ctx.raise_if_cancelled()

    handles = [m.register_forward_pre_hook(check) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class UpscalerModel:
    def __init__(self, spec: ModelSpec, placement: Placement, descriptor):
        self.spec = spec
        self.placement = placement
        self.descriptor = descriptor

    @property
    def scale(self) -> int:
        return int(self.descriptor.scale)

    @property
    def architecture(self) -> str:
        return str(self.descriptor.architecture.name)

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        return {"model": self.descriptor.model}

    def to(self, device: str) -> None:
        self.descriptor.to(device)
        self.placement = Placement(**{**self.placement.__dict__, "device": device})

    def close(self) -> None:
        self.descriptor = None

    # --- running
    def run_tile(self, pixels: np.ndarray) -> np.ndarray:
        """One tile (h, w, 3 float32 0-1) through the model: (h*s, w*s, 3)."""
        dev = next(self.descriptor.model.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None].to(dev, self.descriptor.dtype)
        y = self.descriptor(x)
        return y[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()

    def upscale(self, image: Image.Image, *, tile: int, overlap: int = DEFAULT_OVERLAP, ctx=None,
                stage: str = "upscale", keep_float: bool = False) -> UpscaleResult:
        """The image at the model's scale, in tiles of at most `tile` input px with feathered overlaps.
        Emits `tile` events (stage, tile i of n) and raises Cancelled between and inside tiles."""
        src = to_array(image)
        h, w = src.shape[:2]
        s = self.scale
        overlap = min(overlap, max(0, tile // 2 - 1))
        tiles = grid(w, h, tile, overlap)
        canvas = Canvas(w * s, h * s)
        try:
            with torch.inference_mode(), _cancel_points(self.descriptor.model, ctx):
                for i, t in enumerate(tiles):
                    if ctx is not None:
                        ctx.raise_if_cancelled()
                        ctx.emit("tile", stage=stage, tile=i, tiles=len(tiles))
                    out = self.run_tile(src[t.y0:t.y1, t.x0:t.x1])
                    canvas.add(t.scaled(s), out, overlap * s)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemory(f"out of memory upscaling a {tile} px tile of {w}x{h}: set ATELIER_VRAM_MODE=low "
                              "or close other GPU programs") from exc
        except Cancelled:
            raise Cancelled("the job was cancelled while upscaling; no image was kept") from None
        if ctx is not None:
            ctx.emit("tile", stage=stage, tile=len(tiles), tiles=len(tiles))
        return UpscaleResult(canvas.image(), len(tiles), tile, s, canvas.pixels() if keep_float else None)


def whole(model: UpscalerModel, image: Image.Image) -> Image.Image:
    """The image through the model in one piece (tests and the bench compare tiles against it)."""
    with torch.inference_mode():
        out = model.run_tile(to_array(image))
    return Image.fromarray(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")


__all__ = ["FAMILY", "DEFAULT_OVERLAP", "Tile", "UpscaleResult", "UpscalerFamily", "UpscalerModel", "detect", "whole"]
