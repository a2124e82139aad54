"""Any transformers image-text-to-text model: AutoProcessor + AutoModelForImageTextToText.

The model's own chat template builds the prompt, so multi-turn chat and system prompts work
wherever the checkpoint supports them (a template that refuses the system role gets the system
text folded into the first user turn). Streaming goes through a transformers streamer on the GPU
worker thread, which also ends generation as soon as the job is cancelled (a client that
disconnected) or a stop sequence appears. Only safetensors weights are ever loaded.
"""

from __future__ import annotations

import functools
import gc
import inspect
import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from atelier.core.errors import Cancelled, InvalidParameter, ModelLoadFailed
from atelier.engine.base import DownloadRecipe, Family, ModelSpec, Placement, module_bytes_by_device
from atelier.engine.hub_cache import cached_snapshot
from atelier.engine.quant import portable_4bit
from atelier.engine.vram.footprint import Footprint, transformers_footprint
from atelier.engine.vision import (
    CAPTION_PROMPTS,
    CAPTION_TOKENS,
    Completion,
    Conversation,
    GenerationParams,
    IsCancelled,
    Message,
    OnText,
    StopTrimmer,
    _never,
)

log = logging.getLogger("atelier.vlm")

# Images per generate() call when captioning a batch: enough to amortise the weights' memory
# traffic, few enough that the activations of a 2B model stay small beside the weights.
BATCH_CHUNK = 8


# ---------------------------------------------------------------------------- locating weights
def model_dir(spec: ModelSpec) -> Path | None:
    """The directory holding the checkpoint, or None when it is not on this machine."""
    if spec.local:
        p = Path(spec.source)
        return p if (p / "config.json").is_file() else None
    p = cached_snapshot(spec.source, spec.revision)  # None when not cached, or while a download is incomplete
    return p if p is not None and (p / "config.json").is_file() else None


def has_safetensors(d: Path) -> bool:
    return any(d.glob("*.safetensors"))


def bnb_config(placement: Placement):
    from transformers import BitsAndBytesConfig

    if placement.quant == "nf4":
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=placement.dtype,
        )
    if placement.quant == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


# ---------------------------------------------------------------------------- the loaded model
class _Halt(Exception):
    """Raised by the chat streamer to end generate() at once: cancelled, or a stop sequence seen."""


@functools.cache
def _streamer_class() -> type:
    """transformers' TextStreamer, delivering finished text to a callback instead of stdout, counting
    the generated tokens, and ending generation when told to (one class, built on first use).

    generate() already runs on the GPU worker thread, so the text goes straight into the job's
    event stream (which the async route follows) rather than through a second thread as
    TextIteratorStreamer would need. Cancellation and stop sequences are checked here, at each
    token generate() hands over, instead of by a StoppingCriteria (a tensor op per token)."""
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def __init__(self, tokenizer, callback: OnText, halt: IsCancelled):
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
            self.callback = callback
            self.halt = halt
            self.generated = 0

        def put(self, value) -> None:
            prompt = self.next_tokens_are_prompt
            super().put(value)
            if not prompt:
                self.generated += value.shape[-1] if value.dim() > 1 else value.numel()
                if self.halt():
                    raise _Halt

        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                self.callback(text)

    return CallbackStreamer


def _stopping(flag):
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), bool(flag()), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Stop()])


