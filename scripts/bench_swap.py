#!/usr/bin/env python
"""Swap between two checkpoints held in the RAM cache vs a cold `from_pretrained` (issue 5).

Two random-init causal LMs of a few hundred MB are saved as safetensors, then loaded through the
real ModelManager on a card that holds only one of them: every switch evicts the other to the RAM
cache, and switching back is a swap from RAM instead of a disk load. Target: swap >= 5x faster.

    .venv/bin/python scripts/bench_swap.py [--mb 400] [--swaps 6] [--device auto|cpu|cuda] [--out FILE]

On a CPU-only machine "the GPU" is simulated (the models stay in RAM), so a swap there measures the
manager's bookkeeping and planning only; with --device cuda it includes the real host-to-device copy.
Cold loads read files the OS has just written, so the page cache is warm: a best case for "cold".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from atelier.core.config import Settings  # noqa: E402
from atelier.engine.base import Family, ModelSpec, Placement  # noqa: E402
from atelier.engine.catalog import Catalog  # noqa: E402
from atelier.engine.manager import ModelManager  # noqa: E402
from atelier.engine.vram import planner as vp  # noqa: E402
from atelier.engine.vram.footprint import footprint_from_modules  # noqa: E402


def build_checkpoint(out: Path, mb: int, seed: int) -> int:
    from transformers import LlamaConfig, LlamaForCausalLM

    hidden, inter, vocab = 1024, 2816, 32000
    per_layer = 4 * hidden * hidden + 3 * hidden * inter
    layers = max(1, (mb * 2**20 // 2 - 2 * vocab * hidden) // per_layer)  # fp16: 2 bytes a parameter
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=int(layers),
                      num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=False)
    torch.manual_seed(seed)
    with torch.device("cpu"):
        model = LlamaForCausalLM(cfg).to(torch.float16)
    model.save_pretrained(out)
    return sum(p.numel() * p.element_size() for p in model.parameters())


class Loaded:
    def __init__(self, spec, placement, model):
        self.spec, self.placement, self.model = spec, placement, model

    def modules(self):
        return {"model": self.model}

    def to(self, device):
        self.model.to(device)

    def close(self):
        self.model = None


class CheckpointFamily(Family):
    name = "bench"

    def __init__(self, dirs: dict[str, Path]):
        self.dirs = dirs

    def is_downloaded(self, spec):
        return True

    def parts(self, spec):
        from transformers import AutoConfig, LlamaForCausalLM

        with torch.device("meta"):
            m = LlamaForCausalLM(AutoConfig.from_pretrained(self.dirs[spec.id]))
        return footprint_from_modules({"model": m}, ("model",))

    def load(self, spec, placement: Placement):
        from transformers import LlamaForCausalLM

        m = LlamaForCausalLM.from_pretrained(self.dirs[spec.id], dtype=placement.dtype)
        return Loaded(spec, placement, m.to(placement.device))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=400, help="size of each checkpoint in fp16 (MB)")
    ap.add_argument("--swaps", type=int, default=6)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"

    with tempfile.TemporaryDirectory(prefix="atelier-bench-swap-") as tmp:
        dirs = {mid: Path(tmp) / mid for mid in ("ckpt-a", "ckpt-b")}
        size = 0
        for i, (mid, d) in enumerate(dirs.items()):
            size = build_checkpoint(d, args.mb, seed=i)
        fam = CheckpointFamily(dirs)
        specs = [ModelSpec(id=mid, kind="vision", family="bench", source=str(d), local=True) for mid, d in dirs.items()]
        reserve = vp.working_reserve(vp.Task(kind="vision"))
        total = reserve + int(1.5 * size)  # room for one checkpoint: every switch evicts the other

        mgr: ModelManager

        def probe():
            if device == "cuda":
                free, tot = torch.cuda.mem_get_info()
                ours = sum(sum(n for d, n in e.bytes.items() if d.startswith("cuda")) for e in mgr._entries.values())
                # Emulate a card that holds one checkpoint beside the reserve, whatever the real one is.
                return vp.DeviceInfo("cuda", torch.cuda.get_device_name(), total, total - ours)
            ours = sum(sum(e.bytes.values()) for e in mgr._entries.values() if e.tier == "gpu")
            return vp.DeviceInfo("cuda", "simulated card (CPU)", total, total - ours)

        settings = Settings(vram_mode="high", ram_cache_gb=4 * size / vp.GiB, model_ttl=0,
                            device="cuda" if device == "cuda" else "cpu")
        mgr = ModelManager(settings, Catalog(specs), {"bench": fam}, probe=probe,
                           gpu_device=device, ram_probe=None)

        cold = []
        for spec in specs:  # each first use is a cold from_pretrained (then the other is evicted to RAM)
            t0 = time.perf_counter()
            got = mgr.acquire_detailed(spec)
            sync(device)
            cold.append((time.perf_counter() - t0) * 1000)
            assert got.source == "disk", got.source
        swaps = []
        for i in range(args.swaps):
            spec = specs[i % 2]
            t0 = time.perf_counter()
            got = mgr.acquire_detailed(spec)
            sync(device)
            swaps.append((time.perf_counter() - t0) * 1000)
            assert got.source == "ram_cache", (got.source, got.plan.log)
        # A plain cold from_pretrained outside the manager, for reference.
        t0 = time.perf_counter()
        m = fam.load(specs[0], Placement(device=device, dtype=torch.float16))
        sync(device)
        plain = (time.perf_counter() - t0) * 1000
        del m
        mgr.unload()

    cold_ms = statistics.median(cold + [plain])
    swap_ms = statistics.median(swaps)
    result = {
        "benchmark": "swap_vs_cold_load",
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "simulated_gpu": device == "cpu",
        "checkpoint_bytes": size,
        "cold_from_pretrained_ms": [round(x, 1) for x in cold + [plain]],
        "swap_from_ram_cache_ms": [round(x, 2) for x in swaps],
        "median_cold_ms": round(cold_ms, 1),
        "median_swap_ms": round(swap_ms, 2),
        "speedup": round(cold_ms / swap_ms, 1),
        "target_speedup": 5,
        "meets_target": cold_ms / swap_ms >= 5,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
