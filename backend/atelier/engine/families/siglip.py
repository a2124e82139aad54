"""SigLIP / SigLIP 2 image-text embeddings (search by meaning, find similar): one vector space
for images and text, so a typed query and an image can be compared by cosine.

The catalog serves SigLIP 2 base (`google/siglip2-base-patch16-224`, Apache-2.0, pinned). Its
fixed-resolution checkpoints are SigLIP v1 architecture (`model_type: siglip`), loaded with
transformers' `AutoModel` + `AutoImageProcessor` + `AutoTokenizer` (NaFlex checkpoints load through
the same calls: the image processor's outputs go to the model as they are).

Where the towers live: the image tower is placed by the VRAM planner (the GPU, in fp16); the text
tower always stays in RAM in float32. A text query is one short sequence (64 tokens), tens of ms
on a CPU, and this way it never waits for the GPU worker: `embed_texts` may run on any thread
while the worker runs an SDXL job (the text tower has its own lock; the manager's `close()`
takes it too, so a model is never dropped mid-query). The footprint the planner sees is the image
tower's (what sits on the GPU).

Text as SigLIP 2 was trained (big_vision; transformers' later `Siglip2Tokenizer` enforces the same):
lowercased, padded to 64 tokens with the pad token, the pooled output read at the last position.
A text past 64 tokens is refused (400 naming the input), not truncated: a search box says so,
and a caller who wants truncation can cut the text. Vectors come back L2-normalised, float32.
"""

from __future__ import annotations

import gc
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed, ModelNotDownloaded
from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.hub_cache import cached_snapshot
from atelier.engine.vram.footprint import Footprint, footprint_from_modules
from atelier.engine.vram.planner import MiB, DeviceInfo, ModelLimits

log = logging.getLogger("atelier.siglip")

# What the loader reads from a checkpoint repo (configs, safetensors, the tokenizer in any of its forms).
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt"]
# SigLIP 2 base's config.json at the pinned revision: every other value is SiglipConfig's default
# (ViT-B/16 at 224, text 12 x 768, 64 positions). Sizes the model before it is downloaded.
SIGLIP2_BASE_CONFIG: dict[str, Any] = {"model_type": "siglip", "text_config": {"vocab_size": 256000},
                                       "vision_config": {}}
# Images per forward pass of the image tower: a batch of thumbnails from the browser's lane.
IMAGE_CHUNK = 16
# Working memory per image in a forward pass: ViT-B/16 at 224 px is 197 tokens x 768 (a few MB of
# activations in fp16); 32 MiB leaves room for larger SigLIP variants and the processor's tensors.
RESERVE_PER_IMAGE = 32 * MiB
# Images are decoded no larger than this: the processor resizes to 224-512 px anyway.
DECODE_SIDE = 768


class Gone(RuntimeError):
    """The model was closed (evicted, unloaded) while a caller held it: ask the manager again."""


# ---------------------------------------------------------------------------- locating weights
def model_dir(spec: ModelSpec) -> Path | None:
    if spec.local:
        p = Path(spec.source)
        return p if (p / "config.json").is_file() else None
    p = cached_snapshot(spec.source, spec.revision)
    return p if p is not None and (p / "config.json").is_file() else None


@lru_cache(maxsize=32)
def _config_at(path: str):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path, local_files_only=True)


def _config(spec: ModelSpec):
    from transformers import SiglipConfig

    d = model_dir(spec)
    if d is not None:
        return _config_at(str(d))
    if spec.source.startswith("google/siglip2-base-patch16-"):
        return SiglipConfig(**{k: v for k, v in SIGLIP2_BASE_CONFIG.items() if k != "model_type"})
    raise FileNotFoundError(f"no config for {spec.id}: it is not downloaded")


def _dims(config) -> tuple[int, int]:
    """(embedding width, text token limit) from a SigLIP config."""
    text = config.text_config
    return int(getattr(text, "projection_size", None) or text.hidden_size), int(text.max_position_embeddings)


