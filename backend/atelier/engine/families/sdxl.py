"""Stable Diffusion XL: finding, sizing, loading and running SDXL checkpoints.

Three sources, one loader:
- a Hugging Face repo in the local cache (the curated catalog), loaded from its snapshot folder;
- a diffusers directory the user dropped into the models folder;
- a single-file `.safetensors` (how most fine-tunes ship), loaded with
  `from_single_file(config=<local dir>)`: without `config` diffusers always reaches the hub.

`Placement` (decided by the VRAM manager) says dtype, device, NF4, offload and VAE/attention
memory features; `SDXLModel.generate()` runs txt2img, img2img or inpainting on the GPU worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed, ModelNotDownloaded, OutOfMemory
from atelier.engine.base import DownloadRecipe, Family, ModelSpec, Placement, RepoFile
from atelier.engine.families.lora import LoraAdapters, LoraSet
from atelier.engine.hub_cache import cached_snapshot
from atelier.engine.quant import portable_4bit
from atelier.engine.vram.footprint import Footprint, sdxl_footprint

log = logging.getLogger("atelier.sdxl")

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "sdxl"
COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")
# What NF4 quantises is engine/vram/footprint.py's SDXL_QUANTIZED: the UNet and the big OpenCLIP
# encoder (CLIP-L is small; the VAE has no Linear weight to speak of).
GiB = 1024**3
# Repos whose cached tokenizers serve single-file checkpoints (the tokenizers are the same in all SDXL models).
TOKENIZER_REPOS = (
    "stabilityai/stable-diffusion-xl-base-1.0",
    "RunDiffusion/Juggernaut-XL-Lightning",
    "cagliostrolab/animagine-xl-3.1",
    "Lykon/dreamshaper-xl-lightning",
)

# name -> (diffusers scheduler class, config overrides, AUTOMATIC1111 sampler name)
SCHEDULERS: dict[str, tuple[str, dict[str, Any], str]] = {
    "euler": ("EulerDiscreteScheduler", {}, "Euler"),
    "euler_trailing": ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"}, "Euler"),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}, "Euler a"),
    "euler_a_trailing": ("EulerAncestralDiscreteScheduler", {"timestep_spacing": "trailing"}, "Euler a"),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": False}, "DPM++ 2M"),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, "DPM++ 2M Karras"),
    "dpmpp_2m_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}, "DPM++ 2M SDE"),
    "dpmpp_2m_sde_karras": ("DPMSolverMultistepScheduler",
                            {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True}, "DPM++ 2M SDE Karras"),
    "heun": ("HeunDiscreteScheduler", {}, "Heun"),
    "ddim": ("DDIMScheduler", {}, "DDIM"),
    "unipc": ("UniPCMultistepScheduler", {}, "UniPC"),
}


def sampler_name(scheduler: str) -> str:
    return SCHEDULERS[scheduler][2] if scheduler in SCHEDULERS else scheduler


# --------------------------------------------------------------------------- sources

def _hub_source(spec: ModelSpec) -> Path | None:
    """Where a hub model lies in the local cache: its snapshot folder (diffusers layout) or, for
    repos that ship only a single-file checkpoint, that root-level .safetensors. None if not cached."""
    snap = cached_snapshot(spec.source, spec.revision)  # None while a download is incomplete
    if snap is None:
        return None
    if (snap / "model_index.json").exists():
        complete = all((snap / c / "config.json").exists() for c in COMPONENTS)
        return snap if complete and any((snap / "unet").glob("*.safetensors")) else None
    singles = sorted(snap.glob("*.safetensors"), key=lambda f: f.stat().st_size)
    return singles[-1] if singles else None


def _source(spec: ModelSpec) -> Path | None:
    return Path(spec.source) if spec.local else _hub_source(spec)


def _is_single_file(spec: ModelSpec) -> bool:
    src = _source(spec)
    return src is not None and src.suffix == ".safetensors"


def _sidecar_config(file: Path) -> Path | None:
    """`<stem>.config/` next to a single file: configs for a non-standard architecture (the tiny one)."""
    d = file.with_name(file.stem + ".config")
    return d if (d / "model_index.json").exists() else None


_config_lock = threading.Lock()


def _standard_config_dir() -> Path:
    """SDXL's published configs plus cached tokenizers, assembled into one offline config dir."""
    from huggingface_hub import try_to_load_from_cache

    out = Path(tempfile.gettempdir()) / f"atelier-sdxl-config-{os.getuid() if hasattr(os, 'getuid') else 0}"
    with _config_lock:
        if (out / "tokenizer_2" / "vocab.json").exists():
            return out
        for repo in TOKENIZER_REPOS:
            found = {}
            for sub in ("tokenizer", "tokenizer_2"):
                files = {name: try_to_load_from_cache(repo, f"{sub}/{name}")
                         for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")}
                if not all(isinstance(p, str) for p in list(files.values())[:3]):
                    break
                found[sub] = files
            else:
                tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + "."))
                shutil.copytree(CONFIGS, tmp, dirs_exist_ok=True)
                for sub, files in found.items():
                    (tmp / sub).mkdir(exist_ok=True)
                    for name, path in files.items():
                        if isinstance(path, str):
                            shutil.copy(path, tmp / sub / name)
                shutil.rmtree(out, ignore_errors=True)
                tmp.rename(out)
                return out
    raise ModelNotDownloaded(
        "single-file SDXL checkpoints need the SDXL tokenizers, which are not in the Hugging Face cache yet; "
        "fetch them once with: make models MODELS=sdxl-realism",
        param="model",
    )


