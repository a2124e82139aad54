"""Random-weight LoRAs for a tiny SDXL, in the two layouts users download (tests and benchmarks).

- kohya (sd-scripts, what civitai mostly serves): `lora_unet_<sgm module path>` and
  `lora_te1_` / `lora_te2_` keys with `.lora_down.weight`, `.lora_up.weight` and `.alpha`, kohya's
  `ss_*` metadata (base version, dim, alpha, tag frequencies, output name);
- diffusers / peft: `unet.<module path>.lora_A.weight` / `.lora_B.weight` and `text_encoder(_2).` keys,
  as `StableDiffusionXLPipeline.save_lora_weights` writes them.

Module paths and shapes are read from the model's own configs (built on the meta device), so a
file made here fits the tiny SDXL the same way a downloaded LoRA fits SDXL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch

ATTN = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v",
        "attn2.to_out.0")
TEXT = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj")


def _sgm(name: str, layers: int) -> str:
    """diffusers' UNet module path -> the original (SGM) one kohya writes for SDXL."""
    parts = name.split(".")
    if parts[0] == "down_blocks" and parts[2] == "attentions":
        head = f"input_blocks.{(layers + 1) * int(parts[1]) + int(parts[3]) + 1}.1"
        return ".".join([head, *parts[4:]])
    if parts[0] == "up_blocks" and parts[2] == "attentions":
        head = f"output_blocks.{(layers + 1) * int(parts[1]) + int(parts[3])}.1"
        return ".".join([head, *parts[4:]])
    if parts[0] == "mid_block" and parts[1] == "attentions":
        return ".".join(["middle_block.1", *parts[3:]])
    raise ValueError(f"no SGM name for {name}")


def _linears(model_dir: Path) -> dict[str, list[tuple[str, int, int]]]:
    """(module path, in_features, out_features) of the layers a LoRA targets, per component."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    out: dict[str, list[tuple[str, int, int]]] = {}
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(model_dir / "unet"))
        te1 = CLIPTextModel(CLIPTextConfig.from_pretrained(model_dir / "text_encoder"))
        te2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(model_dir / "text_encoder_2"))
    for comp, model, targets in (("unet", unet, ATTN), ("text_encoder", te1, TEXT), ("text_encoder_2", te2, TEXT)):
        out[comp] = [(n, m.in_features, m.out_features) for n, m in model.named_modules()
                     if isinstance(m, torch.nn.Linear) and n.endswith(targets)]
    out["_layers"] = [("", unet.config.layers_per_block, 0)]
    return out


def build(model_dir: Path, out_file: Path, fmt: Literal["kohya", "diffusers"] = "kohya", *, rank: int = 4,
          alpha: float | None = None, seed: int = 0, scale: float = 1.0, text_encoders: bool = True,
          metadata: dict[str, str] | None = None, dtype: torch.dtype = torch.float32) -> Path:
    """Writes a random LoRA for the SDXL at `model_dir` (a diffusers folder) to `out_file`.

    `scale` multiplies the up/B weights: a LoRA whose effect a test can see at 64x64 and 2 steps."""
    from safetensors.torch import save_file

    alpha = float(rank if alpha is None else alpha)
    g = torch.Generator().manual_seed(seed)
    layers = _linears(Path(model_dir))
    per_block = layers.pop("_layers")[0][1]
    if not text_encoders:
        layers = {"unet": layers["unet"]}
    sd: dict[str, torch.Tensor] = {}
    for comp, mods in layers.items():
        for name, fan_in, fan_out in mods:
            down = torch.randn(rank, fan_in, generator=g) / fan_in ** 0.5
            up = torch.randn(fan_out, rank, generator=g) * scale / rank ** 0.5
            if fmt == "kohya":
                prefix = {"unet": "lora_unet_", "text_encoder": "lora_te1_", "text_encoder_2": "lora_te2_"}[comp]
                path = _sgm(name, per_block) if comp == "unet" else name
                key = prefix + path.replace(".", "_")
                sd[f"{key}.lora_down.weight"] = down.to(dtype)
                sd[f"{key}.lora_up.weight"] = up.to(dtype)
                sd[f"{key}.alpha"] = torch.tensor(alpha).to(dtype)
            else:
                sd[f"{comp}.{name}.lora_A.weight"] = down.to(dtype)
                sd[f"{comp}.{name}.lora_B.weight"] = up.to(dtype)
    meta = {}
    if fmt == "kohya":
        meta = {"ss_base_model_version": "sdxl_base_v1-0", "ss_network_dim": str(rank),
                "ss_network_alpha": str(alpha), "ss_output_name": Path(out_file).stem,
                "ss_tag_frequency": json.dumps({"1_style": {"inkwash": 40, "monochrome": 12, "1girl": 3}})}
    meta.update(metadata or {})
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(out_file), metadata=meta)
    return out_file
