"""Moondream 2 through its own API: caption, query, detect, point.

transformers has no native Moondream class, so this is the ONE place where the app runs remote
code: `vikhyatk/moondream2` at a pinned revision, from the local cache only
(`local_files_only=True`, never a download at load time). Its constructor also reads a second
repo, `moondream/starmie-v1` (the tokenizer); both must be cached. transformers is pinned to
4.57.6 because the pinned revision breaks on transformers 5 (docs/ARCHITECTURE.md).

Documented method contract (revision 2025-06-21) that this adapter relies on:
  caption(image, length="short"|"normal"|"long", stream=False, settings=None) -> {"caption": str | iterator}
  query(image, question, stream=False, settings=None)                        -> {"answer": str | iterator}
  detect(image, object)                                                       -> {"objects": [{x_min, y_min, x_max, y_max}]}
  point(image, object)                                                        -> {"points": [{x, y}]}
  encode_image(image)                                                         -> an encoded image the others accept
with settings {"max_tokens", "temperature", "top_p"}. Moondream answers one question about one
image: a chat becomes a query on the conversation's last image with the last user turn.
"""

from __future__ import annotations

import gc
import json
import logging
import struct
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed
from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.families.vlm import bnb_config, dtype_bytes, quantized_bytes
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

log = logging.getLogger("atelier.moondream")

TOKENIZER_REPO = "moondream/starmie-v1"
# Moondream 2 has ~1.86 B parameters (SigLIP vision encoder + Phi-1.5 text model); used only
# while the weights are not on disk. Once they are, the safetensors header gives the exact count.
DOCUMENTED_PARAMS = 1_860_000_000
# Each image becomes 729 (27x27) patch embeddings in the text model's context.
IMAGE_TOKENS = 729


def _snapshot(repo: str, revision: str | None) -> Path | None:
    return cached_snapshot(repo, revision)  # None when not cached, or while a download is incomplete


def _safetensors_numels(d: Path) -> list[tuple[str, list[int], str]]:
    """(name, shape, dtype) of every tensor, read from the safetensors headers alone."""
    out = []
    for f in sorted(d.glob("*.safetensors")):
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        out.extend((k, v["shape"], v["dtype"]) for k, v in header.items() if k != "__metadata__")
    return out


