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
    .venv/bin/python scripts/bench_gpu.py --smoke [--out /tmp/bench_gpu_smoke.json]

Needs CUDA. Each (card, mode) runs: caption-sized vision call, generation at 1024x1024, a switch to
a second SDXL checkpoint and back (RAM-cache swap), then unload-all and the leak check. Beside the
timings and peaks it records the planner's figures (model, reserve, planned total: what this run
calibrates) and the loaded weights against the planner's estimate. Exit status 1 if any case failed.

--smoke runs the same flow on the CPU in about 30 s, so that a GPU day is not spent on a typo
(backend/tests/test_bench_gpu.py runs it). Everything else is shared; smoke mode differs only in:
  - sizes: `SIZES["tiny"]` (SDXL: atelier.engine.tiny_sdxl's configs with one layer per block) built
    on the CPU, 64x64 and 2 steps, instead of full-size models built on the GPU, 1024x1024, 4 steps;
  - the card: `SimulatedCard` instead of `CudaCard`, simulated as the manager's own tests do: "GPU"
    models stay on the CPU (gpu_device="cpu") and the probe reports the card's size minus the bytes
    of the models the manager holds on it; no per-process memory fraction;
  - the measurements: peak VRAM and allocated-after-unload are n/a (null); the leak check keeps its
    weak-reference half (every torch module loaded must be garbage after unload);
  - the RAM cache ignores the host's free RAM (ram_probe=None), one CPU thread, and the default
    scratch and output paths (never docs/bench_gpu.json).
The placements are the GPU ones (float16, NF4, model offload): bitsandbytes >= 0.50 runs NF4 on the CPU
and the SDXL family lets diffusers' quantizer start without a GPU (`_bnb_quantizer_on_cpu`), so NF4 is
exercised too. Only a GPU shows: CUDA kernels, memory figures and timings, real host<->device moves
(a RAM-cache swap is a no-op move on the CPU), and evictions forced by size (tiny models never fill a
nominal 12/16 GiB card; the modes' own rules still evict and swap through the RAM cache).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import time
import traceback
import weakref
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
import atelier  # noqa: E402,F401 - before anything imports torchvision (atelier/core/torchvision_compat.py)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

GiB = 1024**3
MiB = 1024**2

# Model shapes. "full": SDXL base (its published configs, shipped in engine/configs/sdxl) and Moondream 2's
# Phi-1.5-like decoder and SigLIP so400m-like encoder. "tiny": the smoke run's toy sizes.
# vision_use_head=False: Moondream's encoder has no attention-pooling head, and that head's
# nn.MultiheadAttention cannot run once bitsandbytes has swapped its out_proj for a 4-bit Linear.
SIZES = {
    "full": {
        "sdxl": None,  # engine/configs/sdxl as published
        "text": dict(vocab_size=51200, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                     num_attention_heads=32, max_position_embeddings=2048),
        "vision": dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                       image_size=378, patch_size=14, vision_use_head=False),
    },
    "tiny": {
        # atelier.engine.tiny_sdxl's "test" configs, with one layer per block: CPU NF4 quantisation costs
        # ~10 ms a Linear layer whatever its size, and this halves their number.
        "sdxl": {"unet": {"layers_per_block": 1, "transformer_layers_per_block": [1, 1]}},
        "text": dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, max_position_embeddings=256),
        "vision": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       image_size=56, patch_size=14, vision_use_head=False),
    },
}
CAPTION_TOKENS = 32


# --------------------------------------------------------------------------- the card: real or simulated