def _config_dir(spec: ModelSpec, *, for_sizing: bool = False) -> Path:
    src = _source(spec)
    if src is None:
        return CONFIGS  # sizing a model that is not downloaded: SDXL's published architecture
    if src.is_dir():
        return src
    side = _sidecar_config(src)
    if side is not None:
        return side
    return CONFIGS if for_sizing else _standard_config_dir()


# --------------------------------------------------------------------------- NF4 on CPU

@contextlib.contextmanager
def _bnb_quantizer_on_cpu(device: str, single_file: bool):
    """Lets diffusers' bitsandbytes quantizer run where it believes it cannot.

    - On CPU, its `validate_environment` refuses with "No GPU found" although bitsandbytes 0.50
      runs NF4 on CPU: only that one check is skipped.
    - `from_single_file` builds its quantizer as if the checkpoint were already quantized and then
      fails on plain weights: it is built with `pre_quantized=False`, as `from_pretrained` does.
    """
    from diffusers.quantizers import auto
    from diffusers.quantizers.bitsandbytes.bnb_quantizer import BnB4BitDiffusersQuantizer

    orig_validate = BnB4BitDiffusersQuantizer.validate_environment
    orig_from_config = auto.DiffusersAutoQuantizer.__dict__["from_config"]

    def validate(self, *args, **kwargs):
        try:
            return orig_validate(self, *args, **kwargs)
        except RuntimeError as exc:
            if device != "cpu" or "No GPU found" not in str(exc):
                raise

    def from_config(cls, quantization_config, **kwargs):
        return orig_from_config.__func__(cls, quantization_config, **{"pre_quantized": False, **kwargs})

    BnB4BitDiffusersQuantizer.validate_environment = validate
    if single_file:
        auto.DiffusersAutoQuantizer.from_config = classmethod(from_config)
    try:
        yield
    finally:
        BnB4BitDiffusersQuantizer.validate_environment = orig_validate
        auto.DiffusersAutoQuantizer.from_config = orig_from_config


# --------------------------------------------------------------------------- the family

# What a download fetches: the diffusers layout only (`unet/*.safetensors` etc.). A root-level
# single-file checkpoint (many SDXL repos ship one beside the diffusers folders) would duplicate
# ~7 GB, so root *.safetensors are not allowed unless the repo has nothing else (`_single_file_fallback`).
ALLOW = (
    "model_index.json",
    "scheduler/*.json",
    "unet/config.json", "unet/*.safetensors",
    "vae/config.json", "vae/*.safetensors",
    "text_encoder/config.json", "text_encoder/*.safetensors",
    "text_encoder_2/config.json", "text_encoder_2/*.safetensors",
    "tokenizer/*", "tokenizer_2/*",
)
# The disk check's size when the hub will not list file sizes: rounded up from the curated repos.
FALLBACK_BYTES = 14 * GiB


def _single_file_fallback(kept: list[RepoFile], listing: list[RepoFile]) -> list[RepoFile]:
    """A repo with no diffusers layout: its largest root-level .safetensors (a single-file checkpoint)."""
    if any(f.path == "model_index.json" for f in kept):
        return kept
    singles = [f for f in listing if "/" not in f.path and f.path.endswith(".safetensors")]
    return [max(singles, key=lambda f: f.size)] if singles else []


