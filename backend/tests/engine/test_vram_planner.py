"""The VRAM planner, table-driven: simulated 4-24 GB cards x every mode, with SDXL and Moondream
sized from their real configs (built on the meta device, no weights)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from atelier.engine.catalog import REAL_MODELS
from atelier.engine.families.moondream import FAMILY as MOONDREAM
from atelier.engine.vram import planner as vp
from atelier.engine.vram.footprint import moondream_footprint, sdxl_footprint

GiB = vp.GiB
GB = 10**9
CONTEXT = int(0.4 * GiB)  # CUDA context + a desktop: what mem_get_info already lacks on a real card


@pytest.fixture(scope="module")
def sdxl():
    return sdxl_footprint(None)


@pytest.fixture(scope="module")
def moondream():
    return moondream_footprint()


# --- sizes, computed from the configs, against the published figures (ML-NOTES, moondream docs)


def test_sdxl_sizes_from_configs_match_published_figures(sdxl):
    parts = {c.name: c for c in sdxl.components}
    unet = parts["unet"]
    assert 2.55e9 < unet.params < 2.6e9
    assert 0.85 < unet.linear_weights / unet.params < 0.89  # 87% in Linear layers
    assert 5.0 * GB < unet.bytes(torch.float16) < 5.2 * GB
    assert 1.8 * GB < unet.bytes(torch.float16, "nf4") < 2.0 * GB
    te2 = parts["text_encoder_2"]
    assert 1.35 * GB < te2.bytes(torch.float16) < 1.42 * GB
    assert 0.4 * GB < te2.bytes(torch.float16, "nf4") < 0.55 * GB
    assert 0.23 * GB < parts["text_encoder"].bytes(torch.float16) < 0.27 * GB
    assert parts["text_encoder"].bytes(torch.float16, "nf4") == parts["text_encoder"].bytes(torch.float16)
    assert 0.16 * GB < parts["vae"].bytes(torch.float16) < 0.18 * GB
    assert 2.7 * GB < sdxl.total_bytes(torch.float16, "nf4") < 2.95 * GB


def test_moondream_size_from_config_matches_published_figures(moondream):
    parts = {c.name: c for c in moondream.components}
    text = parts["text"]
    kv_cache = 24 * 2 * 32 * 2048 * 64  # a (1, 32, 2048, 64) key and value cache per text block
    assert text.buffers == kv_cache  # allocated at load: sized, but not a parameter (never downloaded)
    weights = moondream.params
    assert 1.92e9 < weights < 1.93e9  # 1,927,237,104 counted on the real classes (ML-NOTES)
    assert 3.6 * GB < weights * 2 < 3.95 * GB  # "~3.7 GB fp16"
    assert text.fixed_bytes == 2048 * 2048 + 2048 * 32 * 4  # the boolean mask and the float32 rotary table
    assert moondream.total_bytes(torch.bfloat16) == (weights + kv_cache) * 2 + text.fixed_bytes
    # NF4 takes the text decoder's blocks only; vision, region heads and lm_head stay 16-bit.
    assert not parts["vision"].quantizable and not parts["region"].quantizable
    assert parts["vision"].bytes(torch.bfloat16, "nf4") == parts["vision"].bytes(torch.bfloat16) > 0.85 * GB
    assert 2.3 * GB < moondream.total_bytes(torch.bfloat16, "nf4") < 2.7 * GB


def test_offload_puts_only_the_biggest_part_or_layer_on_the_gpu(sdxl):
    full = sdxl.gpu_bytes(torch.float16, "nf4", "none")
    model = sdxl.gpu_bytes(torch.float16, "nf4", "model")
    seq = sdxl.gpu_bytes(torch.float16, "nf4", "sequential")
    assert model == max(sdxl.component_bytes(torch.float16, "nf4").values())  # the NF4 UNet
    assert seq < 0.2 * GB < model < full


# --- mode resolution and the reserve


@pytest.mark.parametrize("total_gib, expected", [(4, "low"), (6, "low"), (8, "low"), (10, "balanced"),
                                                 (12, "balanced"), (16, "balanced"), (24, "high"), (48, "high")])
def test_auto_mode_follows_documented_thresholds(total_gib, expected):
    dev = vp.DeviceInfo("cuda", "sim", total_gib * GiB, total_gib * GiB - CONTEXT)
    assert vp.resolve_mode("auto", dev)[0] == expected


@pytest.mark.parametrize("mode", vp.MODES)
def test_no_gpu_means_cpu_float32_whatever_the_mode(mode, sdxl):
    dev = vp.DeviceInfo("cpu", "cpu", 32 * GiB, 24 * GiB)
    p = vp.plan(model_id="sdxl", kind="generation", footprint=sdxl, task=vp.Task(), device=dev, mode=mode)
    assert p.mode == "cpu" and p.placement.device == "cpu" and p.placement.dtype == torch.float32
    assert p.placement.quant == "none" and p.placement.offload == "none"


def test_reserve_grows_with_resolution_and_vision_needs_little():
    r512 = vp.working_reserve(vp.Task(width=512, height=512))
    r1024 = vp.working_reserve(vp.Task(width=1024, height=1024))
    r2048 = vp.working_reserve(vp.Task(width=2048, height=2048))
    assert r512 < r1024 < r2048
    assert vp.working_reserve(vp.Task(width=2048, height=2048), vae_tiling=True) < r2048
    assert vp.working_reserve(vp.Task(kind="vision")) < r512 * 1.5
    assert vp.working_reserve(vp.Task(width=1024, height=1024, batch=4), vae_slicing=True) < \
        vp.working_reserve(vp.Task(width=1024, height=1024, batch=4))


# --- the table: a session on a simulated card, planned step by step


@dataclass
class Card:
    total: int
    residents: dict[str, vp.Resident] = field(default_factory=dict)
    clock: float = 0.0

    def device(self) -> vp.DeviceInfo:
        used = sum(r.gpu_bytes for r in self.residents.values())
        return vp.DeviceInfo("cuda", f"sim {self.total // GiB} GiB", self.total, self.total - CONTEXT - used)

    def request(self, model_id, kind, fp, mode, task, ram_gb=16.0) -> vp.Plan:
        # Moondream's family narrows the ladders (its dtype, no offload), as the manager asks it to.
        limits = MOONDREAM.limits(MD_SPEC, self.device()) if model_id == "moondream" else None
        p = vp.plan(model_id=model_id, kind=kind, footprint=fp, task=task, device=self.device(), mode=mode,
                    residents=tuple(self.residents.values()), ram_budget_bytes=int(ram_gb * GiB), limits=limits)
        self.clock += 1
        for mid in p.drop:
            self.residents.pop(mid)
        for mid in p.evict_to_ram:
            r = self.residents[mid]
            self.residents[mid] = vp.Resident(mid, r.kind, "ram", 0, r.gpu_bytes + r.ram_bytes, r.last_used,
                                              r.placement)
        cur = self.residents.get(model_id)
        if cur is not None and p.reuse in ("gpu", "offloaded"):
            self.residents[model_id] = vp.Resident(model_id, kind, cur.tier, cur.gpu_bytes, cur.ram_bytes,
                                                   self.clock, cur.placement)
        else:
            tier = "offloaded" if p.placement.offload != "none" else "gpu"
            gpu = 0 if tier == "offloaded" else p.model_gpu_bytes  # offloaded parts visit during a call only
            ram = fp.total_bytes(p.placement.dtype, p.placement.quant) - gpu
            self.residents[model_id] = vp.Resident(model_id, kind, tier, gpu, ram, self.clock, p.placement)
        return p

    def on_gpu(self) -> set[str]:
        return {m for m, r in self.residents.items() if r.tier == "gpu"}


T1024 = vp.Task(width=1024, height=1024)
VISION = vp.Task(kind="vision")
MD_SPEC = next(s for s in REAL_MODELS if s.family == "moondream")

# (card GiB, mode) -> expected SDXL placement (quant, offload) at 1024x1024, whether Moondream stays on
# the GPU beside it, and the effective mode.
TABLE = [
    # card, mode,       effective,  sdxl quant, offload,      moondream kept beside sdxl
    (4, "auto", "low", "none", "sequential", False),  # float16 weights in RAM, a layer at a time
    (6, "auto", "low", "nf4", "model", False),
    (8, "auto", "low", "nf4", "model", False),
    (12, "auto", "balanced", "nf4", "none", True),
    (16, "auto", "balanced", "nf4", "none", True),
    (24, "auto", "high", "none", "none", True),
    (6, "high", "high", "nf4", "model", False),  # fp16 and nf4 resident do not fit: falls to low's rung
    (8, "high", "high", "nf4", "none", False),  # fp16 does not fit: balanced rung, no room for Moondream
    (12, "high", "high", "none", "none", False),  # fp16 SDXL fits alone; Moondream evicted (LRU)
    (16, "high", "high", "none", "none", True),  # 6.5 + 3.6 + 3.0 reserve = 13.1 <= 15.6 free
    (24, "high", "high", "none", "none", True),
    (6, "balanced", "balanced", "nf4", "model", False),
    (8, "balanced", "balanced", "nf4", "none", False),
    (12, "balanced", "balanced", "nf4", "none", True),
    (16, "balanced", "balanced", "nf4", "none", True),
    (24, "balanced", "balanced", "nf4", "none", True),
    (6, "low", "low", "nf4", "model", False),
    (8, "low", "low", "nf4", "model", False),
    (12, "low", "low", "nf4", "model", False),
    (16, "low", "low", "nf4", "model", False),
    (24, "low", "low", "nf4", "model", False),
]


@pytest.mark.parametrize("gib, mode, effective, quant, offload, md_kept", TABLE,
                         ids=[f"{g}GB-{m}" for g, m, *_ in TABLE])
def test_session_on_simulated_card(gib, mode, effective, quant, offload, md_kept, sdxl, moondream):
    card = Card(gib * GiB)

    # 1. Caption first: Moondream alone always fits on the GPU (16-bit where the mode allows), in the
    #    bfloat16 its code runs in, never offloaded.
    p = card.request("moondream", "vision", moondream, mode, VISION)
    assert p.fits and p.mode == effective
    assert p.placement.quant == ("nf4" if effective == "low" else "none") or gib <= 6
    assert p.placement.dtype == torch.bfloat16 and p.placement.offload == "none"
    assert p.planned_gpu_bytes <= p.capacity_bytes

    # 2. Generate at 1024x1024 with checkpoint A.
    p = card.request("sdxl-a", "generation", sdxl, mode, T1024)
    assert p.fits
    assert (p.placement.quant, p.placement.offload) == (quant, offload), p.log
    assert p.placement.dtype == torch.float16
    assert p.planned_gpu_bytes <= p.capacity_bytes, p.log
    assert ("moondream" in card.on_gpu()) == md_kept, p.log
    if effective == "low":
        assert p.placement.vae_tiling and p.placement.vae_slicing
    assert all(isinstance(line, str) and "\n" not in line for line in p.log)

    # 3. Switch to checkpoint B: A goes to the RAM cache unless High keeps both and they fit.
    p = card.request("sdxl-b", "generation", sdxl, mode, T1024)
    assert p.fits and p.planned_gpu_bytes <= p.capacity_bytes
    both_fit = effective == "high" and gib >= 20
    assert ("sdxl-a" in card.on_gpu()) == both_fit, p.log
    if not both_fit:
        assert card.residents["sdxl-a"].tier in ("ram", "offloaded")
    if effective == "low":
        assert len(card.on_gpu()) <= 1  # one model on the GPU at a time

    # 4. Back to A: served from the RAM cache (no disk) when its placement still matches.
    p = card.request("sdxl-a", "generation", sdxl, mode, T1024)
    assert p.reuse in ("gpu", "ram", "offloaded") and "sdxl-a" not in p.drop

    # The invariant over the whole session: what sits on the GPU plus the reserve fits the card.
    resident = sum(r.gpu_bytes for r in card.residents.values())
    assert resident + p.reserve_bytes <= card.total - CONTEXT or offload == "sequential"


def test_sdxl_and_moondream_fit_a_12gb_card_together_with_the_reserve(sdxl, moondream):
    card = Card(12 * GiB)
    card.request("moondream", "vision", moondream, "auto", VISION)
    p = card.request("sdxl", "generation", sdxl, "auto", T1024)
    assert card.on_gpu() == {"moondream", "sdxl"}
    used = sum(r.gpu_bytes for r in card.residents.values())
    assert used + p.reserve_bytes <= 12 * GiB - CONTEXT
    # ...and captioning again needs no move at all.
    p = card.request("moondream", "vision", moondream, "auto", VISION)
    assert p.reuse == "gpu" and not p.evict_to_ram and not p.drop


def test_balanced_tiles_the_vae_above_one_megapixel(sdxl):
    dev = vp.DeviceInfo("cuda", "sim", 12 * GiB, 11 * GiB)
    small = vp.plan(model_id="s", kind="generation", footprint=sdxl, task=T1024, device=dev, mode="balanced")
    big = vp.plan(model_id="s", kind="generation", footprint=sdxl, task=vp.Task(width=1536, height=1536),
                  device=dev, mode="balanced")
    assert not small.placement.vae_tiling and big.placement.vae_tiling


def test_high_evicts_least_recently_used_first(sdxl):
    card = Card(24 * GiB)
    for mid in ("a", "b", "c"):  # three fp16 SDXL + reserve: 22.4 of 23.6 GiB
        card.request(mid, "generation", sdxl, "high", T1024)
    card.request("a", "generation", sdxl, "high", T1024)  # a is now the most recent
    p = card.request("d", "generation", sdxl, "high", T1024)  # a fourth does not fit
    assert p.evict_to_ram == ["b"], p.log
    assert card.on_gpu() == {"a", "c", "d"}


def test_ram_cache_over_budget_drops_least_recently_used(sdxl):
    card = Card(12 * GiB)
    ram_gb = 3.0  # one NF4 SDXL (2.6 GiB) fits the cache, two do not
    for mid in ("a", "b", "c"):
        p = card.request(mid, "generation", sdxl, "balanced", T1024, ram_gb=ram_gb)
    assert p.drop == ["a"], p.log
    assert set(card.residents) == {"b", "c"} and card.residents["b"].tier == "ram"
    assert any("RAM cache over budget" in line for line in p.log)


def test_changed_placement_reloads_and_says_why(sdxl):
    card = Card(24 * GiB)
    card.request("a", "generation", sdxl, "high", T1024)
    p = card.request("a", "generation", sdxl, "low", T1024)
    assert p.drop == ["a"] and p.reuse is None
    assert any("placement changed" in line for line in p.log)


def test_mode_floor_from_oom_recovery_lowers_the_placement(sdxl):
    dev = vp.DeviceInfo("cuda", "sim", 24 * GiB, 23 * GiB)
    p = vp.plan(model_id="a", kind="generation", footprint=sdxl, task=T1024, device=dev, mode="high",
                mode_floor="balanced")
    assert p.mode == "balanced" and p.placement.quant == "nf4"
    assert "out-of-memory" in p.log[0]


def test_a_card_too_small_for_anything_still_gets_the_lowest_rung_and_says_so(sdxl):
    dev = vp.DeviceInfo("cuda", "sim", 2 * GiB, 1 * GiB)
    p = vp.plan(model_id="a", kind="generation", footprint=sdxl, task=T1024, device=dev, mode="auto")
    assert not p.fits and p.placement.offload == "sequential"
    assert "DOES NOT FIT" in p.log[-1]


@pytest.mark.parametrize("kind", ["generation", "vision"])
def test_no_rung_offloads_4bit_weights_layer_by_layer(kind):
    """accelerate's per-layer cpu_offload fails on bitsandbytes weights: a sequential rung must
    keep plain float16 weights (found by the CPU smoke run of scripts/bench_gpu.py)."""
    for mode, ladders in vp.LADDERS.items():
        for rung in ladders[kind]:
            assert not (rung.offload == "sequential" and rung.quant != "none"), (mode, rung.label())


def test_the_smallest_cards_get_float16_layer_offload_for_a_generic_vision_model(moondream):
    dev = vp.DeviceInfo("cuda", "sim", 1 * GiB, 1 * GiB - CONTEXT)
    p = vp.plan(model_id="vlm", kind="vision", footprint=moondream, task=vp.Task(kind="vision"), device=dev,
                mode="low")
    assert (p.placement.quant, p.placement.offload) == ("none", "sequential")
    assert p.model_gpu_bytes < 0.2 * moondream.total_bytes(torch.float16)


@pytest.mark.parametrize("gib", [1, 2, 4, 6, 8, 12, 16, 24])
@pytest.mark.parametrize("mode", vp.MODES)
def test_moondream_is_never_offloaded_and_runs_in_bfloat16(gib, mode, moondream):
    """Its code reads weights outside module calls, which offload hooks never load: on a card too
    small even for NF4 the plan says it does not fit (OOM recovery speaks) instead of offloading."""
    dev = vp.DeviceInfo("cuda", "sim", gib * GiB, gib * GiB - CONTEXT, capability=(8, 6))
    p = vp.plan(model_id="md", kind="vision", footprint=moondream, task=VISION, device=dev, mode=mode,
                limits=MOONDREAM.limits(MD_SPEC, dev))
    assert p.placement.offload == "none" and p.placement.dtype == torch.bfloat16, p.log
    assert p.fits == (gib >= 4), p.log
    if mode == "low" or gib <= 4:
        assert p.placement.quant == "nf4"
    if mode == "low":
        assert any("never offloaded (skipping low's sequential-offload rung)" in line and "outside module calls" in line
                   for line in p.log), p.log
    assert any("md runs in bfloat16" in line for line in p.log)


def test_moondream_runs_in_float16_on_cards_without_bfloat16(moondream):
    turing = vp.DeviceInfo("cuda", "Tesla T4", 16 * GiB, 15 * GiB, capability=(7, 5))
    p = vp.plan(model_id="md", kind="vision", footprint=moondream, task=VISION, device=turing, mode="auto",
                limits=MOONDREAM.limits(MD_SPEC, turing))
    assert p.placement.dtype == torch.float16
    assert any("Tesla T4 (compute capability 7.5) has no native bfloat16" in line for line in p.log), p.log
    assert MOONDREAM.limits(MD_SPEC, vp.DeviceInfo("cuda", "A10", 24 * GiB, 23 * GiB, capability=(8, 6))).dtype \
        == torch.bfloat16


def test_moondream_on_the_cpu_is_planned_and_sized_in_bfloat16(moondream):
    dev = vp.DeviceInfo("cpu", "cpu", 32 * GiB, 24 * GiB)
    p = vp.plan(model_id="md", kind="vision", footprint=moondream, task=VISION, device=dev, mode="auto",
                limits=MOONDREAM.limits(MD_SPEC, dev))
    assert p.placement.dtype == torch.bfloat16
    assert p.model_ram_bytes == moondream.total_bytes(torch.bfloat16) < 4.3 * GB
    assert any("load md as bfloat16 on the CPU" in line for line in p.log), p.log


def test_cpu_plan_keeps_the_ram_cache_under_budget(sdxl):
    dev = vp.DeviceInfo("cpu", "cpu", 64 * GiB, 48 * GiB)
    pl = vp.plan(model_id="x", kind="generation", footprint=sdxl, task=T1024, device=dev, mode="auto").placement
    others = tuple(vp.Resident(m, "generation", "gpu", 0, 11 * GiB, t, pl) for t, m in enumerate(("a", "b")))
    p = vp.plan(model_id="c", kind="generation", footprint=sdxl, task=T1024, device=dev, mode="auto",
                residents=others, ram_budget_bytes=12 * GiB)
    assert p.drop == ["a"]


def test_a_moondream_batch_reserves_one_image_and_keeps_the_placement_of_a_single_call(moondream):
    """Moondream takes one image per call: a batch of 16 must not plan 16 images of working memory
    (that pushed it to NF4, a reload, beside SDXL on a 12 GB card) nor change its placement."""
    dev = vp.DeviceInfo("cuda", "RTX 3060", 12 * GiB, int(11.6 * GiB), capability=(8, 6))
    limits = MOONDREAM.limits(MD_SPEC, dev)
    one = vp.plan(model_id="md", kind="vision", footprint=moondream, task=VISION, device=dev, mode="auto",
                  limits=limits)
    batch = vp.plan(model_id="md", kind="vision", footprint=moondream, task=vp.Task(kind="vision", batch=16),
                    device=dev, mode="auto", limits=limits)
    assert batch.reserve_bytes == one.reserve_bytes == vp.BASE_RESERVE + limits.reserve_per_image
    assert batch.placement == one.placement and batch.placement.quant == "none"
    assert "vision x16, 1 at a time" in batch.log[-1]
    assert vp.working_reserve(vp.Task(kind="vision", batch=16)) > 8 * GiB  # a generic VLM batch: every image