class CudaCard:
    """A real GPU, capped per process to the emulated card's size."""

    smoke = False
    build_device = "cuda"  # random init on the GPU: seconds instead of minutes on the CPU
    settings_device = "cuda"

    def describe(self) -> dict:
        return {"device": torch.cuda.get_device_name(),
                "device_total_gib": round(torch.cuda.get_device_properties(0).total_memory / GiB, 1),
                "cuda": torch.version.cuda, "peak_memory": "torch.cuda.max_memory_allocated"}

    def manager_kwargs(self) -> dict:
        return {}

    def cap(self, card_bytes: int) -> None:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, card_bytes / total))

    def uncap(self) -> None:
        torch.cuda.set_per_process_memory_fraction(1.0)

    def probe(self, card_gib: int, mgr):
        """What a card of that size would report (mem_get_info ignores the fraction)."""
        from atelier.engine.vram import planner as vp

        cap = card_gib * GiB
        return vp.DeviceInfo("cuda", f"{torch.cuda.get_device_name()} capped at {card_gib} GiB", cap,
                             cap - torch.cuda.memory_reserved())

    def free_all(self) -> None:
        gc.collect()
        torch.cuda.empty_cache()

    def sync(self) -> None:
        torch.cuda.synchronize()

    def reset_peak(self) -> None:
        torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        return round(torch.cuda.max_memory_allocated() / GiB, 2)

    def allocated(self) -> int | None:
        return torch.cuda.memory_allocated()


class SimulatedCard(CudaCard):
    """--smoke: no CUDA call. The manager keeps "GPU" models on the CPU, and the card reports its
    size minus what the manager holds on it (as backend/tests/engine/test_vram_manager.py does)."""

    smoke = True
    build_device = "cpu"
    settings_device = "cpu"

    def describe(self) -> dict:
        return {"device": "cpu (simulated cards)", "device_total_gib": None, "cuda": None,
                "peak_memory": "n/a (smoke: simulated card)"}

    def manager_kwargs(self) -> dict:
        return {"gpu_device": "cpu", "ram_probe": None}

    def cap(self, card_bytes: int) -> None:
        pass

    def uncap(self) -> None:
        pass

    def probe(self, card_gib: int, mgr):
        from atelier.engine.vram import planner as vp

        cap = card_gib * GiB
        held = sum(sum(e.bytes.values()) for e in mgr._entries.values() if e.tier == "gpu") if mgr else 0
        return vp.DeviceInfo("cuda", f"simulated {card_gib} GiB card", cap, cap - held)

    def free_all(self) -> None:
        gc.collect()

    def sync(self) -> None:
        pass

    def reset_peak(self) -> None:
        pass

    def peak_gib(self) -> float | None:
        return None

    def allocated(self) -> int | None:
        return None


# --------------------------------------------------------------------------- building (once)

def _fresh(out: Path) -> Path:
    """A clean `<out>.partial` to build in; renamed to `out` when complete, so an interrupted build
    is never mistaken for a finished one."""
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def build_sdxl(out: Path, size: str, device: str) -> Path:
    if (out / "model_index.json").exists():
        return out
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from atelier.engine.tiny_sdxl import write_tokenizer
    from atelier.engine.vram.footprint import SDXL_CONFIGS

    configs, overrides = SDXL_CONFIGS, SIZES[size]["sdxl"]
    if overrides is not None:  # the project's tiny SDXL: its configs, built here like the full ones
        from atelier.engine import tiny_sdxl

        configs = out.with_name(out.name + ".configs")
        if not (configs / "model_index.json").exists():
            tiny_sdxl.build(configs, size="test")

    def cfg(part):
        c = json.loads((configs / part / "config.json").read_text())
        return {k: v for k, v in c.items() if not k.startswith("_")} | (overrides or {}).get(part, {})

    tmp = _fresh(out)
    write_tokenizer(tmp / "_tok")  # a byte-level CLIP vocabulary: offline, ids fit CLIP's 49408 rows
    tok = CLIPTokenizer.from_pretrained(tmp / "_tok", model_max_length=77)
    with torch.device(device):
        unet = UNet2DConditionModel.from_config(cfg("unet")).half()
        vae = AutoencoderKL.from_config(cfg("vae")).half()
        te1 = CLIPTextModel(CLIPTextConfig.from_dict(cfg("text_encoder"))).half()
        te2 = CLIPTextModelWithProjection(CLIPTextConfig.from_dict(cfg("text_encoder_2"))).half()
    sched = EulerDiscreteScheduler.from_pretrained(SDXL_CONFIGS, subfolder="scheduler")
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tok, tokenizer_2=tok,
                                     unet=unet, scheduler=sched)
    pipe.save_pretrained(tmp, safe_serialization=True, variant="fp16")
    shutil.rmtree(tmp / "_tok")
    del pipe, unet, vae, te1, te2
    gc.collect()
    tmp.rename(out)
    return out


