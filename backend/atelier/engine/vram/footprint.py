"""How many bytes a model occupies, per component, for every dtype / quantisation / offload.

Sizes are computed from configs, never guessed: SDXL's parts are built on the `meta` device from
their config files (no memory, no weights) and their parameters counted by layer type; Moondream 2
has no transformers class, so its parameter count follows the layer shapes of its remote code
(`moondream/torch/{text,vision,region}.py`) from its config. The real configs ship in `configs/`
so a model can be sized before it is downloaded.

Why split by layer type: bitsandbytes quantises `nn.Linear` weights only. NF4 stores 4 bits per
weight plus one float32 absmax per block of 64 (`nf4_bytes`: the one NF4 formula; with double
quantisation the absmax is int8 plus one float32 per 256 blocks); INT8 stores 1 byte per weight
plus one float32 scale per output row. Biases, norms, convolutions and embeddings stay in the
compute dtype.

This module is arithmetic; which file a model's numbers come from is its family's business
(`Family.parts` in engine/families/<family>.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

CONFIGS = Path(__file__).parent / "configs"
# SDXL base's published configs, shipped by the SDXL family (engine/families/sdxl.py) for offline loading.
SDXL_CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "sdxl"
NF4_BLOCK = 64  # bitsandbytes' default blocksize for 4-bit
NF4_DOUBLE_BLOCK = 256  # double quantisation: one float32 per 256 int8 absmax values


def nf4_bytes(weights: int, double_quant: bool = False) -> int:
    """Bytes of `weights` nn.Linear weights in bitsandbytes NF4: 4 bits each plus the block absmax
    (float32 per 64 weights; with double quantisation int8 per 64 and float32 per 256 blocks)."""
    blocks = math.ceil(weights / NF4_BLOCK)
    absmax = blocks + math.ceil(blocks / NF4_DOUBLE_BLOCK) * 4 if double_quant else blocks * 4
    return weights // 2 + absmax


@dataclass(frozen=True)
class Component:
    """One sub-model (unet, text_encoder_2, vae, text, vision...), as parameter counts."""

    name: str
    linear_weights: int  # elements of nn.Linear weights: what bitsandbytes quantises
    linear_rows: int  # sum of out_features over those layers (INT8 keeps one scale per row)
    other: int  # everything else: biases, norms, convs, embeddings, buffers
    largest_layer: int  # elements of the biggest single leaf module (sequential offload peak)
    quantizable: bool  # the family quantises this part when a placement asks for nf4/int8
    fixed_bytes: int = 0  # buffers whose dtype is their own (boolean masks, float32 tables)
    buffers: int = 0  # elements allocated at load in the model's dtype (KV caches): sized, never downloaded
    double_quant: bool = False  # the family loads NF4 with bnb_4bit_use_double_quant

    @property
    def params(self) -> int:
        return self.linear_weights + self.other

    def bytes(self, dtype: torch.dtype, quant: str = "none") -> int:
        elt = _element_size(dtype)
        if quant == "none" or not self.quantizable:
            return (self.params + self.buffers) * elt + self.fixed_bytes
        if quant == "nf4":
            q = nf4_bytes(self.linear_weights, self.double_quant)
        elif quant == "int8":
            q = self.linear_weights + self.linear_rows * 4
        else:
            raise ValueError(f"unknown quantisation {quant!r}; expected none, nf4 or int8")
        return q + (self.other + self.buffers) * elt + self.fixed_bytes

    def largest_layer_bytes(self, dtype: torch.dtype) -> int:
        # Not discounted for quantisation: the biggest leaf is often an embedding or a conv.
        return self.largest_layer * _element_size(dtype)


@dataclass(frozen=True)
class Footprint:
    """A model's parts. `gpu_bytes` is what must sit on the GPU at once under an offload policy."""

    components: tuple[Component, ...]
    source: str = ""  # where the numbers came from, for the log line

    @property
    def params(self) -> int:
        return sum(c.params for c in self.components)

    def component_bytes(self, dtype: torch.dtype, quant: str = "none") -> dict[str, int]:
        return {c.name: c.bytes(dtype, quant) for c in self.components}

    def total_bytes(self, dtype: torch.dtype, quant: str = "none") -> int:
        return sum(self.component_bytes(dtype, quant).values())

    def gpu_bytes(self, dtype: torch.dtype, quant: str = "none", offload: str = "none") -> int:
        if not self.components:
            return 0
        if offload == "none":
            return self.total_bytes(dtype, quant)
        if offload == "model":  # accelerate moves one whole sub-model in at a time
            return max(self.component_bytes(dtype, quant).values())
        if offload == "sequential":  # one leaf module at a time
            return max(c.largest_layer_bytes(dtype) for c in self.components)
        raise ValueError(f"unknown offload {offload!r}; expected none, model or sequential")


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype, device="meta").element_size()


