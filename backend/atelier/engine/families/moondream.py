"""Moondream 2 through its own code: caption, query, detect and point on an encoded image.

transformers has no native Moondream class, so this is the ONE place where the app runs remote
code: `vikhyatk/moondream2` at a pinned revision, from the local cache only (never a download at
load time). transformers is pinned to 4.57.6 because that revision breaks on transformers 5
(docs/ARCHITECTURE.md). Checked against the real code (github.com/vikhyat/moondream
`moondream/torch/`, commit 44146f1, the last before the 2025-06-21 revision) with random weights
laid out by `scripts/moondream_rig.py`; the facts this adapter relies on:

- `encode_image(image)` -> an `EncodedImage` (the image's KV-cache prefix and its length, `pos`).
  Every skill takes one in place of the image and then skips the vision encoder. With a PIL image
  and a `settings` dict the skills call `encode_image(image, settings)`, which reads
  `settings["variant"]` with no default: so each image is encoded here, once, and the encoding is
  passed to every skill (caption, tags, detection) of that image.
- `caption(image, length, stream, settings)`, `query(image, question, reasoning, spatial_refs,
  stream, settings)` with settings {max_tokens, temperature, top_p}: temperature 0 is greedy; the
  streamed answer is text cut at word boundaries; decoding stops at the end-of-text id or after
  `max_tokens` generated ids. `detect`/`point(image, object, settings)` take {max_objects}
  (default 50) and return normalised boxes / points that are not clamped to [0, 1].
- The context is 2048 positions (KV caches, masks): the image takes `EncodedImage.pos` (1 + 729),
  the prompt its template plus the question, and every generated id one more.
- The tokenizer is `model.model.tokenizer`, loaded by the constructor with
  `Tokenizer.from_pretrained("moondream/starmie-v1")`: no revision, and a network request unless
  the hub library is offline. `pinned_hub_files` resolves it to the catalog's pinned commit, from
  the cache.
- Every layer is built in bfloat16, and the image crops are made in bfloat16, whatever dtype
  from_pretrained is given. The vision encoder's attention calls `F.linear` on raw weights, and the
  model reads `vision.pos_emb.device` outside module calls: 4-bit vision weights and accelerate's
  offload hooks both break there. So: bfloat16 (float16 on GPUs without it, the crops cast at the
  vision encoder's input), NF4 for the text decoder's blocks only, never CPU offload.
"""

from __future__ import annotations

import ast
import gc
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed
from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.hub_cache import cached_snapshot
from atelier.engine.quant import portable_4bit
from atelier.engine.vision import (
    CAPTION_TOKENS,
    Completion,
    Conversation,
    GenerationParams,
    IsCancelled,
    OnText,
    StopTrimmer,
    _never,
)
from atelier.engine.vram.footprint import Footprint, moondream_footprint
from atelier.engine.vram.planner import DeviceInfo, ModelLimits

log = logging.getLogger("atelier.moondream")

# Left unquantised under NF4 (transformers' `llm_int8_skip_modules`, matched by name): the vision
# encoder (raw-weight F.linear), the region heads (coordinates and sizes come out of their logits)
# and the output head (as transformers keeps every other model's). The footprint counts them dense.
KEEP_DENSE = ["vision", "region", "lm_head"]
CODE_ENTRY = "hf_moondream.py"  # config.json's auto_map module

# Working memory of one image in flight: the vision encoder over up to 13 crops (~0.2 GB at full
# size) and two encoded images (the one in use and the one kept, 0.14 GB each). Its KV caches are
# allocated at load and counted in its footprint, not here. An estimate until measured on a card.
RESERVE_PER_IMAGE = 512 * 1024**2
LIMITS_OFFLOAD = ("its code reads weights outside module calls (the vision encoder's F.linear on raw "
                  "weights, vision.pos_emb.device), so CPU offload hooks would never load them")


