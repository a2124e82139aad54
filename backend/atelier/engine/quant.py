"""4-bit layers that run on every CPU.

bitsandbytes (0.47+) repacks a 4-bit weight on its first CPU forward for an AVX512-BF16 kernel,
and that repacking needs out_features a multiple of 32 and in_features a multiple of the
quantisation block: a layer that is not (a small head, such as a region or point head of a
vision model; every layer of the tiny test models) fails with "N must be divisible by block_n" on
CPUs with AVX512-BF16, and only there. Such layers keep bitsandbytes' portable kernel. On CUDA
the flag is never read.
"""

from __future__ import annotations

from typing import Any

PACK_BLOCK_N = 32  # bitsandbytes.functional._convert_weight_packed_for_cpu's block_n


def portable_4bit(model: Any) -> int:
    """Keep layers the AVX512-BF16 repacking cannot take on the portable kernel; how many."""
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:  # bitsandbytes is optional on machines that never quantise
        return 0
    changed = 0
    for module in model.modules():
        if not isinstance(module, Linear4bit) or not getattr(module, "support_avx512bf16_for_cpu", False):
            continue
        state = getattr(module.weight, "quant_state", None)
        n, k = tuple(getattr(state, "shape", None) or (module.out_features, module.in_features))[:2]
        block = getattr(state, "blocksize", 64) or 64
        if n % PACK_BLOCK_N or k % block or k < block:
            module.support_avx512bf16_for_cpu = False
            changed += 1
    return changed
