#!/usr/bin/env python
"""LoRA adapters (issue 20): first load of a ~150 MB LoRA, switching between two attached sets, and
the step-time overhead of two LoRAs.

    .venv/bin/python scripts/bench_lora.py [--mb 150] [--switches 20] [--device auto|cpu|cuda] [--out FILE]

Everything runs through the production code: the SDXL family's loader, `LoraAdapters.apply` (the call
a generation job makes), kohya-format files written by `atelier.engine.tiny_lora`. On a CPU the model
is the "bench"-size tiny SDXL at 64x64 (two ~150 MB LoRAs need a rank far above its widths: the file
size, the load and the switch are what is measured, the step overhead is not SDXL's). On CUDA,
scripts/bench_gpu.py calls `measure()` on the full-size random SDXL it builds, at 1024x1024.
Targets: switch <= 50 ms, first load <= 3 s; step overhead with two LoRAs reported (GPU target <= 25%).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from atelier.engine import tiny_lora  # noqa: E402
from atelier.engine.base import ModelSpec, Placement  # noqa: E402
from atelier.engine.families.lora import LoraIndex, check_request, lora_set  # noqa: E402
from atelier.engine.families.sdxl import FAMILY, SDXLRequest  # noqa: E402

SWITCH_MS, FIRST_LOAD_S, STEP_OVERHEAD = 50.0, 3.0, 0.25


def _rank_for(model_dir: Path, mb: float) -> int:
    """The rank that makes a kohya fp16 LoRA of about `mb` MB for this model's attention layers."""
    layers = tiny_lora._linears(model_dir)
    layers.pop("_layers")
    per_rank = sum((i + o) * 2 for mods in layers.values() for _, i, o in mods)
    return max(1, round(mb * 2**20 / per_rank))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(sdxl_dir: Path, device: str, dtype: torch.dtype, *, mb: float = 150, switches: int = 20,
            steps: int = 2, size: int = 64, scratch: Path | None = None) -> dict:
    scratch = Path(scratch or tempfile.mkdtemp(prefix="atelier-bench-lora-"))
    loras = scratch / "loras"
    rank = _rank_for(sdxl_dir, mb)
    for name, seed in (("style-a", 1), ("style-b", 2)):
        if not (loras / f"{name}.safetensors").exists():
            tiny_lora.build(sdxl_dir, loras / f"{name}.safetensors", "kohya", rank=rank, seed=seed, scale=0.5,
                            dtype=torch.float16)
    index = LoraIndex(loras)
    file_mb = (loras / "style-a.safetensors").stat().st_size / 2**20
    model = FAMILY.load(ModelSpec(id="bench", kind="generation", family="sdxl", source=str(sdxl_dir), local=True),
                        Placement(device=device, dtype=dtype))

    def chosen(pairs):
        return lora_set(check_request(index, pairs, []), 4 * 2**30)

    one, two = chosen([("style-a", 1.0)]), chosen([("style-a", 0.8), ("style-b", 0.6)])
    # 1. First load: read the file, convert kohya keys, attach, select (what a job's first use costs).
    _sync(device)
    t0 = time.perf_counter()
    model.loras.apply(one)
    _sync(device)
    first_load_s = time.perf_counter() - t0
    model.loras.apply(two)  # attaches style-b
    # 2. Switching between the two attached sets: set_adapters only.
    times = []
    for i in range(switches):
        _sync(device)
        t0 = time.perf_counter()
        model.loras.apply(one if i % 2 == 0 else two)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000)

    # 3. Step time with no LoRA and with two (the first step of each run is a warm-up).
    def step_s(loras) -> float:
        marks: list[float] = []

        class Ctx:
            cancelled = False

            def emit(self, type, **data):
                if type == "step":
                    _sync(device)
                    marks.append(time.perf_counter())

            def raise_if_cancelled(self):
                pass

        model.generate(SDXLRequest(prompt="a lighthouse at dusk", width=size, height=size, steps=steps, seeds=[1],
                                   loras=loras), Ctx())
        gaps = [b - a for a, b in zip(marks[1:], marks[2:])]  # marks[0] is "denoising began"
        return statistics.median(gaps) if gaps else float("nan")

    step_s(None)  # warm-up
    bare = statistics.median([step_s(None) for _ in range(3)])
    with_two = statistics.median([step_s(two) for _ in range(3)])
    overhead = with_two / bare - 1
    return {
        "device": device, "dtype": str(dtype).removeprefix("torch."), "resolution": f"{size}x{size}", "steps": steps,
        "lora_file_mb": round(file_mb, 1), "lora_rank": rank, "attached_mb": round(model.loras.bytes / 2**20, 1),
        "first_load_s": round(first_load_s, 3), "switch_ms_median": round(statistics.median(times), 2),
        "switch_ms_max": round(max(times), 2), "step_s_bare": round(bare, 4), "step_s_two_loras": round(with_two, 4),
        "step_overhead": round(overhead, 3),
        "meets_target": statistics.median(times) <= SWITCH_MS and first_load_s <= FIRST_LOAD_S,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=150)
    ap.add_argument("--switches", type=int, default=20)
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    scratch = Path(tempfile.gettempdir()) / "atelier-bench-lora"
    sdxl_dir = scratch / "tiny-sdxl-bench"
    if not (sdxl_dir / "model_index.json").exists():
        from atelier.engine import tiny_sdxl

        tiny_sdxl.build(sdxl_dir, size="bench")
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    result = {"benchmark": "lora", **measure(sdxl_dir, device, torch.float16 if device == "cuda" else torch.float32,
                                             mb=args.mb, switches=args.switches, scratch=scratch)}
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