# --- counting real (or meta) modules


# transformers leaves the output head unquantised (`get_keys_to_not_convert`): count it as dense.
KEEP_DENSE = ("lm_head",)


def component_from_module(name: str, module: torch.nn.Module, quantizable: bool,
                          keep_dense: tuple[str, ...] = KEEP_DENSE, double_quant: bool = False) -> Component:
    """Count a module's parameters by layer type. Works on meta, CPU, CUDA and bnb-quantised modules."""
    linear_weights = linear_rows = total = largest = 0
    seen: set[int] = set()
    for qual, mod in module.named_modules():
        own = 0
        for t in list(mod.parameters(recurse=False)) + list(mod.buffers(recurse=False)):
            if id(t) in seen:
                continue
            seen.add(id(t))
            n = _logical_numel(t)
            own += n
            total += n
        if isinstance(mod, torch.nn.Linear) and not qual.split(".")[-1] in keep_dense:
            linear_weights += mod.in_features * mod.out_features
            linear_rows += mod.out_features
        largest = max(largest, own)
    return Component(name, linear_weights, linear_rows, total - linear_weights, largest, quantizable,
                     double_quant=double_quant)


def _logical_numel(t: torch.Tensor) -> int:
    # A bitsandbytes Params4bit holds packed uint8 (two weights a byte); count logical weights.
    qs = getattr(t, "quant_state", None)
    if qs is not None and getattr(qs, "shape", None) is not None:
        return math.prod(qs.shape)
    return t.numel()


def footprint_from_modules(modules: Mapping[str, torch.nn.Module | None], quantizable: Iterable[str] = (),
                           source: str = "modules", double_quant: bool = False) -> Footprint:
    q = set(quantizable)
    comps = tuple(component_from_module(n, m, n in q, double_quant=double_quant)
                  for n, m in modules.items() if isinstance(m, torch.nn.Module))
    return Footprint(comps, source)


# --- SDXL, from its four configs

SDXL_PARTS = ("unet", "text_encoder", "text_encoder_2", "vae")
# Balanced and Low quantise the UNet and the big OpenCLIP-bigG text encoder; CLIP-L (0.25 GB) and the
# VAE (0.17 GB, convolutions) gain nothing worth the quality risk.
SDXL_QUANTIZED = ("unet", "text_encoder_2")


def _sdxl_config(root: Path | None, part: str) -> dict:
    if root is not None and (root / part / "config.json").is_file():
        return json.loads((root / part / "config.json").read_text())
    return json.loads((SDXL_CONFIGS / part / "config.json").read_text())


