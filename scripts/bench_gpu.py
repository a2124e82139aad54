#!/usr/bin/env python
"""VRAM manager on a real GPU (issue 5): peak VRAM and s/step at 1024x1024 per mode, swap times and
the leak check, under a per-process memory cap that emulates 12 GB and 16 GB cards.

No download: a full-size SDXL (SDXL base's published configs, random weights) and a vision model of
Moondream 2's size (its Phi-1.5-shaped text decoder and SigLIP-shaped encoder, random weights) are
built on the GPU once, saved to a scratch directory, and then loaded through the production code:
the real SDXL family (diffusers from_pretrained, bitsandbytes NF4, CPU offload, VAE tiling) and the
ModelManager + planner. Random weights give noise images; timings and memory are what count.

    .venv/bin/python scripts/bench_gpu.py [--cards 12,16] [--modes high,balanced,low] [--steps 4]
                                          [--scratch /tmp/atelier-bench-gpu] [--out docs/bench_gpu.json]

Needs CUDA. Each (card, mode) runs: caption-sized vision call, generation at 1024x1024, a switch to
a second SDXL checkpoint and back (RAM-cache swap), then unload-all and the leak check.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

GiB = 1024**3


# --------------------------------------------------------------------------- building (once)

def build_sdxl(out: Path) -> Path:
    if (out / "model_index.json").exists():
        return out
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from atelier.engine.tiny_sdxl import write_tokenizer
    from atelier.engine.vram.footprint import SDXL_CONFIGS

    def cfg(part):
        return {k: v for k, v in json.loads((SDXL_CONFIGS / part / "config.json").read_text()).items()
                if not k.startswith("_")}

    tmp = out.with_name(out.name + ".partial")
    write_tokenizer(tmp / "_tok")  # a byte-level CLIP vocabulary: offline, ids fit CLIP's 49408 rows
    tok = CLIPTokenizer.from_pretrained(tmp / "_tok", model_max_length=77)
    with torch.device("cuda"):  # random init on the GPU: seconds instead of minutes on the CPU
        unet = UNet2DConditionModel.from_config(cfg("unet")).half()
        vae = AutoencoderKL.from_config(cfg("vae")).half()
        te1 = CLIPTextModel(CLIPTextConfig.from_dict(cfg("text_encoder"))).half()
        te2 = CLIPTextModelWithProjection(CLIPTextConfig.from_dict(cfg("text_encoder_2"))).half()
    sched = EulerDiscreteScheduler.from_pretrained(SDXL_CONFIGS, subfolder="scheduler")
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tok, tokenizer_2=tok,
                                     unet=unet, scheduler=sched)
    pipe.save_pretrained(tmp, safe_serialization=True, variant="fp16")
    del pipe, unet, vae, te1, te2
    free_all()
    tmp.rename(out)
    return out


def build_vision(out: Path) -> Path:
    """Moondream 2's shapes: Phi-1.5-like decoder (2048 wide, 24 layers, ff 8192, vocab 51200) and a
    SigLIP so400m-like encoder (1152 wide, 27 layers, ff 4304, 378 px crops of 14 px patches)."""
    if (out / "text" / "config.json").exists():
        return out
    from transformers import PhiConfig, PhiForCausalLM, SiglipVisionConfig, SiglipVisionModel

    with torch.device("cuda"):
        text = PhiForCausalLM(PhiConfig(vocab_size=51200, hidden_size=2048, intermediate_size=8192,
                                        num_hidden_layers=24, num_attention_heads=32,
                                        max_position_embeddings=2048)).half()
        vision = SiglipVisionModel(SiglipVisionConfig(hidden_size=1152, intermediate_size=4304,
                                                      num_hidden_layers=27, num_attention_heads=16,
                                                      image_size=378, patch_size=14)).half()
    text.save_pretrained(out / "text")
    vision.save_pretrained(out / "vision")
    del text, vision
    free_all()
    return out


# --------------------------------------------------------------------------- the vision stand-in family

class VisionStandIn:
    def __init__(self, spec, placement, text, vision):
        self.spec, self.placement, self.text, self.vision = spec, placement, text, vision

    def modules(self):
        return {"text": self.text, "vision": self.vision}

    def to(self, device):
        if self.placement.quant != "none":
            raise RuntimeError("quantised: reload to move")  # like the real vision families
        for m in self.modules().values():
            m.to(device)

    def close(self):
        self.text = self.vision = None

    @torch.inference_mode()
    def caption(self):
        dev = next(self.text.parameters()).device
        img = torch.randn(1, 3, 378, 378, device=dev, dtype=self.placement.dtype)
        self.vision(pixel_values=img)
        ids = torch.randint(0, 51200, (1, 730), device=dev)  # Moondream's 730-token image prefix
        self.text.generate(ids, max_new_tokens=32, do_sample=False)


class VisionStandInFamily:
    name = "bench-vision"

    def __init__(self, root: Path):
        self.root = root

    def is_downloaded(self, spec):
        return True

    def download_hint(self, spec):
        return ""

    def footprint(self, spec):
        from atelier.engine.vram.footprint import moondream_footprint

        return moondream_footprint()

    def estimate_bytes(self, spec, placement):
        return self.footprint(spec).total_bytes(placement.dtype, placement.quant)

    def load(self, spec, placement):
        from transformers import BitsAndBytesConfig, PhiForCausalLM, SiglipVisionModel

        kw = {"dtype": placement.dtype}
        if placement.quant == "nf4":
            kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=placement.dtype)
            kw["device_map"] = {"": 0}
        text = PhiForCausalLM.from_pretrained(self.root / "text", **kw)
        vision = SiglipVisionModel.from_pretrained(self.root / "vision", **kw)
        if placement.quant == "none":
            text.to(placement.device)
            vision.to(placement.device)
        if placement.offload != "none":
            from accelerate import cpu_offload

            for m in (text, vision):
                m.to("cpu")
                cpu_offload(m, execution_device=torch.device("cuda"))
        return VisionStandIn(spec, placement, text, vision)


# --------------------------------------------------------------------------- measuring

def free_all():
    gc.collect()
    torch.cuda.empty_cache()


class StepClock:
    """A JobContext stand-in: records when each denoising step ends."""

    cancelled = False

    def __init__(self):
        self.times = []

    def emit(self, type, **data):
        if type == "step":
            torch.cuda.synchronize()
            self.times.append(time.perf_counter())

    def raise_if_cancelled(self):
        pass


def run_case(card_gib: int, mode: str, sdxl_dir: Path, vision_dir: Path, steps: int) -> dict:
    from atelier.core.config import Settings
    from atelier.engine.base import ModelSpec
    from atelier.engine.catalog import Catalog
    from atelier.engine.families import sdxl as sdxl_family
    from atelier.engine.manager import ModelManager
    from atelier.engine.vram import planner as vp

    total_dev = torch.cuda.get_device_properties(0).total_memory
    cap = card_gib * GiB
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total_dev))
    free_all()
    baseline = torch.cuda.memory_allocated()

    def probe():  # what a card of that size would report (mem_get_info ignores the fraction)
        return vp.DeviceInfo("cuda", f"{torch.cuda.get_device_name()} capped at {card_gib} GiB", cap,
                             cap - torch.cuda.memory_reserved())

    specs = [
        ModelSpec(id="sdxl-a", kind="generation", family="sdxl", source=str(sdxl_dir), local=True),
        ModelSpec(id="sdxl-b", kind="generation", family="sdxl", source=str(sdxl_dir), local=True),
        ModelSpec(id="vision", kind="vision", family="bench-vision", source=str(vision_dir), local=True),
    ]
    settings = Settings(vram_mode=mode, ram_cache_gb=32, model_ttl=0, device="cuda")
    mgr = ModelManager(settings, Catalog(specs), {"sdxl": sdxl_family.FAMILY,
                                                  "bench-vision": VisionStandInFamily(vision_dir)}, probe=probe)
    out: dict = {"card_gib": card_gib, "mode": mode}
    try:
        # 1. A caption-sized vision call.
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        mgr.run(specs[2], lambda m: m.caption(), vp.Task(kind="vision"))
        out["vision_s"] = round(time.perf_counter() - t0, 2)
        out["vision_peak_gib"] = round(torch.cuda.max_memory_allocated() / GiB, 2)
        out["vision_placement"] = mgr.status()["models"][2].get("quantization")

        # 2. Generation at 1024x1024.
        task = vp.Task(kind="generation", width=1024, height=1024)
        req = sdxl_family.SDXLRequest(prompt="a lighthouse at dusk", width=1024, height=1024, steps=steps,
                                      guidance_scale=5.0, seeds=[0])
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        got = mgr.acquire_detailed(specs[0], task)
        out["sdxl_load_s"] = round(time.perf_counter() - t0, 2)
        out["plan"] = got.plan.log
        out["sdxl_placement"] = {"quant": got.plan.placement.quant, "offload": got.plan.placement.offload,
                                 "vae_tiling": got.plan.placement.vae_tiling}
        clock = StepClock()
        t0 = time.perf_counter()
        mgr.run(specs[0], lambda m: m.generate(req, clock), task)
        torch.cuda.synchronize()
        gaps = [b - a for a, b in zip([t0] + clock.times, clock.times)][1:]  # drop step 1 (warm-up)
        out["s_per_step"] = round(statistics.median(gaps), 3) if gaps else None
        out["generate_s"] = round(time.perf_counter() - t0, 2)
        out["generate_peak_gib"] = round(torch.cuda.max_memory_allocated() / GiB, 2)
        out["effective_mode"] = mgr.effective_mode()[0]  # differs if OOM recovery dropped a mode
        out["vision_still_on_gpu"] = mgr.tier("vision") == "gpu"

        # 3. Swap to checkpoint B and back: the second switch comes from the RAM cache where it can.
        t0 = time.perf_counter()
        b = mgr.acquire_detailed(specs[1], task)
        torch.cuda.synchronize()
        out["switch_to_b"] = {"source": b.source, "s": round(time.perf_counter() - t0, 2)}
        t0 = time.perf_counter()
        a = mgr.acquire_detailed(specs[0], task)
        torch.cuda.synchronize()
        out["switch_back_to_a"] = {"source": a.source, "s": round(time.perf_counter() - t0, 2)}
    except Exception as exc:  # noqa: BLE001 - record and carry on with the next case
        out["error"] = f"{type(exc).__name__}: {str(exc)[:400]}"
        out["traceback"] = traceback.format_exc().splitlines()[-6:]
    finally:
        # 4. Leak check: unload everything; allocated memory must return to the baseline.
        mgr.unload()
        free_all()
        out["after_unload_allocated_mib"] = round((torch.cuda.memory_allocated() - baseline) / 2**20, 1)
        out["leak_free"] = torch.cuda.memory_allocated() - baseline < 16 * 2**20
        torch.cuda.set_per_process_memory_fraction(1.0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cards", default="12,16")
    ap.add_argument("--modes", default="high,balanced,low")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--scratch", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "atelier-bench-gpu")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_gpu.json")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA device", file=sys.stderr)
        return 2
    args.scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sdxl_dir = build_sdxl(args.scratch / "sdxl-random")
    vision_dir = build_vision(args.scratch / "moondream-sized")
    build_s = time.perf_counter() - t0
    results = []
    for card in [int(c) for c in args.cards.split(",")]:
        for mode in args.modes.split(","):
            r = run_case(card, mode, sdxl_dir, vision_dir, args.steps)
            print(json.dumps({k: v for k, v in r.items() if k not in ("plan", "traceback")}), flush=True)
            results.append(r)
    report = {
        "benchmark": "vram_manager_gpu",
        "device": torch.cuda.get_device_name(),
        "device_total_gib": round(torch.cuda.get_device_properties(0).total_memory / GiB, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "resolution": "1024x1024",
        "steps": args.steps,
        "build_s": round(build_s, 1),
        "cases": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