def build_vision(out: Path, size: str, device: str) -> Path:
    """Moondream 2's shapes ("full"): Phi-1.5-like decoder (2048 wide, 24 layers, ff 8192, vocab 51200)
    and a SigLIP so400m-like encoder (1152 wide, 27 layers, ff 4304, 378 px crops of 14 px patches)."""
    if (out / "vision" / "config.json").exists():
        return out
    from transformers import PhiConfig, PhiForCausalLM, SiglipVisionConfig, SiglipVisionModel

    tmp = _fresh(out)
    with torch.device(device):
        text = PhiForCausalLM(PhiConfig(**SIZES[size]["text"])).half()
        vision = SiglipVisionModel(SiglipVisionConfig(**SIZES[size]["vision"])).half()
    text.save_pretrained(tmp / "text")
    vision.save_pretrained(tmp / "vision")
    del text, vision
    gc.collect()
    tmp.rename(out)
    return out


# --------------------------------------------------------------------------- the vision stand-in family

class VisionStandIn:
    def __init__(self, spec, placement, text, vision):
        self.spec, self.placement, self.text, self.vision = spec, placement, text, vision
        self.device = torch.device(placement.device)  # where inputs go

    def modules(self):
        return {"text": self.text, "vision": self.vision}

    def to(self, device):
        if self.placement.quant != "none":
            raise RuntimeError("quantised: reload to move")  # like the real vision families
        for m in self.modules().values():
            m.to(device)
        self.device = torch.device(device)
        self.placement = replace(self.placement, device=device)

    def close(self):
        self.text = self.vision = None

    @torch.inference_mode()
    def caption(self):
        v = self.vision.config
        img = torch.randn(1, 3, v.image_size, v.image_size, device=self.device, dtype=self.placement.dtype)
        self.vision(pixel_values=img)
        n = (v.image_size // v.patch_size) ** 2 + 1  # Moondream: 729 patch tokens + BOS = a 730-token prefix
        ids = torch.randint(0, self.text.config.vocab_size, (1, n), device=self.device)
        self.text.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=CAPTION_TOKENS,
                           do_sample=False, pad_token_id=0)


class VisionStandInFamily:
    name = "bench-vision"

    def __init__(self, root: Path):
        self.root = root

    def is_downloaded(self, spec):
        return True

    def download_hint(self, spec):
        return ""

    def footprint(self, spec):
        """The stand-in's own sizes, from its configs on the meta device, so plans match what loads
        (at full size 5% under moondream_footprint(), which has region heads; the report gives both)."""
        from transformers import PhiConfig, PhiForCausalLM, SiglipVisionConfig, SiglipVisionModel

        from atelier.engine.vram.footprint import footprint_from_modules

        with torch.device("meta"):
            text = PhiForCausalLM(PhiConfig.from_pretrained(self.root / "text"))
            vision = SiglipVisionModel(SiglipVisionConfig.from_pretrained(self.root / "vision"))
        return footprint_from_modules({"text": text, "vision": vision}, ("text", "vision"),
                                      source=f"configs in {self.root}")

    def estimate_bytes(self, spec, placement):
        return self.footprint(spec).total_bytes(placement.dtype, placement.quant)

    def load(self, spec, placement):
        """Loaded as the Moondream family loads (engine/families/moondream.py): its bitsandbytes config and
        device map; like it, no CPU offload (NF4 weights and accelerate's offload hooks do not mix)."""
        from transformers import PhiForCausalLM, SiglipVisionModel

        from atelier.engine.families.vlm import bnb_config
        from atelier.engine.quant import portable_4bit

        kw = {"dtype": placement.dtype, "use_safetensors": True}
        quant = bnb_config(placement)
        if quant is not None:
            kw["quantization_config"] = quant
            kw["device_map"] = {"": 0} if placement.device == "cuda" else "cpu"
        else:
            kw["device_map"] = {"": placement.device if placement.device != "cuda" else 0}
        text = PhiForCausalLM.from_pretrained(self.root / "text", **kw).eval()
        vision = SiglipVisionModel.from_pretrained(self.root / "vision", **kw).eval()
        if quant is not None:
            portable_4bit(text)
            portable_4bit(vision)
        return VisionStandIn(spec, placement, text, vision)