@contextmanager
def pinned_hub_files(pins: dict[str, str]) -> Iterator[None]:
    """Resolve the remote code's own hub downloads of the `pins` repos to their pinned commits,
    from the cache only.

    Moondream's constructor calls `Tokenizer.from_pretrained("moondream/starmie-v1")`, which calls
    `huggingface_hub.hf_hub_download(repo_id=..., revision="main")`, looked up on the module at
    call time. Setting HF_HUB_OFFLINE would not do: the hub library reads it once at import, it
    would stop a download running beside the load, and "main" is not the pinned commit (a pinned
    download writes no refs/main). Only calls for the pinned repos are changed, for the length of
    the load (the GPU worker is the only thread that loads); transformers and the downloader hold
    their own reference to the function and never see this one."""
    import huggingface_hub

    real = huggingface_hub.hf_hub_download

    def pinned(*args: Any, **kwargs: Any) -> str:
        repo = kwargs.get("repo_id", args[0] if args else None)
        if repo in pins:
            kwargs.update(revision=pins[repo], local_files_only=True)
        return real(*args, **kwargs)

    huggingface_hub.hf_hub_download = pinned
    try:
        yield
    finally:
        huggingface_hub.hf_hub_download = real


@contextmanager
def adapter_lookup_offline() -> Iterator[None]:
    """Keep transformers' PEFT adapter lookup in the cache for the length of a load.

    With peft installed (the LoRA adapters need it), `AutoModel*.from_pretrained(repo_id)` looks
    for an `adapter_config.json` of the repo before loading, and does not pass `local_files_only`
    to that lookup (transformers 4.57, `auto_factory.py`): every load of a cached model would ask
    the Hub, and wait out its timeouts when the network is down. The lookup is given
    `local_files_only=True`; a model with no adapter config in the cache has none."""
    from transformers.models.auto import auto_factory

    real = auto_factory.find_adapter_config_file

    def cached_only(*args: Any, **kwargs: Any) -> Any:
        kwargs["local_files_only"] = True
        return real(*args, **kwargs)

    auto_factory.find_adapter_config_file = cached_only
    try:
        yield
    finally:
        auto_factory.find_adapter_config_file = real


def _snapshot(repo: str, revision: str | None) -> Path | None:
    return cached_snapshot(repo, revision)  # None when not cached, or while a download is incomplete


def _clamp(v: Any) -> float:
    return min(1.0, max(0.0, float(v)))