class SDXLFamily(Family):
    name = "sdxl"

    def is_downloaded(self, spec: ModelSpec) -> bool:
        src = _source(spec)
        if src is None:
            return False
        return (src / "model_index.json").exists() if src.is_dir() else src.is_file()

    def download_recipe(self, spec: ModelSpec) -> DownloadRecipe:
        # The app never runs SDXL in fp32 on a GPU and the fp32 copies double the download (~13 GB):
        # keep the fp16 variant where a repo has both (the loader passes variant="fp16" then).
        return DownloadRecipe(ALLOW, prefer_fp16=True, select=_single_file_fallback, fallback_bytes=FALLBACK_BYTES)

    def parts(self, spec: ModelSpec) -> Footprint:
        """SDXL's four parts from the checkpoint's configs (SDXL base's before it is downloaded).
        A single file keeps text_encoder_2 unquantised: the single-file CLIP loader takes no
        quantization_config (TODO(issue 5))."""
        single = _is_single_file(spec)
        cfg = _config_dir(spec, for_sizing=True)
        return sdxl_footprint(None if cfg == CONFIGS else str(cfg), quantize_text_encoder_2=not single)

    def load(self, spec: ModelSpec, placement: Placement) -> SDXLModel:
        self.ensure_downloaded(spec)
        try:
            pipe = self._load_pipeline(spec, placement)
        except (ModelNotDownloaded, OutOfMemory):
            raise
        except torch.OutOfMemoryError as exc:
            raise OutOfMemory(f"out of memory while loading {spec.id!r}: {exc}") from exc
        except Exception as exc:
            log.exception("loading %s failed", spec.id)
            raise ModelLoadFailed(f"could not load {spec.id!r} from {spec.source}: {type(exc).__name__}: {exc}",
                                  param="model") from exc
        return SDXLModel(spec, placement, pipe)

    def _load_pipeline(self, spec: ModelSpec, placement: Placement):
        from diffusers import StableDiffusionXLPipeline

        source = _source(spec)
        assert source is not None
        single = source.suffix == ".safetensors"
        config = _config_dir(spec)
        dtype = placement.dtype
        common: dict[str, Any] = {"torch_dtype": dtype}
        variant = None
        if not single:
            # The downloader keeps only the fp16 files where a repo has both: load those whatever the dtype.
            unet_files = list((source / "unet").glob("*.safetensors"))
            has_fp16 = any(".fp16." in f.name for f in unet_files)
            if has_fp16 and (dtype == torch.float16 or all(".fp16." in f.name for f in unet_files)):
                variant = "fp16"
        parts = self._quantized_parts(spec, source, config, placement, variant) if placement.quant == "nf4" else {}
        if placement.quant not in ("none", "nf4"):
            raise InvalidParameter(f"SDXL supports quantisation 'none' or 'nf4', not {placement.quant!r}")
        if single:
            pipe = StableDiffusionXLPipeline.from_single_file(
                str(source), config=str(config), local_files_only=True, **common, **parts)
        else:
            pipe = StableDiffusionXLPipeline.from_pretrained(
                source, local_files_only=True, variant=variant, use_safetensors=True, **common, **parts)
        self._place(pipe, placement)
        return pipe

    def _quantized_parts(self, spec, source: Path, config: Path, placement: Placement, variant) -> dict[str, Any]:
        from diffusers import BitsAndBytesConfig as DiffusersBnb
        from diffusers import UNet2DConditionModel
        from transformers import BitsAndBytesConfig as TransformersBnb
        from transformers import CLIPTextModelWithProjection

        single = _is_single_file(spec)
        bnb = dict(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=placement.dtype)
        device_map = "cpu" if placement.device == "cpu" else None  # on CUDA the quantizer picks the current device
        parts: dict[str, Any] = {}
        with _bnb_quantizer_on_cpu(placement.device, single):
            if single:
                parts["unet"] = UNet2DConditionModel.from_single_file(
                    str(source), config=str(config), subfolder="unet", local_files_only=True,
                    quantization_config=DiffusersBnb(**bnb), torch_dtype=placement.dtype)
            else:
                parts["unet"] = UNet2DConditionModel.from_pretrained(
                    source, subfolder="unet", variant=variant, local_files_only=True,
                    quantization_config=DiffusersBnb(**bnb), torch_dtype=placement.dtype, device_map=device_map)
        if not single:
            # TODO(issue 5): single files keep text_encoder_2 unquantised (the single-file CLIP loader takes no
            # quantization_config); the estimate above counts it that way.
            parts["text_encoder_2"] = CLIPTextModelWithProjection.from_pretrained(
                source, subfolder="text_encoder_2", variant=variant, local_files_only=True,
                quantization_config=TransformersBnb(**bnb), torch_dtype=placement.dtype,
                device_map={"": placement.device if placement.device != "cuda" else 0})
        for part in parts.values():
            portable_4bit(part)
        return parts

    @staticmethod
    def _place(pipe, placement: Placement) -> None:
        on_accelerator = placement.device != "cpu"
        if placement.offload == "model":
            # Without an accelerator the plain call fails: the CPU form still installs the hooks.
            pipe.enable_model_cpu_offload(device=placement.device if on_accelerator else "cpu")
        elif placement.offload == "sequential":
            if on_accelerator:
                pipe.enable_sequential_cpu_offload(device=placement.device)
            else:
                log.info("sequential offload ignored on CPU: there is no other device to offload from")
        else:
            pipe.to(placement.device)
        if placement.vae_tiling:
            pipe.vae.enable_tiling()
        if placement.vae_slicing:
            pipe.vae.enable_slicing()
        if placement.attention_slicing:
            pipe.enable_attention_slicing()
        pipe.set_progress_bar_config(disable=True)


