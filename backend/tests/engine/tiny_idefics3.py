"""A tiny random-weight SmolVLM (transformers' Idefics3: SigLIP-style vision tower, pixel-shuffle
connector, Llama text model), built offline from the real classes and saved as SmolVLM is on the
hub: config, safetensors, Idefics3 processor (image splitting into tiles plus a global image),
tokenizer with SmolVLM's special tokens, and SmolVLM's chat template.

Loaded through `engine/families/vlm.py` like `HuggingFaceTB/SmolVLM-256M-Instruct`. Random
weights give garbage text: tests assert types, shapes and counts, never content.
"""

from __future__ import annotations

from pathlib import Path

import torch

# SmolVLM-256M-Instruct's chat template (its chat_template.json): "User:<image>text<end_of_utterance>".
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
SPECIALS = (["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
             "<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)])
IMAGE_SIZE = 32  # tiles of 32 px, patches of 8: 16 patches, pixel-shuffled by 2 into 4 image tokens
PATCH_SIZE = 8
SCALE_FACTOR = 2


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for sym in bytes_to_unicode().values():
        vocab.setdefault(sym, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<|im_start|>", eos_token="<end_of_utterance>", pad_token="<|endoftext|>",
        unk_token="<|endoftext|>", additional_special_tokens=SPECIALS[3:], model_max_length=8192,
        padding_side="left")


def build(out_dir: Path) -> Path:
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor,
                              Idefics3Processor, LlamaConfig)
    from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    eos = tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    vision = Idefics3VisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  image_size=IMAGE_SIZE, patch_size=PATCH_SIZE)
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
                       tie_word_embeddings=False)
    config = Idefics3Config(vision_config=vision.to_dict(), text_config=text.to_dict(), scale_factor=SCALE_FACTOR,
                            image_token_id=image_token, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = Idefics3ForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(out_dir, safe_serialization=True)
    image_processor = Idefics3ImageProcessor(size={"longest_edge": 2 * IMAGE_SIZE},
                                             max_image_size={"longest_edge": IMAGE_SIZE})
    image_seq_len = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR**2
    Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=image_seq_len,
                      chat_template=CHAT_TEMPLATE).save_pretrained(out_dir)
    return out_dir