# ---------------------------------------------------------------------------- the loaded model
class MoondreamModel:
    requires_image = True
    batches_images = False  # one image per call: analysis runs every task of an image before the next
    capabilities = frozenset({"detect", "point"})

    def __init__(self, spec: ModelSpec, placement: Placement, hf: Any):
        self.spec = spec
        self.placement = placement
        self.hf = hf
        inner = hf.model  # HfMoondream wraps the code's MoondreamModel
        self.tokenizer = inner.tokenizer
        self.config = inner.config
        # Every token the text decoder reads passes through its first block's qkv projection, a
        # module call: a forward pre-hook there counts the context the code actually builds.
        self._first_layer = inner.text.blocks[0].attn.qkv
        self._encoded: tuple[Image.Image, Any] | None = None

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        return {"model": self.hf} if isinstance(self.hf, torch.nn.Module) else {}

    def to(self, device: str) -> None:
        if self.placement.quant != "none":
            raise RuntimeError(f"{self.spec.id} is quantised ({self.placement.quant}); reload it to move it")
        self._encoded = None  # an encoding lives on the device it was made on
        self.hf.to(device)
        self.placement.device = device

    def close(self) -> None:
        self._encoded = None
        self.hf = None
        gc.collect()

    def bytes_by_device(self) -> dict[str, int]:
        return module_bytes_by_device(self.modules())

    # --- tokens and context
    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids) if text else 0

    def _encode(self, image: Image.Image) -> Any:
        """The image's encoding, made once: the skills of one analysis (caption, tags, objects) all
        ask about the same image object. One encoding is kept (6 MB per text layer at full size)."""
        if self._encoded is not None and self._encoded[0] is image:
            return self._encoded[1]
        self._encoded = None
        encoded = self.hf.encode_image(image)
        self._encoded = (image, encoded)
        return encoded

    def _room(self, encoded: Any, prompt_ids: int, want: int) -> int:
        """Ids that may be generated after the image and a prompt of at most `prompt_ids` ids."""
        context = self.config.text.max_context
        room = context - encoded.pos - prompt_ids
        if room < 1:
            raise InvalidParameter(
                f"{self.spec.id}'s context is {context} tokens: the image takes {encoded.pos} and the prompt "
                f"{prompt_ids}, which leaves no room for an answer; shorten the question", param="messages")
        return min(want, room)

    @contextmanager
    def _context_counter(self) -> Iterator[list[int]]:
        """Tokens fed to the text decoder per forward pass while the block runs: the first pass is
        the prompt (after the encoded image), each later one reads one generated id."""
        fed: list[int] = []
        handle = self._first_layer.register_forward_pre_hook(lambda _m, args: fed.append(int(args[0].shape[-2])))
        try:
            yield fed
        finally:
            handle.remove()

    def _generate(self, run: Callable[[dict[str, Any]], Any], encoded: Any, prompt_ids: int,
                  params: GenerationParams, on_text: OnText | None, cancelled: IsCancelled) -> Completion:
        """Run one streamed skill and count what it really did."""
        max_tokens = self._room(encoded, prompt_ids, params.max_tokens)
        settings = {"max_tokens": max_tokens, "temperature": params.temperature, "top_p": params.top_p}
        if params.seed is not None:
            torch.manual_seed(params.seed)
        trimmer = StopTrimmer(params.stop)
        pieces: list[str] = []

        def deliver(text: str) -> None:
            if text:
                pieces.append(text)
                if on_text is not None:
                    on_text(text)

        with self._context_counter() as fed:
            stream = run(settings)
            try:
                for chunk in stream:
                    if cancelled():
                        raise Cancelled("generation stopped: the request was cancelled")
                    deliver(trimmer.feed(chunk))
                    if trimmer.stopped:
                        break  # closing the generator ends Moondream's decoding loop
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        deliver(trimmer.flush())
        completion = max(0, len(fed) - 1)
        # The code's loop ends at the end-of-text id or after max_tokens ids: the latter is "length".
        finish = "length" if not trimmer.stopped and completion >= max_tokens else "stop"
        prompt = encoded.pos + (fed[0] if fed else 0)
        return Completion("".join(pieces), prompt, completion, finish)

    def _query(self, image: Image.Image, question: str, params: GenerationParams, on_text: OnText | None,
               cancelled: IsCancelled) -> Completion:
        encoded = self._encode(image)
        template = self.config.tokenizer.templates["query"]
        # An upper bound of the prompt: at this revision query() appends the suffix twice.
        prompt_ids = len(template["prefix"]) + self.count_tokens(question) + 2 * len(template["suffix"])
        return self._generate(
            lambda s: self.hf.query(encoded, question, stream=True, settings=s)["answer"],
            encoded, prompt_ids, params, on_text, cancelled)

    # --- VisionModel
    def chat(self, conv: Conversation, params: GenerationParams, *, on_text: OnText | None = None,
             cancelled: IsCancelled = _never) -> Completion:
        # Moondream answers one question about one image: the last image, the last user turn, any
        # system prompt before it (its code keeps no conversation history).
        images = conv.images
        if not images:
            raise InvalidParameter(
                f"{self.spec.id} answers questions about an image: add an image_url content part",
                param="messages")
        users = [m for m in conv.messages if m.role == "user" and m.text.strip()]
        question = users[-1].text.strip() if users else "Describe this image."
        system = "\n".join(m.text for m in conv.messages if m.role == "system" and m.text.strip())
        if system:
            question = f"{system}\n\n{question}"
        return self._query(images[-1], question, params, on_text, cancelled)

    def ask_batch(self, images: list[Image.Image], prompt: str, params: GenerationParams, *,
                  cancelled: IsCancelled = _never) -> list[Completion]:
        out = []
        for img in images:
            c = self._query(img, prompt, params, None, cancelled)
            out.append(Completion(c.text.strip(), c.prompt_tokens, c.completion_tokens, c.finish_reason))
        return out

    def caption_batch(self, images: list[Image.Image], length: str, *,
                      cancelled: IsCancelled = _never) -> list[Completion]:
        params = GenerationParams(max_tokens=CAPTION_TOKENS[length])
        prompt_ids = len(self.config.tokenizer.templates["caption"][length])
        out = []
        for img in images:
            encoded = self._encode(img)
            c = self._generate(
                lambda s, e=encoded: self.hf.caption(e, length=length, stream=True, settings=s)["caption"],
                encoded, prompt_ids, params, None, cancelled)
            out.append(Completion(c.text.strip(), c.prompt_tokens, c.completion_tokens, c.finish_reason))
        return out

    def detect(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        found = self.hf.detect(self._encode(image), name, settings={"max_objects": max_objects})["objects"]
        return [{"name": name, **{k: _clamp(o[k]) for k in ("x_min", "y_min", "x_max", "y_max")}}
                for o in found[:max_objects]]

    def point(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        found = self.hf.point(self._encode(image), name, settings={"max_objects": max_objects})["points"]
        return [{"name": name, "x": _clamp(p["x"]), "y": _clamp(p["y"])} for p in found[:max_objects]]


# ---------------------------------------------------------------------------- the family
@lru_cache(maxsize=8)
def code_config(config_py: str) -> dict[str, dict[str, Any]]:
    """The dataclass defaults of the code's `config.py` (`TextConfig`, `VisionConfig`,
    `RegionConfig`), read from its syntax tree, never run: `HfConfig` discards config.json's
    `config` dict, so these defaults are the model's real dimensions."""
    out: dict[str, dict[str, Any]] = {}
    names = {"TextConfig": "text", "VisionConfig": "vision", "RegionConfig": "region"}
    for node in ast.parse(config_py).body:
        if isinstance(node, ast.ClassDef) and node.name in names:
            fields = out.setdefault(names[node.name], {})
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                    try:
                        fields[stmt.target.id] = ast.literal_eval(stmt.value)
                    except ValueError:
                        continue
    if set(out) != set(names.values()):
        raise ValueError("config.py lacks TextConfig, VisionConfig or RegionConfig")
    return out


class MoondreamFamily:
    name = "moondream"
    requires_image = True
    detects = True

    def _dir(self, spec: ModelSpec) -> Path | None:
        return Path(spec.source) if spec.local else _snapshot(spec.source, spec.revision)

    def is_downloaded(self, spec: ModelSpec) -> bool:
        for repo, revision in spec.extra_repos:
            extra = _snapshot(repo, revision)
            if extra is None or not (extra / "tokenizer.json").is_file():
                return False
        d = self._dir(spec)
        return (d is not None and (d / "config.json").is_file() and (d / CODE_ENTRY).is_file()
                and any(d.glob("*.safetensors")))

    def download_hint(self, spec: ModelSpec) -> str:
        return f"make models MODELS={spec.id}"  # its tokenizer repo comes with it, at the pinned commit

    def footprint(self, spec: ModelSpec) -> Footprint:
        """Sizes from the cached code's config.py when the model is downloaded, else from the
        published dimensions shipped in engine/vram/configs/moondream2.json."""
        d = self._dir(spec)
        if d is not None and (d / "config.py").is_file():
            try:
                return moondream_footprint(json.dumps(code_config((d / "config.py").read_text())))
            except (ValueError, KeyError, SyntaxError) as exc:
                log.warning("sizing %s from the published dimensions: its config.py could not be read (%s)",
                            spec.id, exc)
        return moondream_footprint()

    def estimate_bytes(self, spec: ModelSpec, placement: Placement) -> int:
        return self.footprint(spec).total_bytes(placement.dtype, placement.quant)

    def limits(self, spec: ModelSpec, device: DeviceInfo) -> ModelLimits:
        """bfloat16 (its code builds every layer in it) where the device computes it natively, else
        float16; never CPU offload; one image at a time."""
        cap = device.capability
        if device.type == "cuda" and cap is not None and tuple(cap) < (8, 0):
            dtype = torch.float16
            why = (f"{device.name} (compute capability {cap[0]}.{cap[1]}) has no native bfloat16, so its layers are"
                   " cast to float16 and its bfloat16 image crops are cast at the vision encoder's input")
        else:
            dtype = torch.bfloat16
            why = "its code builds every layer, and the image crops, in bfloat16"
        return ModelLimits(dtype=dtype, dtype_reason=why, offloads=frozenset({"none"}),
                           offload_reason=LIMITS_OFFLOAD, images_at_once=1, reserve_per_image=RESERVE_PER_IMAGE)

    def _from_pretrained(self, spec: ModelSpec, kwargs: dict[str, Any]) -> Any:
        from transformers import AutoModelForCausalLM

        with pinned_hub_files(dict(spec.extra_repos)), adapter_lookup_offline():
            return AutoModelForCausalLM.from_pretrained(spec.source, **kwargs)

    def load(self, spec: ModelSpec, placement: Placement) -> MoondreamModel:
        if placement.offload != "none":
            raise ModelLoadFailed(f"{spec.id} cannot run with {placement.offload} CPU offload: {LIMITS_OFFLOAD}")
        device = placement.device if placement.device != "cuda" else 0
        kwargs: dict[str, Any] = {
            "revision": spec.revision,
            "trust_remote_code": True,  # the only remote code the app runs: pinned, from the cache
            "local_files_only": True,
            "use_safetensors": True,
            "dtype": placement.dtype,
            "device_map": {"": device},
        }
        quant = _bnb_config(placement)
        if quant is not None:
            kwargs["quantization_config"] = quant
        try:
            hf = self._from_pretrained(spec, kwargs)
        except (OSError, ValueError) as exc:
            raise ModelLoadFailed(f"could not load {spec.id}: {exc}; {self.download_hint(spec)}") from exc
        hf.eval()
        if quant is not None:
            portable_4bit(hf)
        _run_in(hf, placement.dtype)
        # The KV caches are allocated on first use anyway: now, the bytes reported are the bytes
        # planned from the first status on, and a card too small fails here rather than mid-answer.
        hf._setup_caches()
        log.info("loaded %s@%s (%s, %s, quant=%s)", spec.source, spec.revision, placement.device,
                 placement.dtype, placement.quant)
        return MoondreamModel(spec, placement, hf)


def _bnb_config(placement: Placement) -> Any:
    from transformers import BitsAndBytesConfig

    if placement.quant == "nf4":
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=placement.dtype,
            llm_int8_skip_modules=KEEP_DENSE)
    if placement.quant == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=KEEP_DENSE)
    return None


def _run_in(hf: Any, dtype: torch.dtype) -> None:
    """Make every floating-point weight `dtype` (the code builds them in bfloat16; under
    quantisation transformers casts the unquantised ones to from_pretrained's dtype). Buffers keep
    theirs (the float32 rotary table, the boolean mask); the KV caches follow the weights."""
    for p in hf.parameters():
        if p.is_floating_point() and p.dtype != dtype:
            p.data = p.data.to(dtype)
    if dtype != torch.bfloat16:
        # The code makes its image crops in bfloat16: cast them where they enter the vision encoder.
        hf.model.vision.patch_emb.register_forward_pre_hook(
            lambda module, args: (args[0].to(module.weight.dtype), *args[1:]))


FAMILY = MoondreamFamily()
