"""A tiny random-weight SDXL, built offline, for tests, `ATELIER_MODELS=tiny` and benchmarks.

It has SDXL's real structure (two text encoders of different widths, a text_time UNet, a 4-block
VAE with scale factor 8) at toy sizes, so it goes through exactly the loader that real
checkpoints go through. `to_single_file()` turns it into an original-layout (A1111/ComfyUI)
`.safetensors` like the fine-tunes users download, plus the sidecar config directory that
`from_single_file(config=...)` reads offline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

# A byte-level CLIP vocabulary: no merges, so every byte is a token. Offline and deterministic.
_BOS, _EOS = "<|startoftext|>", "<|endoftext|>"

SIZES = {
    # ~8 MB; 2 steps at 64x64 in ~0.2 s on a CPU core.
    "test": dict(unet_channels=(32, 64), te1=32, te2=48, vae_channels=(8, 16, 16, 16), te_layers=2),
    # Heavier per step: >= 1 s of inference at 256x256 and 8 steps on a 2-core CPU, for benchmarks.
    "bench": dict(unet_channels=(64, 128), te1=64, te2=96, vae_channels=(32, 64, 64, 64), te_layers=2),
}


def _byte_symbols() -> list[str]:
    # GPT-2's reversible byte -> printable unicode table (what CLIP's tokenizer uses).
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_tokenizer(dir: Path) -> int:
    """Writes a CLIPTokenizer to `dir`; returns its vocabulary size."""
    dir.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    tokens = [_BOS, _EOS, *symbols, *(s + "</w>" for s in symbols)]
    vocab = {t: i for i, t in enumerate(tokens)}
    (dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (dir / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    (dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,  # the default is huge and the pipeline then overflows
        "bos_token": _BOS, "eos_token": _EOS, "unk_token": _EOS, "pad_token": _EOS,
        "do_lower_case": True, "errors": "replace", "add_prefix_space": False,
    }), encoding="utf-8")
    (dir / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": _BOS, "eos_token": _EOS, "unk_token": _EOS, "pad_token": _EOS,
    }), encoding="utf-8")
    return len(vocab)


def build(dir: Path, size: str = "test", seed: int = 0) -> Path:
    """Builds a diffusers-format tiny SDXL directory at `dir` (replacing what is there)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    cfg = SIZES[size]
    dir = Path(dir)
    tmp = dir.with_name(dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    torch.manual_seed(seed)

    vocab = write_tokenizer(tmp / "_tok")
    tokenizer = CLIPTokenizer.from_pretrained(tmp / "_tok")
    tokenizer_2 = CLIPTokenizer.from_pretrained(tmp / "_tok")

    def text_config(width: int) -> CLIPTextConfig:
        return CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=width, intermediate_size=width * 2,
            layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=cfg["te_layers"], vocab_size=vocab,
            max_position_embeddings=77, hidden_act="gelu", projection_dim=width,
        )

    # Different widths, like CLIP-L (768) and OpenCLIP-bigG (1280): with equal widths the
    # single-file loader cannot tell the two apart.
    text_encoder = CLIPTextModel(text_config(cfg["te1"]))
    text_encoder_2 = CLIPTextModelWithProjection(text_config(cfg["te2"]))
    c0, c1 = cfg["unet_channels"]
    unet = UNet2DConditionModel(
        block_out_channels=(c0, c1), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=6 * 8 + cfg["te2"], cross_attention_dim=cfg["te1"] + cfg["te2"],
        norm_num_groups=min(32, c0),
    )
    vc = cfg["vae_channels"]
    vae = AutoencoderKL(
        block_out_channels=vc, in_channels=3, out_channels=3, latent_channels=4, sample_size=64,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=min(8, vc[0]), layers_per_block=1,
    )
    # Two properties of trained VAEs that img2img relies on, set by hand: a posterior with a tiny
    # variance (random weights give ~1, which buries the image in sampling noise), and a scaling
    # factor of 1 / std of the latents (SDXL's 0.13025 is that for its VAE). Otherwise img2img at
    # low strength would not stay near its input, and tests could not tell it from txt2img.
    with torch.no_grad():
        latent = vae.config.latent_channels
        vae.quant_conv.weight[latent:] = 0
        vae.quant_conv.bias[latent:] = -30.0
        probe = torch.nn.functional.interpolate(torch.rand(4, 3, 8, 8) * 2 - 1, size=64, mode="bilinear")
        vae.register_to_config(scaling_factor=float(1.0 / vae.encode(probe).latent_dist.mean.std()))
    scheduler = EulerDiscreteScheduler.from_pretrained(Path(__file__).parent / "configs" / "sdxl", subfolder="scheduler")
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler,
    )
    pipe.save_pretrained(tmp, safe_serialization=True)
    shutil.rmtree(tmp / "_tok")
    shutil.rmtree(dir, ignore_errors=True)
    tmp.rename(dir)
    return dir


# --- diffusers layout -> original (SGM) single-file layout. The reverse of what diffusers'
# single-file loader does; written generically over the number of blocks so it also fits the
# tiny UNet (diffusers' own script hard-codes SDXL's three blocks).

