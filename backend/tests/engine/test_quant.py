"""4-bit layers that bitsandbytes' AVX512-BF16 CPU repacking cannot take keep the portable kernel."""

import pytest
import torch

bnb = pytest.importorskip("bitsandbytes")

from atelier.engine.quant import portable_4bit  # noqa: E402


def _quantized(*shapes: tuple[int, int]) -> torch.nn.Sequential:
    layers = []
    for n_in, n_out in shapes:
        layer = bnb.nn.Linear4bit(n_in, n_out, bias=False, compute_dtype=torch.float32, quant_type="nf4")
        layer.weight = bnb.nn.Params4bit(torch.randn(n_out, n_in), requires_grad=False, quant_type="nf4")
        layers.append(layer)
    model = torch.nn.Sequential(*layers).to("cpu")
    for layer in model:  # quantised on the move to a device; on CPU, quantise by hand
        if layer.weight.quant_state is None:
            layer.weight = layer.weight._quantize("cpu")
    return model.eval()


def test_small_layers_keep_the_portable_kernel_and_run_on_any_cpu():
    # 64 -> 16 (out_features not a multiple of 32), 16 -> 64 (in_features below the 64 block)
    model = _quantized((64, 16), (16, 64), (64, 64))
    for layer in model:
        layer.support_avx512bf16_for_cpu = True  # as bitsandbytes sets it on an AVX512-BF16 CPU
    assert portable_4bit(model) == 2
    assert [layer.support_avx512bf16_for_cpu for layer in model] == [False, False, True]
    with torch.inference_mode():
        out = model[1](model[0](torch.randn(2, 64)))
    assert out.shape == (2, 64) and torch.isfinite(out).all()


def test_a_model_without_4bit_layers_is_left_alone():
    assert portable_4bit(torch.nn.Sequential(torch.nn.Linear(4, 4))) == 0