class MoondreamModel:
    requires_image = True
    capabilities = frozenset({"detect", "point"})

    def __init__(self, spec: ModelSpec, placement: Placement, hf: Any):
        self.spec = spec
        self.placement = placement
        self.hf = hf
        self.tokenizer = getattr(hf, "tokenizer", None) or getattr(getattr(hf, "model", None), "tokenizer", None)

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        return {"model": self.hf} if isinstance(self.hf, torch.nn.Module) else {}

    def to(self, device: str) -> None:
        if self.placement.quant != "none":
            raise RuntimeError(f"{self.spec.id} is quantised ({self.placement.quant}); reload it to move it")
        self.hf.to(device)
        self.placement.device = device

    def close(self) -> None:
        self.hf = None
        gc.collect()

    def bytes_by_device(self) -> dict[str, int]:
        return module_bytes_by_device(self.modules())

    # --- tokens
    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in Moondream's tokenizer (a `tokenizers.Tokenizer`), or a word-count
        estimate when the loaded object exposes none."""
        if not text:
            return 0
        tok = self.tokenizer
        if tok is not None:
            enc = tok.encode(text)
            ids = getattr(enc, "ids", enc)
            return len(ids)
        return max(1, round(len(text.split()) * 1.3))

    @staticmethod
    def _settings(params: GenerationParams) -> dict[str, Any]:
        return {"max_tokens": params.max_tokens, "temperature": params.temperature, "top_p": params.top_p}

    def _drain(self, result: Any, params: GenerationParams, on_text: OnText | None,
               cancelled: IsCancelled, prompt_tokens: int) -> Completion:
        """Consume a streamed (or plain) answer, honouring stop sequences and cancellation."""
        trimmer = StopTrimmer(params.stop)
        pieces: list[str] = []
        chunks = [result] if isinstance(result, str) else result
        for chunk in chunks:
            if cancelled():
                raise Cancelled("generation stopped: the request was cancelled")
            safe = trimmer.feed(chunk)
            if safe:
                pieces.append(safe)
                if on_text is not None:
                    on_text(safe)
            if trimmer.stopped:
                break  # leaving the generator ends Moondream's decoding loop
        tail = trimmer.flush()
        if tail:
            pieces.append(tail)
            if on_text is not None:
                on_text(tail)
        text = "".join(pieces)
        n = self.count_tokens(text)
        finish = "length" if (not trimmer.stopped and n >= params.max_tokens) else "stop"
        return Completion(text, prompt_tokens, n, finish)

    # --- VisionModel
    def chat(self, conv: Conversation, params: GenerationParams, *, on_text: OnText | None = None,
             cancelled: IsCancelled = _never) -> Completion:
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
        prompt_tokens = IMAGE_TOKENS + self.count_tokens(question)
        result = self.hf.query(images[-1], question, stream=True, settings=self._settings(params))
        return self._drain(result["answer"], params, on_text, cancelled, prompt_tokens)

    def ask_batch(self, images: list[Image.Image], prompt: str, params: GenerationParams, *,
                  cancelled: IsCancelled = _never) -> list[Completion]:
        # Moondream's API takes one image per call: the batch saves the reload, not the passes.
        out = []
        prompt_tokens = IMAGE_TOKENS + self.count_tokens(prompt)
        for img in images:
            result = self.hf.query(img, prompt, stream=True, settings=self._settings(params))
            c = self._drain(result["answer"], params, None, cancelled, prompt_tokens)
            out.append(Completion(c.text.strip(), c.prompt_tokens, c.completion_tokens, c.finish_reason))
        return out

    def caption_batch(self, images: list[Image.Image], length: str, *,
                      cancelled: IsCancelled = _never) -> list[Completion]:
        params = GenerationParams(max_tokens=CAPTION_TOKENS[length])
        out = []
        for img in images:
            result = self.hf.caption(img, length=length, stream=True, settings=self._settings(params))
            c = self._drain(result["caption"], params, None, cancelled, IMAGE_TOKENS)
            out.append(Completion(c.text.strip(), c.prompt_tokens, c.completion_tokens, c.finish_reason))
        return out

    def detect(self, image: Image.Image, name: str) -> list[dict[str, Any]]:
        objs = self.hf.detect(image, name)["objects"]
        return [{"name": name, **{k: float(o[k]) for k in ("x_min", "y_min", "x_max", "y_max")}} for o in objs]

    def point(self, image: Image.Image, name: str) -> list[dict[str, float]]:
        return [{"x": float(p["x"]), "y": float(p["y"])} for p in self.hf.point(image, name)["points"]]


class MoondreamFamily:
    name = "moondream"
    requires_image = True
    detects = True

    def is_downloaded(self, spec: ModelSpec) -> bool:
        if spec.local:
            d: Path | None = Path(spec.source)
        else:
            d = _snapshot(spec.source, spec.revision)
            if _snapshot(TOKENIZER_REPO, None) is None:
                return False
        return d is not None and (d / "config.json").is_file() and any(d.glob("*.safetensors"))

    def download_hint(self, spec: ModelSpec) -> str:
        return (f"huggingface-cli download {spec.source} --revision {spec.revision} && "
                f"huggingface-cli download {TOKENIZER_REPO}")

    def estimate_bytes(self, spec: ModelSpec, placement: Placement) -> int:
        width = dtype_bytes(placement.dtype)
        d = Path(spec.source) if spec.local else _snapshot(spec.source, spec.revision)
        tensors = _safetensors_numels(d) if d is not None else []
        if not tensors:
            return quantized_bytes(DOCUMENTED_PARAMS, placement.quant, width)
        total = 0
        for name, shape, _ in tensors:
            numel = 1
            for s in shape:
                numel *= s
            # 2-D weights are the Linear layers bitsandbytes would quantise (embeddings excepted).
            linear = len(shape) == 2 and name.endswith("weight") and "wte" not in name and "embed" not in name
            total += quantized_bytes(numel, placement.quant, width) if linear else numel * width
        return total

    def _from_pretrained(self, spec: ModelSpec, kwargs: dict[str, Any]) -> Any:
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(spec.source, **kwargs)

    def load(self, spec: ModelSpec, placement: Placement) -> MoondreamModel:
        kwargs: dict[str, Any] = {
            "revision": spec.revision,
            "trust_remote_code": True,  # the only remote code the app runs: pinned, from the cache
            "local_files_only": True,
            "use_safetensors": True,
            "dtype": placement.dtype,
        }
        quant = bnb_config(placement)
        if quant is not None:
            kwargs["quantization_config"] = quant
            kwargs["device_map"] = {"": 0} if placement.device == "cuda" else "cpu"
        elif placement.offload != "none" and placement.device == "cuda":
            kwargs["device_map"] = {"": "cpu"}  # weights stay in RAM; hooks move each layer in (below)
        else:
            kwargs["device_map"] = {"": placement.device if placement.device != "cuda" else 0}
        try:
            hf = self._from_pretrained(spec, kwargs)
        except (OSError, ValueError) as exc:
            raise ModelLoadFailed(f"could not load {spec.id}: {exc}; {self.download_hint(spec)}") from exc
        if hasattr(hf, "eval"):
            hf.eval()
        if quant is not None and hasattr(hf, "modules"):
            portable_4bit(hf)
        if quant is None and placement.offload != "none" and placement.device == "cuda":
            # One model, so "model" and "sequential" offload are the same thing here (as in vlm.py).
            from accelerate import cpu_offload

            cpu_offload(hf, execution_device=torch.device("cuda"))
        log.info("loaded %s@%s (%s, %s, quant=%s)", spec.source, spec.revision, placement.device,
                 placement.dtype, placement.quant)
        return MoondreamModel(spec, placement, hf)


FAMILY = MoondreamFamily()