@lru_cache(maxsize=32)
def sdxl_footprint(root: str | None = None, quantize_text_encoder_2: bool = True) -> Footprint:
    """SDXL sized from a diffusers-format directory's configs, or the bundled SDXL base configs.

    Every SDXL fine-tune (Juggernaut, Animagine, DreamShaper...) shares the base architecture, so a
    single-file checkpoint or one not yet downloaded is sized from the bundled configs. Single files
    load text_encoder_2 unquantised (the single-file CLIP loader takes no quantization_config)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    path = Path(root) if root else None
    if path is not None and not path.is_dir():
        path = None
    clean = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
    with torch.device("meta"):
        modules = {
            "unet": UNet2DConditionModel.from_config(clean(_sdxl_config(path, "unet"))),
            "text_encoder": CLIPTextModel(CLIPTextConfig.from_dict(clean(_sdxl_config(path, "text_encoder")))),
            "text_encoder_2": CLIPTextModelWithProjection(
                CLIPTextConfig.from_dict(clean(_sdxl_config(path, "text_encoder_2")))),
            "vae": AutoencoderKL.from_config(clean(_sdxl_config(path, "vae"))),
        }
    src = f"configs in {path}" if path is not None else "bundled SDXL base configs"
    quantized = SDXL_QUANTIZED if quantize_text_encoder_2 else ("unet",)
    return footprint_from_modules(modules, quantized, source=src)


# --- Moondream 2, from its config (no transformers class: count its layer shapes)


def _linear(i: int, o: int, bias: bool = True) -> tuple[int, int, int]:
    return i * o, o, o if bias else 0  # (weights, rows, bias)


def _component(name: str, linears: list[tuple[int, int, int]], other: int, quantizable: bool = True,
               fixed_bytes: int = 0, buffers: int = 0) -> Component:
    lw = sum(w for w, _, _ in linears)
    rows = sum(r for _, r, _ in linears)
    bias = sum(b for _, _, b in linears)
    largest = max([w + b for w, _, b in linears] + [other - bias if other > bias else 0])
    return Component(name, lw, rows, other + bias, largest, quantizable, fixed_bytes, buffers)


@lru_cache(maxsize=8)
def moondream_footprint(config_json: str | None = None) -> Footprint:
    """Moondream 2 (text: Phi-style decoder; vision: SigLIP encoder + projection MLP; region heads),
    as its code builds it from `config.py`'s dataclasses (`text`, `vision`, `region`).

    Only the text decoder's blocks are quantised (engine/families/moondream.py says why): the vision
    encoder calls `F.linear` on raw weights, and the region heads and `lm_head` stay dense. The KV
    caches (one per text block, the full context, allocated at load) count with the text model."""
    cfg = json.loads(config_json) if config_json else json.loads((CONFIGS / "moondream2.json").read_text())
    t, v, r = cfg["text"], cfg["vision"], cfg["region"]

    d, ff, heads, kv = t["dim"], t["ff_dim"], t["n_heads"], t.get("n_kv_heads", t["n_heads"])
    head_dim = d // heads
    ctx = t["max_context"]
    block = [_linear(d, (heads + 2 * kv) * head_dim), _linear(d, d), _linear(d, ff), _linear(ff, d)]
    text_lin = block * t["n_layers"]
    kv_cache = t["n_layers"] * 2 * kv * ctx * head_dim
    # wte, one LayerNorm a block, post_ln, the lm_head
    text_other = t["vocab_size"] * d + t["n_layers"] * 2 * d + 2 * d + (d + 1) * t["vocab_size"]
    # the boolean attention mask (context x context) and the float32 rotary table (context x head_dim/2)
    text_fixed = ctx * ctx + ctx * (head_dim // 2) * 4

    e, eff, p = v["enc_dim"], v["enc_ff_dim"], v["enc_patch_size"]
    vblock = [_linear(e, 3 * e), _linear(e, e), _linear(e, eff), _linear(eff, e)]
    vis_lin = ([_linear(p * p * v["in_channels"], e)] + vblock * v["enc_n_layers"]
               + [_linear(2 * e, v["proj_inner_dim"]), _linear(v["proj_inner_dim"], v["proj_out_dim"])])
    n_patches = (v["crop_size"] // p) ** 2
    vis_other = n_patches * e + v["enc_n_layers"] * 2 * 2 * e + 2 * e  # pos_emb, two LayerNorms a block, post_ln

    inner = r.get("inner_dim", 8192)
    reg_lin = [_linear(r["coord_feat_dim"], r["dim"]), _linear(r["dim"], inner), _linear(inner, r["coord_out_dim"]),
               _linear(r["size_feat_dim"], r["dim"]), _linear(r["dim"], inner), _linear(inner, r["size_out_dim"])]
    reg_other = r["coord_feat_dim"] // 2 + r["size_feat_dim"] // 2 * 2  # Fourier feature matrices

    return Footprint((
        _component("text", text_lin, text_other, fixed_bytes=text_fixed, buffers=kv_cache),
        _component("vision", vis_lin, vis_other, quantizable=False),
        _component("region", reg_lin, reg_other, quantizable=False),
    ), source="moondream2 config")


@lru_cache(maxsize=16)
def transformers_footprint(config_dir: str, double_quant: bool = False) -> Footprint:
    """A native transformers VLM (SmolVLM, Llava...) built on the meta device from its config.json
    (the thread-local `torch.device("meta")` mode, never accelerate's process-wide init_empty_weights)."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    cfg = AutoConfig.from_pretrained(config_dir, local_files_only=True)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(cfg)
    return footprint_from_modules({"model": model}, ("model",), source=f"config in {config_dir}",
                                  double_quant=double_quant)