def _unet_to_original(sd: dict[str, torch.Tensor], n_blocks: int, layers: int) -> dict[str, torch.Tensor]:
    fixed = {
        "time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
        "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
        "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
    }
    resnet = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
              ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]
    prefixes: list[tuple[str, str]] = []
    for i in range(n_blocks):
        for j in range(layers):
            prefixes.append((f"down_blocks.{i}.resnets.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.0."))
            prefixes.append((f"down_blocks.{i}.attentions.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.1."))
        prefixes.append((f"down_blocks.{i}.downsamplers.0.conv.", f"input_blocks.{(layers + 1) * (i + 1)}.0.op."))
        for j in range(layers + 1):
            prefixes.append((f"up_blocks.{i}.resnets.{j}.", f"output_blocks.{(layers + 1) * i + j}.0."))
            prefixes.append((f"up_blocks.{i}.attentions.{j}.", f"output_blocks.{(layers + 1) * i + j}.1."))
    prefixes.append(("mid_block.attentions.0.", "middle_block.1."))
    prefixes += [(f"mid_block.resnets.{j}.", f"middle_block.{2 * j}.") for j in range(2)]
    has_up_attn = {int(k.split(".")[1]) for k in sd if k.startswith("up_blocks.") and ".attentions." in k}

    out = {}
    for key, value in sd.items():
        new = key
        for hf, ldm in fixed.items():
            if key.startswith(hf + "."):
                new = ldm + key[len(hf):]
        if "resnets" in key:
            for hf, ldm in resnet:
                new = new.replace(f".{hf}.", f".{ldm}.")
        if key.startswith("up_blocks.") and ".upsamplers.0." in key:
            i = int(key.split(".")[1])
            slot = 2 if i in has_up_attn else 1
            new = f"output_blocks.{(layers + 1) * i + layers}.{slot}." + key.split(".upsamplers.0.", 1)[1]
        else:
            for hf, ldm in prefixes:
                if new.startswith(hf):
                    new = ldm + new[len(hf):]
                    break
        out["model.diffusion_model." + new] = value
    return out


def _vae_to_original(sd: dict[str, torch.Tensor], n_blocks: int) -> dict[str, torch.Tensor]:
    pairs = [("conv_shortcut", "nin_shortcut"), ("conv_norm_out", "norm_out"), ("mid_block.attentions.0.", "mid.attn_1.")]
    for i in range(n_blocks):
        for j in range(2):
            pairs.append((f"encoder.down_blocks.{i}.resnets.{j}.", f"encoder.down.{i}.block.{j}."))
        for j in range(3):
            pairs.append((f"decoder.up_blocks.{i}.resnets.{j}.", f"decoder.up.{n_blocks - 1 - i}.block.{j}."))
        if i < n_blocks - 1:
            pairs.append((f"down_blocks.{i}.downsamplers.0.", f"down.{i}.downsample."))
            pairs.append((f"up_blocks.{i}.upsamplers.0.", f"up.{n_blocks - 1 - i}.upsample."))
    pairs += [(f"mid_block.resnets.{i}.", f"mid.block_{i + 1}.") for i in range(2)]
    attn = [("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."), ("to_out.0.", "proj_out.")]
    out = {}
    for key, value in sd.items():
        new = key
        for hf, ldm in pairs:
            new = new.replace(hf, ldm)
        if "attentions" in key:
            for hf, ldm in attn:
                new = new.replace(hf, ldm)
            if value.ndim == 2:  # linear in diffusers, 1x1 conv in the original
                value = value[:, :, None, None]
        out["first_stage_model." + new] = value
    return out


def _openclip_to_original(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    prefix = "conditioner.embedders.1.model."
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, list]] = {}
    for key, value in sd.items():
        if key == "text_projection.weight":
            out[prefix + "text_projection"] = value.T.contiguous()
            continue
        k = (key.replace("text_model.encoder.layers.", "transformer.resblocks.")
             .replace("layer_norm1", "ln_1").replace("layer_norm2", "ln_2")
             .replace(".mlp.fc1.", ".mlp.c_fc.").replace(".mlp.fc2.", ".mlp.c_proj.")
             .replace(".self_attn.", ".attn.")
             .replace("text_model.final_layer_norm.", "ln_final.")
             .replace("text_model.embeddings.token_embedding.weight", "token_embedding.weight")
             .replace("text_model.embeddings.position_embedding.weight", "positional_embedding"))
        for proj in ("q_proj", "k_proj", "v_proj"):
            if f".attn.{proj}." in k:
                base, kind = k.split(f".attn.{proj}.")
                qkv.setdefault(base, {}).setdefault(kind, [None, None, None])["qkv".index(proj[0])] = value
                break
        else:
            out[prefix + k] = value
    for base, kinds in qkv.items():
        for kind, parts in kinds.items():
            out[prefix + f"{base}.attn.in_proj_{kind}"] = torch.cat(parts)
    return out


def to_single_file(diffusers_dir: Path, out_file: Path) -> Path:
    """Converts a diffusers SDXL directory to one original-layout `.safetensors`.

    Also writes `<stem>.config/` next to it: the configs and tokenizers (no weights) that
    `from_single_file(config=...)` needs to load it offline. Real SDXL fine-tunes use the SDXL
    configs shipped in `engine/configs/sdxl` instead.
    """
    from safetensors.torch import load_file, save_file

    src = Path(diffusers_dir)
    unet_cfg = json.loads((src / "unet" / "config.json").read_text())
    vae_cfg = json.loads((src / "vae" / "config.json").read_text())
    state: dict[str, torch.Tensor] = {}
    state.update(_unet_to_original(load_file(src / "unet" / "diffusion_pytorch_model.safetensors"),
                                   len(unet_cfg["block_out_channels"]), unet_cfg["layers_per_block"]))
    state.update(_vae_to_original(load_file(src / "vae" / "diffusion_pytorch_model.safetensors"),
                                  len(vae_cfg["block_out_channels"])))
    state.update({"conditioner.embedders.0.transformer." + k: v
                  for k, v in load_file(src / "text_encoder" / "model.safetensors").items()})
    state.update(_openclip_to_original(load_file(src / "text_encoder_2" / "model.safetensors")))
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, out_file)

    cfg_dir = out_file.with_name(out_file.stem + ".config")
    shutil.rmtree(cfg_dir, ignore_errors=True)
    shutil.copytree(src, cfg_dir, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return out_file