FAMILY = SDXLFamily()


# --------------------------------------------------------------------------- running

@dataclass
class SDXLRequest:
    """One generation, already validated by the service (sizes, bounds, scheduler name)."""

    prompt: str
    negative_prompt: str = ""
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance_scale: float = 5.0
    seeds: list[int] = field(default_factory=lambda: [random_seed()])
    scheduler: str = "euler"
    image: Image.Image | None = None  # img2img / inpainting source, already at width x height
    mask: Image.Image | None = None  # "L": white = repaint
    strength: float = 0.75
    loras: LoraSet | None = None  # adapters and weights (engine/families/lora.py); None: the bare model

    @property
    def mode(self) -> str:
        return "txt2img" if self.image is None else ("inpaint" if self.mask is not None else "img2img")


def random_seed() -> int:
    return random.randrange(0, 2**32 - 1)


def denoising_steps(steps: int, strength: float, mode: str) -> int:
    """Steps the pipeline really runs: img2img skips the first (1 - strength) of the schedule."""
    return steps if mode == "txt2img" else min(int(steps * strength), steps)


@dataclass
class SDXLResult:
    images: list[Image.Image]
    seeds: list[int]
    steps_run: int


@contextlib.contextmanager
def _cancel_points(pipe, ctx):
    """Checks the job's cancel flag before every block of the UNet and of the VAE (encoder and decoder).

    A step of SDXL at 1280x1280 x 4 takes seconds on a 12 GB card (minutes on a CPU), and a decode
    of four large images as long: checking only at step ends (diffusers' `_interrupt`) lets a
    cancelled job run a whole step and then decode. A forward pre-hook raises `Cancelled` at the next
    block instead. The UNet's first call also reports step 0: denoising has begun (the prompt is
    encoded, the source image too for img2img), which before said nothing until the first step ended.
    """
    if ctx is None:
        yield
        return
    started = False

    def check(module, args):
        ctx.raise_if_cancelled()

    def first_step(module, args):
        nonlocal started
        ctx.raise_if_cancelled()
        if not started:
            started = True
            ctx.emit("step", step=0, total=pipe.num_timesteps)

    unet, vae = pipe.unet, pipe.vae
    blocks = [*unet.down_blocks, unet.mid_block, *unet.up_blocks,
              *vae.encoder.down_blocks, vae.encoder.mid_block, *vae.decoder.up_blocks, vae.decoder.mid_block]
    handles = [b.register_forward_pre_hook(check) for b in blocks if b is not None]
    handles.append(unet.register_forward_pre_hook(first_step))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class SDXLModel:
    """A loaded SDXL checkpoint: one txt2img pipeline and img2img/inpaint views sharing its modules."""

    def __init__(self, spec: ModelSpec, placement: Placement, pipe):
        from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline

        self.spec = spec
        self.placement = placement
        self.pipe = pipe
        # from_pipe shares the modules (no copy): three entry points, one set of weights. torch_dtype=None:
        # its default (float32) would cast the shared modules in place (float16 SDXL silently becomes float32;
        # with NF4 the VAE and CLIP-L become float32 beside a float16 UNet and decoding fails).
        self.img2img = StableDiffusionXLImg2ImgPipeline.from_pipe(pipe, torch_dtype=None)
        self.inpaint = StableDiffusionXLInpaintPipeline.from_pipe(pipe, torch_dtype=None)
        for p in (self.img2img, self.inpaint):
            p.set_progress_bar_config(disable=True)
        self._scheduler_config = dict(pipe.scheduler.config)
        self._schedulers: dict[str, Any] = {}
        self.loras = LoraAdapters(pipe)  # attached on the shared modules, so the three views share them

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        return {name: getattr(self.pipe, name) for name in COMPONENTS if getattr(self.pipe, name, None) is not None}

    def to(self, device: str) -> None:
        if self.placement.offload != "none":
            self.pipe.remove_all_hooks()
        for module in self.modules().values():
            module.to(device)  # bitsandbytes' Params4bit move with their quant state
        self.placement = Placement(**{**self.placement.__dict__, "device": device, "offload": "none"})

    def configure(self, placement: Placement) -> None:
        """Switch VAE tiling/slicing in place (the manager's Reconfigurable hook, used by OOM recovery)."""
        vae = self.pipe.vae
        vae.enable_tiling() if placement.vae_tiling else vae.disable_tiling()
        vae.enable_slicing() if placement.vae_slicing else vae.disable_slicing()
        self.placement = Placement(**{**self.placement.__dict__, "vae_tiling": placement.vae_tiling,
                                      "vae_slicing": placement.vae_slicing})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pipe.remove_all_hooks()
        self.pipe = self.img2img = self.inpaint = self.loras = None  # type: ignore[assignment]
        self._schedulers.clear()

    # --- generation
    def scheduler(self, name: str):
        if name not in SCHEDULERS:
            raise InvalidParameter(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULERS)}",
                                   param="scheduler")
        if name not in self._schedulers:
            import diffusers

            cls_name, overrides, _ = SCHEDULERS[name]
            cls = getattr(diffusers, cls_name)
            self._schedulers[name] = cls.from_config({**self._scheduler_config, **overrides})
        return self._schedulers[name]

    def generate(self, req: SDXLRequest, ctx=None) -> SDXLResult:
        """Runs one request on the calling (GPU worker) thread; raises Cancelled if ctx is cancelled."""
        # 1. Pick the pipeline for the mode and give it the requested scheduler.
        pipe = {"txt2img": self.pipe, "img2img": self.img2img, "inpaint": self.inpaint}[req.mode]
        pipe.scheduler = self.scheduler(req.scheduler)
        self.loras.apply(req.loras)  # attach (first use), select with weights, or disable: never fused

        # 2. One CPU generator per image: image i is reproducible from seeds[i] alone, on any device.
        generators = [torch.Generator("cpu").manual_seed(s) for s in req.seeds]

        # 3. Progress at every step. Cancellation is checked between the UNet's and the VAE's blocks
        #    (`_cancel_points`), so a cancelled job stops within a fraction of a step or of one image's
        #    decode, and at every step end: raising there skips the decode of an image nobody wants.
        def on_step_end(p, i, t, kwargs):
            total = p.num_timesteps
            if ctx is not None:
                ctx.emit("step", step=i + 1, total=total)
                ctx.raise_if_cancelled()
                if i + 1 == total:
                    ctx.emit("decoding")
            return kwargs

        args: dict[str, Any] = dict(
            prompt=req.prompt, negative_prompt=req.negative_prompt or None, num_inference_steps=req.steps,
            guidance_scale=req.guidance_scale, num_images_per_prompt=len(req.seeds), generator=generators,
            width=req.width, height=req.height, callback_on_step_end=on_step_end,
        )
        if req.mode != "txt2img":
            args.update(image=req.image, strength=req.strength)
        if req.mode == "inpaint":
            args.update(mask_image=req.mask)

        # 4. Run. A cancelled run leaves by an exception from inside the pipeline: it is caught here and
        #    raised again afresh, so that no traceback keeps the pipeline's latents (GPU memory) alive in
        #    the finished job, and offloaded modules go back to the CPU as a finished call leaves them.
        cancelled = False
        try:
            with torch.inference_mode(), _cancel_points(pipe, ctx):
                out = pipe(**args)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemory(
                f"out of memory generating {len(req.seeds)} x {req.width}x{req.height}: lower n or the size, "
                "or set ATELIER_VRAM_MODE=low") from exc
        except Cancelled:
            cancelled = True
        if cancelled or (ctx is not None and ctx.cancelled):
            if self.placement.offload != "none":
                with contextlib.suppress(Exception):
                    pipe.maybe_free_model_hooks()
            raise Cancelled("the job was cancelled while running; no image was kept")
        return SDXLResult(images=list(out.images), seeds=list(req.seeds),
                          steps_run=denoising_steps(req.steps, req.strength, req.mode))