# --------------------------------------------------------------------------- measuring

class StepClock:
    """A JobContext stand-in: records when each denoising step ends."""

    cancelled = False

    def __init__(self, card: CudaCard):
        self.card = card
        self.times: list[float] = []

    def emit(self, type, **data):
        if type == "step" and data.get("step", 1) >= 1:  # step 0 says denoising began: no step ended
            self.card.sync()
            self.times.append(time.perf_counter())

    def raise_if_cancelled(self):
        pass


def _gib(n: int) -> float:
    return round(n / GiB, 3)


def run_case(card: CudaCard, card_gib: int, mode: str, sdxl_dir: Path, vision_dir: Path, steps: int,
             size: int) -> dict:
    from atelier.core.config import Settings
    from atelier.engine.base import ModelSpec, module_bytes_by_device
    from atelier.engine.catalog import Catalog
    from atelier.engine.families import sdxl as sdxl_family
    from atelier.engine.manager import ModelManager, placement_dict
    from atelier.engine.vram import planner as vp

    card.cap(card_gib * GiB)
    card.free_all()
    baseline = card.allocated()

    specs = [
        ModelSpec(id="sdxl-a", kind="generation", family="sdxl", source=str(sdxl_dir), local=True),
        ModelSpec(id="sdxl-b", kind="generation", family="sdxl", source=str(sdxl_dir), local=True),
        ModelSpec(id="vision", kind="vision", family="bench-vision", source=str(vision_dir), local=True),
    ]
    settings = Settings(vram_mode=mode, ram_cache_gb=32, model_ttl=0, device=card.settings_device)
    mgr = None
    mgr = ModelManager(settings, Catalog(specs), {"sdxl": sdxl_family.FAMILY,
                                                  "bench-vision": VisionStandInFamily(vision_dir)},
                       probe=lambda: card.probe(card_gib, mgr), **card.manager_kwargs())
    loaded: list[weakref.ref] = []  # every torch module loaded: all must be garbage after unload

    def track(model):
        loaded.extend(weakref.ref(m) for m in model.modules().values() if m is not None)
        return model

    def row(model_id):
        return next(m for m in mgr.status()["models"] if m["id"] == model_id)

    def weights(spec, model, placement) -> dict:
        """Bytes the loaded weights hold (any device) against the planner's estimate for the placement:
        a part silently in the wrong dtype shows here. NF4 reads ~1-5% low: bnb keeps absmax outside
        the parameters."""
        held = sum(module_bytes_by_device(model.modules()).values())
        estimated = mgr.footprint(spec).total_bytes(placement.dtype, placement.quant)
        return {"loaded_mib": round(held / MiB, 2), "estimated_mib": round(estimated / MiB, 2),
                "ratio": round(held / estimated, 3)}

    def caption(model):
        track(model).caption()
        return model

    out: dict = {"card_gib": card_gib, "mode": mode}
    try:
        # 1. A caption-sized vision call.
        card.reset_peak()
        t0 = time.perf_counter()
        vis = mgr.run(specs[2], caption, vp.Task(kind="vision"))
        out["vision_s"] = round(time.perf_counter() - t0, 2)
        out["vision_peak_gib"] = card.peak_gib()
        r = row("vision")
        out["vision_placement"] = {"dtype": r["dtype"], "quant": r["quantization"], "offload": r["offload"]}
        out["vision_weights"] = weights(specs[2], vis, vis.placement)
        del vis

        # 2. Generation at size x size.
        task = vp.Task(kind="generation", width=size, height=size)
        req = sdxl_family.SDXLRequest(prompt="a lighthouse at dusk", width=size, height=size, steps=steps,
                                      guidance_scale=5.0, seeds=[0])
        card.reset_peak()
        t0 = time.perf_counter()
        got = mgr.acquire_detailed(specs[0], task)
        track(got.model)
        out["sdxl_load_s"] = round(time.perf_counter() - t0, 2)
        out["plan"] = got.plan.log
        p = got.plan.placement
        out["sdxl_placement"] = {"dtype": placement_dict(p)["dtype"], "quant": p.quant, "offload": p.offload,
                                 "vae_tiling": p.vae_tiling}
        # The planner's figures, to hold against the measured peak (what this benchmark calibrates).
        out["planned_gib"] = {"model": _gib(got.plan.model_gpu_bytes), "reserve": _gib(got.plan.reserve_bytes),
                              "total": _gib(got.plan.planned_gpu_bytes), "fits": got.plan.fits}
        out["sdxl_weights"] = weights(specs[0], got.model, p)
        clock = StepClock(card)
        t0 = time.perf_counter()
        result = mgr.run(specs[0], lambda m: m.generate(req, clock), task)
        card.sync()
        out["generate_s"] = round(time.perf_counter() - t0, 2)
        # Time between step ends; the first gap (prompt encoding + step 1, the warm-up) is left out.
        gaps = [t1 - t_prev for t_prev, t1 in zip([t0] + clock.times, clock.times, strict=False)][1:]
        out["s_per_step"] = round(statistics.median(gaps), 3) if gaps else None
        out["steps_timed"] = len(clock.times)
        out["image_size"] = list(result.images[0].size)
        out["generate_peak_gib"] = card.peak_gib()
        out["effective_mode"] = mgr.effective_mode()[0]  # differs if OOM recovery dropped a mode
        out["vision_still_on_gpu"] = mgr.tier("vision") == "gpu"

        # 3. Swap to checkpoint B and back: the second switch comes from the RAM cache where it can.
        t0 = time.perf_counter()
        b = mgr.acquire_detailed(specs[1], task)
        track(b.model)
        card.sync()
        out["switch_to_b"] = {"source": b.source, "s": round(time.perf_counter() - t0, 2)}
        t0 = time.perf_counter()
        a = mgr.acquire_detailed(specs[0], task)
        track(a.model)
        card.sync()
        out["switch_back_to_a"] = {"source": a.source, "s": round(time.perf_counter() - t0, 2)}
        out["tiers"] = {s.id: mgr.tier(s.id) for s in specs}
        del got, b, a, result
    except Exception as exc:  # noqa: BLE001 - record and carry on with the next case
        out["error"] = f"{type(exc).__name__}: {str(exc)[:400]}"
        out["traceback"] = traceback.format_exc().splitlines()[-12:]
    finally:
        # 4. Leak check: unload everything; every module must be garbage and allocated memory back at baseline.
        out["unloaded"] = sorted(mgr.unload())
        card.free_all()
        alive = sum(ref() is not None for ref in loaded)
        out["modules_alive_after_unload"] = alive
        now = card.allocated()
        if now is None:  # smoke: no allocator to ask
            out["after_unload_allocated_mib"] = None
            out["leak_free"] = alive == 0 and bool(loaded)
        else:
            out["after_unload_allocated_mib"] = round((now - baseline) / MiB, 1)
            out["leak_free"] = alive == 0 and now - baseline < 16 * MiB
        card.uncap()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true",
                    help="the same flow on the CPU with tiny models and simulated cards, in seconds")
    ap.add_argument("--cards", default="12,16")
    ap.add_argument("--modes", default="high,balanced,low")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default 4; smoke 2)")
    ap.add_argument("--size", type=int, default=None, help="image side in px (default 1024; smoke 64)")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="where the random-weight models are built (default $TMPDIR/atelier-bench-gpu[-smoke])")
    ap.add_argument("--out", type=Path, default=None,
                    help="the JSON report (default docs/bench_gpu.json; smoke: <scratch>/bench_gpu_smoke.json)")
    args = ap.parse_args(argv)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    if args.smoke:
        # Tiny models: one CPU thread beats two (OpenMP start-up and spinning cost more than the ops).
        torch.set_num_threads(1)
        card: CudaCard = SimulatedCard()
        sizes, steps, size = "tiny", args.steps or 2, args.size or 64
        scratch = args.scratch or tmp / "atelier-bench-gpu-smoke"
        out_path = args.out or scratch / "bench_gpu_smoke.json"
    else:
        if not torch.cuda.is_available():
            print("bench_gpu.py needs a CUDA device (or --smoke for the CPU dry run)", file=sys.stderr)
            return 2
        card = CudaCard()
        sizes, steps, size = "full", args.steps or 4, args.size or 1024
        scratch = args.scratch or tmp / "atelier-bench-gpu"
        out_path = args.out or ROOT / "docs" / "bench_gpu.json"
    if steps < 2:
        print("--steps must be at least 2 (the first step is the warm-up, not timed)", file=sys.stderr)
        return 2
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # Separate names per size: a smoke build must never be mistaken for the full-size one.
    sdxl_dir = build_sdxl(scratch / f"sdxl-random-{sizes}", sizes, card.build_device)
    vision_dir = build_vision(scratch / f"moondream-sized-{sizes}", sizes, card.build_device)
    build_s = time.perf_counter() - t0
    # Everything alive now (the libraries) is never garbage: keep it out of the many gc.collect() calls
    # the manager makes. What the cases load is created later, so the leak check still sees it.
    gc.collect()
    gc.freeze()
    results = []
    for card_gib in [int(c) for c in args.cards.split(",")]:
        for mode in args.modes.split(","):
            r = run_case(card, card_gib, mode, sdxl_dir, vision_dir, steps, size)
            print(json.dumps({k: v for k, v in r.items() if k not in ("plan", "traceback")}), flush=True)
            results.append(r)

    upscaler_path = build_upscaler(scratch / f"esrgan-random-{sizes}.safetensors", sizes)
    upscale_side = 1024 if sizes == "full" else 64
    upscales = [run_upscale(card, int(c), upscaler_path, upscale_side) for c in args.cards.split(",")]
    for u in upscales:
        print(json.dumps({k: v for k, v in u.items() if k != "traceback"}), flush=True)

    from atelier.engine.vram.footprint import moondream_footprint

    vision_fp = VisionStandInFamily(vision_dir).footprint(None)
    report = {
        "benchmark": "vram_manager_gpu",
        "smoke": args.smoke,
        **card.describe(),
        "torch": torch.__version__,
        "resolution": f"{size}x{size}",
        "steps": steps,
        "build_s": round(build_s, 1),
        "vision_stand_in_fp16_gib": _gib(vision_fp.total_bytes(torch.float16)),
        "moondream2_fp16_gib": _gib(moondream_footprint().total_bytes(torch.float16)),
        "cases": results,
        "upscale": upscales,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out_path}")
    failed = [f"{r['card_gib']} GiB {r['mode']}: {'; '.join(problems(r))}" for r in results if problems(r)]
    for u in upscales:
        if "error" in u or not u.get("size_ok"):
            failed.append(f"upscale on {u['card_size_gib']} GiB: {u.get('error', 'wrong output size')}")
        elif u.get("peak_gib") is not None and u["peak_gib"] > UPSCALE_TARGET_GIB:
            failed.append(f"upscale on {u['card_size_gib']} GiB: peak {u['peak_gib']} GiB > {UPSCALE_TARGET_GIB} GiB")
    for line in failed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