# ---------------------------------------------------------------------------- the loaded model
class EmbeddingsModel:
    """What the embeddings service calls. `embed_images` on the GPU worker; `embed_texts` anywhere."""

    def __init__(self, spec: ModelSpec, placement: Placement, model: Any, image_processor: Any, tokenizer: Any):
        self.spec = spec
        self.placement = placement
        self.model = model
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.dim, self.max_tokens = _dims(model.config)
        self.text_lock = threading.Lock()  # Rust tokenizers and the text tower: one text call at a time

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        if self.model is None:
            return {}
        return {"vision": self.model.vision_model, "text": self.model.text_model}

    def to(self, device: str) -> None:
        """Moves the image tower (the text tower stays in RAM)."""
        self.model.vision_model.to(device)
        self.placement.device = device

    def close(self) -> None:
        with self.text_lock:
            self.model = None
            self.image_processor = None
            self.tokenizer = None
        gc.collect()

    def bytes_by_device(self) -> dict[str, int]:
        return module_bytes_by_device(self.modules())

    # --- embeddings
    def count_tokens(self, texts: list[str]) -> list[int]:
        with self.text_lock:
            if self.tokenizer is None:
                raise Gone(self.spec.id)
            return count_tokens(self.tokenizer, texts)

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        with self.text_lock:
            if self.model is None:
                raise Gone(self.spec.id)
            ids = tokenize(self.tokenizer, texts, self.max_tokens)
            feats = self.model.get_text_features(input_ids=ids.to(self.model.text_model.embeddings.token_embedding.weight.device))
            return _unit(feats)

    @torch.inference_mode()
    def embed_images(self, images: list[Image.Image], *, cancelled=lambda: False) -> np.ndarray:
        vision = self.model.vision_model
        param = next(vision.parameters())
        out = []
        for start in range(0, len(images), IMAGE_CHUNK):
            if cancelled():
                raise Cancelled("embedding stopped: the job was cancelled")
            inputs = self.image_processor(images=images[start:start + IMAGE_CHUNK], return_tensors="pt")
            inputs = {k: (v.to(param.device, param.dtype) if v.is_floating_point() else v.to(param.device))
                      for k, v in inputs.items() if torch.is_tensor(v)}
            out.append(_unit(self.model.get_image_features(**inputs)))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def _unit(feats: torch.Tensor) -> np.ndarray:
    v = feats.float().cpu()
    return torch.nn.functional.normalize(v, dim=-1).numpy().astype(np.float32, copy=False)


def _prepare_text(text: str) -> str:
    return text.lower()


def count_tokens(tokenizer: Any, texts: list[str]) -> list[int]:
    """Tokens of each text as the model sees it (with its end token), before padding."""
    return [len(ids) for ids in tokenizer([_prepare_text(t) for t in texts], verbose=False)["input_ids"]]


def tokenize(tokenizer: Any, texts: list[str], max_tokens: int) -> torch.Tensor:
    return tokenizer([_prepare_text(t) for t in texts], padding="max_length", max_length=max_tokens,
                     truncation=True, return_tensors="pt")["input_ids"]