class VLMModel:
    requires_image = False
    batches_images = True  # captions and tags go BATCH_CHUNK images per generate() call

    def __init__(self, spec: ModelSpec, placement: Placement, processor: Any, model: Any):
        self.spec = spec
        self.placement = placement
        self.processor = processor
        self.model = model
        self.tokenizer = getattr(processor, "tokenizer", processor)
        # Decoder-only batched generation needs the padding on the left.
        self.tokenizer.padding_side = "left"
        eos = model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        pad = model.generation_config.pad_token_id
        self.pad_id = pad if pad is not None else self.tokenizer.pad_token_id
        self._forward_args = set(inspect.signature(model.forward).parameters)
        caps = {"chat"}
        if self._template_accepts_system():
            caps.add("system")
        self.capabilities = frozenset(caps)

    # --- LoadedModel
    def modules(self) -> dict[str, torch.nn.Module]:
        return {"model": self.model}

    def to(self, device: str) -> None:
        if self.placement.quant != "none":
            # bitsandbytes weights cannot be moved after quantisation: the manager reloads instead.
            raise RuntimeError(f"{self.spec.id} is quantised ({self.placement.quant}); reload it to move it")
        self.model.to(device)
        self.placement.device = device

    def close(self) -> None:
        self.model = None
        self.processor = None
        gc.collect()

    def bytes_by_device(self) -> dict[str, int]:
        return module_bytes_by_device(self.modules())

    # --- prompts
    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _template_accepts_system(self) -> bool:
        try:
            self.processor.apply_chat_template(
                [{"role": "system", "content": [{"type": "text", "text": "s"}]},
                 {"role": "user", "content": [{"type": "text", "text": "u"}]}],
                add_generation_prompt=True, tokenize=False,
            )
            return True
        except Exception:
            return False

    def _hf_messages(self, messages: list[Message]) -> list[dict[str, Any]]:
        msgs = [
            {"role": m.role,
             "content": [{"type": "image"} if isinstance(p, Image.Image) else {"type": "text", "text": p}
                         for p in m.parts]}
            for m in messages
        ]
        if "system" not in self.capabilities:
            system = [c for m in msgs if m["role"] == "system" for c in m["content"]]
            msgs = [m for m in msgs if m["role"] != "system"]
            if system and msgs:
                msgs[0] = {**msgs[0], "content": system + msgs[0]["content"]}
        return msgs

    def _inputs(self, prompts: list[str], images: list[list[Image.Image]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": prompts, "return_tensors": "pt", "padding": True}
        if any(images):
            kwargs["images"] = images if len(prompts) > 1 else images[0]
        inputs = self.processor(**kwargs)
        if "token_type_ids" in inputs and "token_type_ids" not in self._forward_args:
            inputs.pop("token_type_ids")
        device = self.model.device
        out = {}
        for k, v in inputs.items():
            if torch.is_tensor(v):
                v = v.to(device)
                if v.is_floating_point():
                    v = v.to(self.model.dtype)
            out[k] = v
        return out

    def _gen_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        kw: dict[str, Any] = {"max_new_tokens": params.max_tokens, "pad_token_id": self.pad_id}
        if params.min_tokens:
            kw["min_new_tokens"] = min(params.min_tokens, params.max_tokens)
        if params.temperature > 0:
            kw.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        return kw

    def _count_completion(self, ids: torch.Tensor) -> tuple[int, bool]:
        """Generated tokens up to and including the first end-of-sequence, and whether it ended."""
        seq = ids.tolist()
        for i, t in enumerate(seq):
            if t in self.eos_ids:
                return i + 1, True
        # Without an EOS, trailing pad tokens are padding from batch-mates that finished first.
        n = len(seq)
        while n and seq[n - 1] == self.pad_id:
            n -= 1
        return n, False

    # --- VisionModel
    @torch.inference_mode()
    def chat(self, conv: Conversation, params: GenerationParams, *, on_text: OnText | None = None,
             cancelled: IsCancelled = _never) -> Completion:
        # 1. the prompt through the model's own chat template
        prompt = self.processor.apply_chat_template(
            self._hf_messages(conv.messages), add_generation_prompt=True, tokenize=False)
        inputs = self._inputs([prompt], [conv.images])
        prompt_len = inputs["input_ids"].shape[1]
        # A prompt past the context window does not fail: its prefill grows quadratically and one
        # 1 MB request would hold the GPU worker for many minutes. Refuse it, as vLLM does. (The
        # completion is bounded apart, by MAX_TOKENS_LIMIT in the chat service.)
        context = getattr(self.model.config.get_text_config(), "max_position_embeddings", None)
        if context and prompt_len > context:
            raise InvalidParameter(
                f"this model's maximum context length is {context} tokens; the messages take {prompt_len}: "
                "shorten the conversation", param="messages")

        # 2. stream text through the stop-sequence trimmer; stop on cancel or a stop sequence
        trimmer = StopTrimmer(params.stop)
        pieces: list[str] = []

        def deliver(text: str) -> None:
            safe = trimmer.feed(text)
            if safe:
                pieces.append(safe)
                if on_text is not None:
                    on_text(safe)

        streamer = _streamer_class()(self.tokenizer, deliver, lambda: trimmer.stopped or cancelled())
        try:
            out = self.model.generate(**inputs, **self._gen_kwargs(params), streamer=streamer)
        except _Halt:
            out = None
        if cancelled():
            raise Cancelled("generation stopped: the request was cancelled")
        tail = trimmer.flush()
        if tail:
            pieces.append(tail)
            if on_text is not None:
                on_text(tail)

        # 3. count what was generated
        if out is None:  # halted at a stop sequence: every token generated went through the streamer
            n, ended = streamer.generated, False
        else:
            n, ended = self._count_completion(out[0, prompt_len:])
        finish = "stop" if (ended or trimmer.stopped or n < params.max_tokens) else "length"
        return Completion("".join(pieces), prompt_len, n, finish)

    @torch.inference_mode()
    def ask_batch(self, images: list[Image.Image], prompt: str, params: GenerationParams, *,
                  cancelled: IsCancelled = _never) -> list[Completion]:
        conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        results: list[Completion] = []
        for start in range(0, len(images), BATCH_CHUNK):
            chunk = images[start:start + BATCH_CHUNK]
            inputs = self._inputs([text] * len(chunk), [[img] for img in chunk])
            # With left padding every row's prompt ends at the same column.
            prompt_len = inputs["input_ids"].shape[1]
            prompt_counts = inputs["attention_mask"].sum(dim=1).tolist()
            out = self.model.generate(**inputs, **self._gen_kwargs(params),
                                      stopping_criteria=_stopping(cancelled))
            if cancelled():
                raise Cancelled("analysis stopped: the job was cancelled")
            for row, n_prompt in zip(out, prompt_counts):
                n, ended = self._count_completion(row[prompt_len:])
                decoded = self.tokenizer.decode(row[prompt_len:prompt_len + n], skip_special_tokens=True)
                trimmer = StopTrimmer(params.stop)
                decoded = trimmer.feed(decoded) + trimmer.flush()
                finish = "stop" if ended or trimmer.stopped or n < params.max_tokens else "length"
                results.append(Completion(decoded.strip(), int(n_prompt), n, finish))
        return results

    def caption_batch(self, images: list[Image.Image], length: str, *,
                      cancelled: IsCancelled = _never) -> list[Completion]:
        return self.ask_batch(images, CAPTION_PROMPTS[length],
                              GenerationParams(max_tokens=CAPTION_TOKENS[length]), cancelled=cancelled)

    def detect(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        raise InvalidParameter(
            f"{self.spec.id} cannot locate objects; use a model with detection (moondream-2) "
            "or leave 'objects' out of tasks", param="tasks")

    def point(self, image: Image.Image, name: str, max_objects: int) -> list[dict[str, Any]]:
        raise InvalidParameter(
            f"{self.spec.id} cannot point at objects; use a model with pointing (moondream-2) "
            "or leave 'points' out of tasks", param="tasks")


# ---------------------------------------------------------------------------- the family
# What a download fetches of any transformers image-text-to-text repo: configs, processor,
# tokenizer, chat template and the safetensors.
ALLOW = ("*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken")
FALLBACK_BYTES = 1024**3  # the disk check's size when the hub will not list file sizes


class VLMFamily(Family):
    name = "vlm"
    requires_image = False
    detects = False  # no box output in the generic image-text-to-text API

    def is_downloaded(self, spec: ModelSpec) -> bool:
        d = model_dir(spec)
        return d is not None and has_safetensors(d)

    def download_recipe(self, spec: ModelSpec) -> DownloadRecipe:
        return DownloadRecipe(ALLOW, fallback_bytes=FALLBACK_BYTES)

    def parts(self, spec: ModelSpec) -> Footprint:
        """Built on the meta device from its config.json; NF4 as `bnb_config` loads it (double
        quantisation). Unknown until the config is on disk."""
        d = model_dir(spec)
        if d is None:
            raise FileNotFoundError(f"no config for {spec.id} yet: {self.not_downloaded_message(spec)}")
        return transformers_footprint(str(d), double_quant=True)

    def load(self, spec: ModelSpec, placement: Placement) -> VLMModel:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.ensure_downloaded(spec)
        d = model_dir(spec)
        assert d is not None
        kwargs: dict[str, Any] = {"use_safetensors": True, "dtype": placement.dtype, "local_files_only": True}
        quant = bnb_config(placement)
        if quant is not None:
            kwargs["quantization_config"] = quant
            kwargs["device_map"] = {"": 0} if placement.device == "cuda" else "cpu"
        try:
            processor = AutoProcessor.from_pretrained(d, local_files_only=True)
            model = AutoModelForImageTextToText.from_pretrained(d, **kwargs).eval()
        except (OSError, ValueError) as exc:
            raise ModelLoadFailed(f"could not load {spec.id} from {d}: {exc}") from exc
        if quant is not None:
            portable_4bit(model)
        if quant is None:
            if placement.offload != "none" and placement.device == "cuda":
                # One model, so "model" and "sequential" offload are the same thing here:
                # weights in RAM, each layer moved to the GPU when it runs.
                from accelerate import cpu_offload

                cpu_offload(model, execution_device=torch.device("cuda"))
            else:
                model.to(placement.device)
        log.info("loaded %s (%s, %s, quant=%s)", spec.id, placement.device, placement.dtype, placement.quant)
        return VLMModel(spec, placement, processor, model)


FAMILY = VLMFamily()
