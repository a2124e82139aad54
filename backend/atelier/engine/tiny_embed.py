"""A tiny random-weight SigLIP (image and text towers) built offline: `tiny-embed`.

Saved like the hub's SigLIP 2 checkpoints (config.json with `model_type: siglip`, safetensors,
preprocessor_config.json, a fast tokenizer), so `engine/families/siglip.py` loads it through the
same code that loads `google/siglip2-base-patch16-224`. Random weights give meaningless vectors:
tests assert norms, shapes, determinism and batch invariance, never what is similar to what.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

# SigLIP's special tokens sit at the front of its vocabularies (pad 0, eos 1, unk 2).
_SPECIALS = ["<pad>", "</s>", "<unk>"]
DIM = 32  # the embedding width of both towers
IMAGE_SIZE = 32
PATCH_SIZE = 8
MAX_TOKENS = 64  # what SigLIP 2 was trained with: every text is padded to it


def build_tokenizer():
    """Byte-level (one token per byte, no merges, so any text round-trips) with an EOS appended,
    as SigLIP's tokenizers do."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    vocab = {tok: i for i, tok in enumerate(_SPECIALS)}
    for sym in bytes_to_unicode().values():
        vocab.setdefault(sym, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", eos_token="</s>", pad_token="<pad>",
        model_max_length=MAX_TOKENS, padding_side="right", model_input_names=["input_ids"],
    )


def build(out_dir: Path) -> Path:
    """Write the tiny SigLIP checkpoint to `out_dir` (~100 KB) and return it."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    final = Path(out_dir)
    # Built beside the target and renamed at the end: a half-written directory never looks finished.
    out_dir = final.with_name(final.name + ".partial")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    tokenizer = build_tokenizer()
    config = SiglipConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": DIM, "intermediate_size": 2 * DIM,
            "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": MAX_TOKENS,
            "pad_token_id": 0, "eos_token_id": 1, "projection_size": DIM,
        },
        vision_config={
            "hidden_size": DIM, "intermediate_size": 2 * DIM, "num_hidden_layers": 2,
            "num_attention_heads": 2, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE,
        },
    )
    torch.manual_seed(0)
    model = SiglipModel(config).eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    SiglipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, resample=2,
                         image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "ATELIER_TINY.json").write_text(json.dumps({"built_by": "atelier.engine.tiny_embed"}))
    shutil.rmtree(final, ignore_errors=True)
    out_dir.rename(final)
    return final