# ---------------------------------------------------------------------------- the family
class SiglipFamily:
    name = "siglip"
    kind = "embeddings"

    # --- downloads (the Family contract of issue 17: download_recipe / ensure_downloaded / defaults)
    def download_recipe(self, spec: ModelSpec) -> dict[str, Any]:
        return {"allow_patterns": list(ALLOW_PATTERNS), "extra_repos": list(spec.extra_repos), "prefer_fp16": False}

    def defaults(self, spec: ModelSpec) -> dict[str, Any]:
        return dict(spec.defaults)

    def is_downloaded(self, spec: ModelSpec) -> bool:
        d = model_dir(spec)
        return d is not None and any(d.glob("*.safetensors"))

    def ensure_downloaded(self, spec: ModelSpec) -> Path:
        d = model_dir(spec)
        if d is None or not any(d.glob("*.safetensors")):
            raise ModelNotDownloaded.for_model(spec.id)
        return d

    def download_hint(self, spec: ModelSpec) -> str:
        rev = f" --revision {spec.revision}" if spec.revision else ""
        return f"huggingface-cli download {spec.source}{rev}"

    # --- sizes and placement
    def dimension(self, spec: ModelSpec) -> int:
        return _dims(_config(spec))[0]

    def max_tokens(self, spec: ModelSpec) -> int:
        return _dims(_config(spec))[1]

    def image_tokens(self, spec: ModelSpec) -> int:
        """Patches the image tower reads per image (reported as an image's usage tokens)."""
        v = _config(spec).vision_config
        return (v.image_size // v.patch_size) ** 2

    def footprint(self, spec: ModelSpec, placement: Placement | None = None) -> Footprint | int:
        """The image tower's parts (what the planner places; the text tower stays in RAM); with a
        placement, its bytes so placed."""
        fp = _footprint(spec.source if not spec.local else str(model_dir(spec) or spec.source), spec.local)
        return fp if placement is None else fp.total_bytes(placement.dtype, placement.quant)

    def estimate_bytes(self, spec: ModelSpec, placement: Placement) -> int:
        return _full_bytes(spec.source if not spec.local else str(model_dir(spec) or spec.source),
                           spec.local, placement.dtype)

    def limits(self, spec: ModelSpec, device: DeviceInfo) -> ModelLimits:
        return ModelLimits(offloads=frozenset({"none"}), offload_reason="the image tower is small; the text tower is in RAM",
                           reserve_per_image=RESERVE_PER_IMAGE)

    # --- loading
    def load(self, spec: ModelSpec, placement: Placement) -> EmbeddingsModel:
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        d = self.ensure_downloaded(spec)
        try:
            # float32 first: the text tower stays so, in RAM; the image tower is then cast and placed.
            model = AutoModel.from_pretrained(d, dtype=torch.float32, use_safetensors=True,
                                              local_files_only=True).eval()
            image_processor = AutoImageProcessor.from_pretrained(d, local_files_only=True, use_fast=False)
            tokenizer = AutoTokenizer.from_pretrained(d, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadFailed(f"could not load {spec.id} from {d}: {exc}") from exc
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise ModelLoadFailed(f"{spec.id} ({type(model).__name__}) is not an image-text embeddings model")
        model.vision_model.to(placement.device, placement.dtype)
        log.info("loaded %s (image tower: %s, %s; text tower: cpu, float32)", spec.id, placement.device, placement.dtype)
        return EmbeddingsModel(spec, placement, model, image_processor, tokenizer)


@lru_cache(maxsize=16)
def _meta_model(source: str, local: bool):
    from transformers import AutoModel

    spec = ModelSpec(id=source, kind="embeddings", family="siglip", source=source, local=local)
    with torch.device("meta"):
        return AutoModel.from_config(_config(spec))


@lru_cache(maxsize=16)
def _footprint(source: str, local: bool) -> Footprint:
    m = _meta_model(source, local)
    return footprint_from_modules({"vision": m.vision_model}, (), source=f"{source} config (image tower)")


@lru_cache(maxsize=64)
def _full_bytes(source: str, local: bool, dtype: torch.dtype) -> int:
    """Both towers at `dtype`: the weights' size as /v1/models reports it."""
    m = _meta_model(source, local)
    return footprint_from_modules({"model": m}, ()).total_bytes(dtype)


@lru_cache(maxsize=8)
def cached_tokenizer(path: str):
    """The tokenizer of a downloaded model, for counting tokens before a job is queued."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True), threading.Lock()


def count_tokens_for(spec: ModelSpec, texts: list[str]) -> list[int]:
    d = model_dir(spec)
    if d is None:
        raise ModelNotDownloaded.for_model(spec.id)
    tok, lock = cached_tokenizer(str(d))
    with lock:
        return count_tokens(tok, texts)


def check_token_limit(counts: list[int], limit: int, param_of) -> None:
    for i, n in enumerate(counts):
        if n > limit:
            raise InvalidParameter(
                f"{param_of(i)} is {n} tokens; this model reads at most {limit} (its training length): "
                "shorten the text", param=param_of(i))


FAMILY = SiglipFamily()
