"""LoRAs on a loaded tiny SDXL, through the production loader: kohya and diffusers files, weights,
two at once, switching sets without reloading, NF4, LRU eviction."""

import numpy as np
import pytest
import torch

from atelier.core.errors import InvalidParameter
from atelier.engine import tiny_lora
from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.families.lora import LoraIndex, check_request, lora_set
from atelier.engine.families.sdxl import FAMILY, SDXLRequest


@pytest.fixture(scope="module")
def tiny_dir(tiny_models_dir):
    return tiny_models_dir / "tiny" / "tiny-sdxl"


@pytest.fixture(scope="module")
def index(tiny_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("loras")
    tiny_lora.build(tiny_dir, d / "ink.safetensors", "kohya", seed=1, scale=3.0)
    tiny_lora.build(tiny_dir, d / "peft.safetensors", "diffusers", seed=2, scale=3.0)
    tiny_lora.build(tiny_dir, d / "unet-only.safetensors", "kohya", seed=3, scale=3.0, text_encoders=False)
    # An SDXL-looking LoRA whose shapes fit another model: fails at attach time, as a 400.
    from safetensors.torch import save_file

    save_file({"lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight": torch.ones(4, 999),
               "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight": torch.ones(64, 4)},
              str(d / "misfit.safetensors"), metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    return LoraIndex(d)


def _spec(tiny_dir) -> ModelSpec:
    return ModelSpec(id="tiny-sdxl", kind="generation", family="sdxl", source=str(tiny_dir), local=True)


def _run(model, index, loras=()) -> np.ndarray:
    uses = check_request(index, list(loras), [])
    req = SDXLRequest(prompt="a lighthouse", width=64, height=64, steps=2, seeds=[7],
                      loras=lora_set(uses, 2**30) if uses else None)
    return np.asarray(model.generate(req).images[0], dtype=np.float32)


@pytest.fixture(scope="module")
def model(tiny_dir):
    return FAMILY.load(_spec(tiny_dir), Placement())


def _lora_layers(module, key: str) -> int:
    return sum(1 for m in module.modules() if hasattr(m, "lora_A") and key in m.lora_A)


def test_a_kohya_lora_attaches_to_every_layer_it_names(model, index, tiny_dir):
    _run(model, index, [("ink", 1.0)])
    key = index.find("ink").key
    expected = tiny_lora._linears(tiny_dir)
    assert _lora_layers(model.pipe.unet, key) == len(expected["unet"])
    assert _lora_layers(model.pipe.text_encoder, key) == len(expected["text_encoder"])
    assert _lora_layers(model.pipe.text_encoder_2, key) == len(expected["text_encoder_2"])


def test_output_moves_with_weight_and_weight_zero_is_the_bare_model(model, index):
    base = _run(model, index)
    half, full = _run(model, index, [("ink", 0.5)]), _run(model, index, [("ink", 1.0)])
    zero = _run(model, index, [("ink", 0.0)])
    d_half, d_full = np.abs(half - base).mean(), np.abs(full - base).mean()
    assert d_half > 1 and d_full > d_half  # a visible change, larger at a larger weight
    assert np.array_equal(zero, base)
    assert np.array_equal(_run(model, index), base)  # a job without LoRAs after one with: disabled


def test_diffusers_format_two_at_once_and_switching_without_reloading(model, index):
    unet, pipe = model.pipe.unet, model.pipe
    base = _run(model, index)
    ink, peft = _run(model, index, [("ink", 1.0)]), _run(model, index, [("peft", 1.0)])
    both = _run(model, index, [("ink", 1.0), ("peft", 1.0)])
    assert np.abs(peft - base).mean() > 1
    assert np.abs(both - ink).mean() > 1 and np.abs(both - peft).mean() > 1
    # Switching back is a set_adapters: same pipeline, same UNet, the same images as before.
    assert np.array_equal(_run(model, index, [("ink", 1.0)]), ink)
    assert np.array_equal(_run(model, index, [("peft", 1.0)]), peft)
    assert model.pipe is pipe and model.pipe.unet is unet
    assert {a["name"] for a in model.loras.status()} >= {"ink", "peft"}
    # img2img shares the modules, so it sees the same adapters.
    assert model.img2img.unet is unet


def test_adapters_count_in_the_model_bytes_and_the_least_recently_used_is_dropped(tiny_dir, index):
    m = FAMILY.load(_spec(tiny_dir), Placement())
    bare = sum(module_bytes_by_device(m.modules()).values())
    _run(m, index, [("ink", 1.0)])
    with_ink = sum(module_bytes_by_device(m.modules()).values())
    assert with_ink - bare == m.loras.bytes > 0
    # A budget of one adapter: attaching a second drops the least recently used one not in use.
    one = m.loras.bytes
    uses = check_request(index, [("unet-only", 1.0)], [])
    m.generate(SDXLRequest(prompt="x", width=64, height=64, steps=1, seeds=[1], loras=lora_set(uses, one)))
    assert [a["name"] for a in m.loras.status()] == ["unet-only"]
    assert _lora_layers(m.pipe.unet, index.find("ink").key) == 0


def test_a_lora_that_does_not_fit_is_a_400_and_the_model_still_runs(tiny_dir, index):
    m = FAMILY.load(_spec(tiny_dir), Placement())
    base = _run(m, index)
    with pytest.raises(InvalidParameter) as e:
        _run(m, index, [("misfit", 1.0)])
    assert e.value.status == 400 and "misfit" in e.value.message
    assert np.array_equal(_run(m, index), base)
    assert np.abs(_run(m, index, [("ink", 1.0)]) - base).mean() > 1


def test_nf4_unet_takes_loras_unfused(tiny_dir, index):
    import bitsandbytes as bnb

    m = FAMILY.load(_spec(tiny_dir), Placement(quant="nf4"))
    assert any(isinstance(x, bnb.nn.Linear4bit) for x in m.pipe.unet.modules())
    # On CPUs with AVX512-BF16, bitsandbytes repacks a 4-bit weight at its first forward for a bf16
    # kernel, and any cast of the module (diffusers casts while attaching) unpacks it again: outputs
    # then move by a few 1/255 between the two kernels, LoRA or not. CUDA has one kernel; here every
    # layer keeps the portable one so that "weight 0 equals no LoRA" can be checked exactly.
    for part in (m.pipe.unet, m.pipe.text_encoder_2):
        for layer in part.modules():
            if isinstance(layer, bnb.nn.Linear4bit):
                layer.support_avx512bf16_for_cpu = False
    packed = {n: p.data.clone() for n, p in m.pipe.unet.named_parameters() if p.dtype == torch.uint8}
    base = _run(m, index)
    full = _run(m, index, [("ink", 1.0)])
    assert np.abs(full - base).mean() > 1
    assert np.array_equal(_run(m, index, [("ink", 0.0)]), base)
    assert np.array_equal(_run(m, index), base)
    # The 4-bit weights are never rewritten (fusing would re-quantise them).
    after = {n: p.data for n, p in m.pipe.unet.named_parameters() if p.dtype == torch.uint8}
    assert packed and all(torch.equal(packed[n].flatten(), after[n.replace(".base_layer", "")].flatten())
                          if n in after else True for n in packed)
    wrapped = [x for x in m.pipe.unet.modules() if hasattr(x, "lora_A") and isinstance(x.base_layer, bnb.nn.Linear4bit)]
    assert wrapped
