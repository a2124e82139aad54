"""A tiny random-weight Llava (CLIP vision tower + Llama text model) built offline.

It is saved like any hub checkpoint (config, safetensors, tokenizer, processor, chat template),
so `AutoProcessor.from_pretrained(dir)` and `AutoModelForImageTextToText.from_pretrained(dir)`
load it through the very code path that loads real VLMs (`engine/families/vlm.py`).
Random weights give garbage text: tests assert types, shapes and counts, never content.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

# Byte-level alphabet of GPT-2 (the 256 printable stand-ins for bytes), so any text round-trips
# through the tokenizer without a vocabulary download. No merges: one token per byte.
_SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]

# A small ChatML-style template: system prompts, multi-turn, string or content-part messages.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

IMAGE_SIZE = 30
PATCH_SIZE = 6


def _byte_symbols() -> list[str]:
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    return list(bytes_to_unicode().values())


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(_SPECIALS)}
    for sym in _byte_symbols():
        vocab.setdefault(sym, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        additional_special_tokens=["<image>"],
        model_max_length=2048,
        padding_side="left",  # batched generation pads on the left
        model_input_names=["input_ids", "attention_mask"],  # Llama takes no token_type_ids
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build(out_dir: Path) -> Path:
    """Write the tiny Llava checkpoint to `out_dir` (a few hundred KB) and return it."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    import shutil

    final = Path(out_dir)
    # Build beside the target and rename at the end: a half-written directory (an interrupted
    # build) must never look like a finished checkpoint to `ensure_tiny_models`.
    out_dir = final.with_name(final.name + ".partial")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    tokenizer = build_tokenizer()
    vocab_size = len(tokenizer)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")

    vision = CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, projection_dim=16,
    )
    text = LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    n_image_tokens = (IMAGE_SIZE // PATCH_SIZE) ** 2
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_id,
        vision_feature_select_strategy="default", vision_feature_layer=-1,
        image_seq_length=n_image_tokens,
    )
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(out_dir, safe_serialization=True)

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
    )
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default", chat_template=CHAT_TEMPLATE,
        image_token="<image>", num_additional_image_tokens=1,  # CLIP's CLS token
    )
    processor.save_pretrained(out_dir)
    (out_dir / "ATELIER_TINY.json").write_text(json.dumps({"built_by": "atelier.engine.tiny_vlm"}))
    shutil.rmtree(final, ignore_errors=True)
    out_dir.rename(final)
    return final