# --------------------------------------------------------------------------- upscale 1024 -> 4096 (issue 21)
UPSCALE_TARGET_GIB = 10.0


def build_upscaler(out: Path, sizes: str) -> Path:
    """A random-weight ESRGAN of Real-ESRGAN x4plus's shape (64 filters, 23 blocks; tiny: 8 and 1),
    as a .safetensors that the production family loads through spandrel."""
    if out.exists():
        return out
    import atelier  # noqa: F401 - torchvision compatibility before spandrel
    from safetensors.torch import save_file
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    model = ESRGAN(num_filters=64, num_blocks=23, scale=4) if sizes == "full" else ESRGAN(num_filters=8, num_blocks=1)
    tmp = out.with_name(out.name + ".partial")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(out)
    return out


def run_upscale(card: CudaCard, card_gib: int, path: Path, side: int) -> dict:
    """One side x side image to 4x through the upscaler family, the tile from the planner for what a
    card of `card_gib` has left beside the weights: seconds and peak memory."""
    from PIL import Image

    from atelier.engine.base import ModelSpec, Placement
    from atelier.engine.families.upscaler import FAMILY
    from atelier.engine.vram import planner as vp

    out: dict = {"card_size_gib": card_gib, "input": f"{side}x{side}", "output": f"{side * 4}x{side * 4}"}
    spec = ModelSpec(id="esrgan-random", kind="upscaler", family="upscaler", source=str(path), local=True)
    try:
        card.cap(card_gib * GiB)
        card.free_all()
        device = "cpu" if card.smoke else "cuda"
        model = FAMILY.load(spec, Placement(device=device, dtype=torch.float16 if not card.smoke else torch.float32))
        weights = sum(p.numel() * p.element_size() for p in model.descriptor.model.parameters())
        room = card_gib * GiB - weights
        tile = vp.upscale_tile(room, 4, 2 if not card.smoke else 4)
        img = Image.radial_gradient("L").resize((side, side)).convert("RGB")
        model.upscale(img.resize((64, 64)), tile=64)  # warm-up: kernels, cuDNN autotune
        card.sync()
        card.reset_peak()
        t0 = time.perf_counter()
        r = model.upscale(img, tile=tile)
        card.sync()
        out.update(tile=tile, tiles=r.tiles, seconds=round(time.perf_counter() - t0, 2), peak_gib=card.peak_gib(),
                   weights_mib=round(weights / 2**20, 1), planned_tile_reserve_gib=_gib(vp.upscale_reserve(tile, tile, 4, 2)),
                   size_ok=r.image.size == (side * 4, side * 4))
        model.close()
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        out.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    finally:
        card.uncap()
        card.free_all()
    return out


WEIGHTS_RATIO = (0.85, 1.15)  # loaded / estimated bytes; NF4 reads ~0.93 at full size (absmax not counted)


def problems(case: dict) -> list[str]:
    """What went wrong in one case: an error, a leak, or weights far from the planner's estimate."""
    out = [case["error"]] if "error" in case else []
    if not case["leak_free"]:
        out.append(f"leak: {case['modules_alive_after_unload']} modules alive, "
                   f"{case['after_unload_allocated_mib']} MiB above baseline after unload")
    for key in ("vision_weights", "sdxl_weights"):
        w = case.get(key)
        if w and not WEIGHTS_RATIO[0] <= w["ratio"] <= WEIGHTS_RATIO[1]:
            out.append(f"{key}: loaded {w['ratio']}x the estimate (a part in the wrong dtype?)")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
