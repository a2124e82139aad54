"""The model manager with real tiny models: loaded, swapped through the RAM cache, evicted, unloaded,
NF4-quantised through transformers' real quantization_config path, recovered from OOM, expired by TTL.

The GPU is simulated (a probe reporting a card; "on the GPU" tensors stay on the CPU): the planner's
arithmetic is the real one and the bytes are measured from the real modules."""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from pathlib import Path

import pytest
import torch

from atelier.core.config import Settings
from atelier.core.errors import OutOfMemory, error_body
from atelier.engine.base import Family, ModelSpec, Placement, module_bytes_by_device
from atelier.engine.catalog import Catalog
from atelier.engine.manager import ModelManager
from atelier.engine.vram import planner as vp
from atelier.engine.vram.footprint import footprint_from_modules

GiB = vp.GiB


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=320, hidden_size=128, intermediate_size=384, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False)
    d = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


class TinyModel:
    def __init__(self, spec, placement, model):
        self.spec, self.placement, self.model = spec, placement, model
        self.configured: list[Placement] = []

    def modules(self):
        return {"model": self.model}

    def to(self, device):
        self.model.to(device)

    def configure(self, placement):
        self.configured.append(placement)

    def close(self):
        self.model = None


class TinyFamily(Family):
    """A real from_pretrained loader (the path real checkpoints take), honouring dtype and NF4."""

    name = "tiny"

    def __init__(self, path: Path):
        self.path = path
        self.loads: list[tuple[str, Placement]] = []

    def is_downloaded(self, spec):
        return True

    def parts(self, spec):
        from transformers import AutoConfig, LlamaForCausalLM

        with torch.device("meta"):
            m = LlamaForCausalLM(AutoConfig.from_pretrained(self.path))
        return footprint_from_modules({"model": m}, quantizable=("model",))

    def load(self, spec, placement):
        from transformers import BitsAndBytesConfig, LlamaForCausalLM

        kw = {}
        if placement.quant == "nf4":
            # No double quantisation: one float32 absmax per 64 weights, as the footprint counts.
            kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=placement.dtype)
            kw["device_map"] = "cpu"
        m = LlamaForCausalLM.from_pretrained(self.path, dtype=placement.dtype, **kw)
        self.loads.append((spec.id, placement))
        return TinyModel(spec, placement, m)


def _spec(mid, kind="vision"):
    # 64x64 generations: a working-memory reserve below the vision one, so the simulated card fits.
    return ModelSpec(id=mid, kind=kind, family="tiny", source="tiny", local=True,
                     defaults={"width": 64, "height": 64})


SPECS = [_spec("a"), _spec("b"), _spec("c", "generation"), _spec("d")]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        self.t += 1
        return self.t


@contextlib.contextmanager
def holding_load(mgr):
    """A load in progress on another thread: the manager's lock is held until the block ends."""
    held, release = threading.Event(), threading.Event()

    def loading() -> None:
        with mgr._lock:
            held.set()
            release.wait(30)

    t = threading.Thread(target=loading)
    t.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        t.join()


def make_manager(tiny_dir, *, mode="high", card_models=2.5, ram_gb=8.0, ttl=600.0, cpu=False):
    """A manager on a simulated card with room for `card_models` tiny fp16 models beside the reserve."""
    fam = TinyFamily(tiny_dir)
    settings = Settings(vram_mode=mode, ram_cache_gb=ram_gb, model_ttl=ttl, device="cpu")
    clock = Clock()
    mgr: ModelManager

    one = fam.parts(None).total_bytes(torch.float16)
    total = vp.working_reserve(vp.Task(kind="vision")) + int(card_models * one) + 1000

    def probe():
        if cpu:
            return vp.DeviceInfo("cpu", "cpu", 64 * GiB, 48 * GiB)
        ours = sum(sum(e.bytes.values()) for e in mgr._entries.values() if e.tier == "gpu")
        return vp.DeviceInfo("cuda", "Simulated card", total, total - ours)

    mgr = ModelManager(settings, Catalog(SPECS), {"tiny": fam}, probe=probe, gpu_device="cpu",
                       ram_probe=None, clock=clock)
    return mgr, fam, clock


def states(mgr):
    return {m["id"]: m["state"] for m in mgr.status()["models"]}


def test_loaded_bytes_match_the_config_estimate(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir)
    model, ms = mgr.acquire(SPECS[0])
    assert ms > 0 and fam.loads[-1][1].dtype == torch.float16
    expected = fam.parts(None).total_bytes(torch.float16)
    # Within 0.1%: non-persistent buffers (rotary inv_freq) stay float32 whatever the dtype.
    assert module_bytes_by_device(model.modules())["cpu"] == pytest.approx(expected, rel=1e-3)
    row = next(m for m in mgr.status()["models"] if m["id"] == "a")
    assert row["state"] == "on_gpu" and row["dtype"] == "float16" and row["quantization"] == "none"
    assert set(row["bytes"]) == {"cpu"}
    assert row["expires_at"] == pytest.approx(row["last_used"] + 600)


def test_high_keeps_models_while_they_fit_then_evicts_lru_to_ram_and_swaps_back(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, card_models=2.5)
    mgr.acquire(SPECS[0])
    mgr.acquire(SPECS[1])
    assert (states(mgr)["a"], states(mgr)["b"]) == ("on_gpu", "on_gpu")
    mgr.acquire(SPECS[3])  # a third does not fit: a (least recently used) goes to the RAM cache
    s = states(mgr)
    assert (s["a"], s["b"], s["d"]) == ("in_ram", "on_gpu", "on_gpu")
    assert any("evict a" in line and "RAM cache" in line for line in mgr.last_plan)
    loads = len(fam.loads)
    got = mgr.acquire_detailed(SPECS[0])  # back from RAM: no disk load
    assert got.source == "ram_cache" and len(fam.loads) == loads
    assert states(mgr)["a"] == "on_gpu" and states(mgr)["b"] == "in_ram"


def test_ram_cache_budget_drops_lru_and_memory_is_freed(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, mode="balanced", card_models=10)
    one = fam.parts(None).total_bytes(torch.float16)
    mgr.settings.ram_cache_gb = 1.5 * one / GiB  # room for one cached model
    ref = weakref.ref(mgr.acquire(SPECS[0])[0].model)
    mgr.acquire(SPECS[1])  # balanced: one vision model on the GPU, a -> RAM
    assert mgr.tier("a") == "ram"
    mgr.acquire(SPECS[2])  # generation kind: b stays (other kind); nothing dropped
    assert mgr.tier("b") == "gpu"
    mgr.unload("b")
    mgr.acquire(SPECS[1])  # b back from disk; a still cached
    mgr.settings.ram_cache_gb = 0.5 * one / GiB  # shrink: a must go on the next plan
    mgr.acquire(SPECS[0])  # a swaps in, b leaves the GPU but the cache cannot hold it
    assert mgr.tier("b") is None and any("drop b" in line for line in mgr.last_plan)
    mgr.unload()
    gc.collect()
    assert ref() is None  # nothing keeps the weights alive after unload
    assert all(m["state"] == "not_downloaded" or m["state"] == "on_disk" for m in mgr.status()["models"])


def test_unload_one_or_all_returns_memory_to_baseline(tiny_dir):
    mgr, _, _ = make_manager(tiny_dir)
    refs = [weakref.ref(mgr.acquire(s)[0].model) for s in SPECS[:2]]
    assert mgr.unload("a") == ["a"]
    gc.collect()
    assert refs[0]() is None and refs[1]() is not None
    assert mgr.unload() == ["b"]
    gc.collect()
    assert refs[1]() is None
    assert mgr.status()["ram_cache"]["used_bytes"] == 0


def test_ttl_unloads_idle_models_and_zero_keeps_them(tiny_dir):
    mgr, _, clock = make_manager(tiny_dir, ttl=60)
    mgr.acquire(SPECS[0])
    mgr.evict_expired()
    assert mgr.is_loaded("a")
    clock.t += 61
    mgr.evict_expired()
    assert not mgr.is_loaded("a")

    keep, _, clock = make_manager(tiny_dir, ttl=0)
    keep.acquire(SPECS[0])
    clock.t += 10**6
    keep.evict_expired()
    assert keep.is_loaded("a") and next(m for m in keep.status()["models"] if m["id"] == "a")["expires_at"] is None


def test_nf4_through_the_real_quantization_config_path_and_its_bytes(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, mode="low")
    model, _ = mgr.acquire(SPECS[0])
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.model.modules())
    row = next(m for m in mgr.status()["models"] if m["id"] == "a")
    assert row["quantization"] == "nf4"
    measured = sum(row["bytes"].values())
    fp = fam.parts(None)
    # Parameters and buffers as torch counts them; the absmax lives in bnb's quant_state, not a buffer.
    absmax = sum(-(-c.linear_weights // 64) * 4 for c in fp.components)
    assert measured == pytest.approx(fp.total_bytes(torch.float16, "nf4") - absmax, rel=0.02)
    out = model.model(torch.tensor([[1, 2, 3]])).logits  # and it runs
    assert out.shape == (1, 3, 320)


def test_mode_switch_is_applied_between_jobs_and_changes_placement(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, mode="high")
    mgr.acquire(SPECS[0])
    mgr.request_mode("low")
    assert mgr.configured_mode == "high" and mgr.status()["mode"]["pending"] == "low"
    mgr.evict_expired()  # the worker's idle hook: between jobs
    assert mgr.configured_mode == "low" and mgr.tier("a") == "ram"
    mgr.acquire(SPECS[0])
    assert fam.loads[-1][1].quant == "nf4"  # reloaded with the low placement
    assert any("placement changed" in line for line in mgr.last_plan)
    st = mgr.status()["mode"]
    assert st["configured"] == "low" and st["effective"] == "low" and st["pending"] is None


def test_oom_is_recovered_by_evicting_tiling_and_dropping_a_mode_then_retrying_once(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, mode="high", card_models=5)
    mgr.acquire(SPECS[0])
    calls = []

    def fn(model):
        calls.append(model.placement)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return "image"

    assert mgr.run(SPECS[2], fn, vp.Task(kind="generation", width=64, height=64)) == "image"
    assert len(calls) == 2
    assert mgr.tier("a") == "ram"  # the idle model was evicted
    assert calls[1].quant == "nf4"  # high -> balanced for the retry
    assert mgr.effective_mode()[0] == "balanced" and "out-of-memory" in mgr.effective_mode()[1]
    assert fam.loads[-1][1].vae_tiling and fam.loads[-1][1].vae_slicing  # VAE tiled
    mgr.unload()  # idle unload of everything forgets the emergency mode
    assert mgr.effective_mode()[0] == "high"


def test_oom_twice_raises_out_of_memory_telling_the_user_what_to_change(tiny_dir):
    mgr, _, _ = make_manager(tiny_dir, mode="balanced")
    n = 0

    def fn(model):
        nonlocal n
        n += 1
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(OutOfMemory) as info:
        mgr.run(SPECS[2], fn, vp.Task(kind="generation", width=1024, height=1024))
    assert n == 2  # one retry, not more
    msg = info.value.message
    assert "768x768" in msg and "ATELIER_VRAM_MODE=low" in msg and "tiled the VAE" in msg
    body = error_body(info.value)["error"]
    assert body["code"] == "out_of_memory" and info.value.status == 503


def test_non_oom_errors_pass_through_untouched(tiny_dir):
    mgr, _, _ = make_manager(tiny_dir)
    with pytest.raises(ZeroDivisionError):
        mgr.run(SPECS[0], lambda m: 1 / 0)


def test_without_a_gpu_models_run_in_float32_in_ram(tiny_dir):
    mgr, fam, _ = make_manager(tiny_dir, cpu=True)
    mgr.acquire(SPECS[0])
    assert fam.loads[-1][1].dtype == torch.float32 and fam.loads[-1][1].device == "cpu"
    st = mgr.status()
    assert st["device"]["type"] == "cpu" and st["mode"]["effective"] == "cpu"
    assert states(mgr)["a"] == "in_ram"


def test_real_tiny_sdxl_nf4_through_diffusers_quantization_config_and_swap(tiny_models_dir):
    """The production SDXL family: Balanced loads the UNet and text_encoder_2 in NF4 (diffusers' and
    transformers' quantization_config paths), Low reloads it; bytes match the config-based estimate."""
    sdxl_family = pytest.importorskip("atelier.engine.families.sdxl")
    import bitsandbytes as bnb

    spec = ModelSpec(id="tiny-sdxl", kind="generation", family="sdxl", local=True,
                     source=str(tiny_models_dir / "tiny" / "tiny-sdxl"), defaults={"width": 64, "height": 64})
    settings = Settings(vram_mode="balanced", ram_cache_gb=1, model_ttl=0, device="cpu")
    total = 4 * GiB
    mgr = ModelManager(settings, Catalog([spec]), {"sdxl": sdxl_family.FAMILY}, gpu_device="cpu", ram_probe=None,
                       probe=lambda: vp.DeviceInfo("cuda", "Simulated 4 GiB", total, total))
    model, _ = mgr.acquire(spec)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.pipe.unet.modules())
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.pipe.text_encoder_2.modules())
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in model.pipe.vae.modules())
    # The quantised parts, part by part (on a CPU device the family keeps the others in float32).
    fp = {c.name: c for c in mgr.footprint(spec).components}
    for name in ("unet", "text_encoder_2"):
        c = fp[name]
        measured = sum(module_bytes_by_device({name: model.modules()[name]}).values())
        absmax = -(-c.linear_weights // 64) * 4  # held in bnb's quant_state, not a parameter
        assert measured == pytest.approx(c.bytes(torch.float16, "nf4") - absmax, rel=0.05), name
    mgr.unload()
    assert not mgr.is_loaded("tiny-sdxl")


def test_status_never_sizes_a_model_while_a_load_runs_and_never_waits_for_it(tiny_dir):
    """Sizing imports diffusers/transformers classes, whose lazy modules break when a load imports
    them at the same moment (CI: "cannot import name ..."). While a load holds the manager's lock,
    status answers at once without sizing (planned: null); once the lock is free it sizes."""
    mgr, _, _ = make_manager(tiny_dir)
    sized: list[str] = []
    fam = mgr.families["tiny"]
    original = fam.parts
    fam.parts = lambda spec: (sized.append(spec.id), original(spec))[1]  # type: ignore[method-assign]
    rows: list[dict] = []
    with holding_load(mgr):
        asker = threading.Thread(target=lambda: rows.extend(mgr.status()["models"]))
        asker.start()
        asker.join(20)
        assert not asker.is_alive(), "status waited for the load"
        assert sized == [] and all(r["planned"] is None for r in rows)
    on_disk = [r for r in mgr.status()["models"] if r["state"] == "on_disk"]
    assert sized and on_disk and all(r["planned"]["gpu_bytes"] > 0 for r in on_disk)


@pytest.mark.parametrize("which", ["sdxl", "vlm"])
def test_sizing_a_model_never_turns_another_threads_tensors_into_meta(tiny_models_dir, monkeypatch, which):
    """/v1/models and the status page size models on request threads while the worker loads or runs
    one. The VLM was sized under accelerate's init_empty_weights, which patches nn.Module for the
    whole process: CI saw a load fail with "Cannot copy out of meta tensor". Here the sizing is held
    mid-build while this thread makes a layer and a tensor: both must be real."""
    from atelier.engine.vram.footprint import sdxl_footprint, transformers_footprint

    inside, release = threading.Event(), threading.Event()
    if which == "sdxl":
        from diffusers import UNet2DConditionModel

        cls, run = UNet2DConditionModel, lambda: sdxl_footprint.__wrapped__(
            str(tiny_models_dir / "tiny" / "tiny-sdxl"))
    else:
        from transformers import AutoModelForImageTextToText

        cls, run = AutoModelForImageTextToText, lambda: transformers_footprint.__wrapped__(
            str(tiny_models_dir / "tiny" / "tiny-vlm"))
    original = cls.from_config.__func__

    def held(klass, *args, **kwargs):
        inside.set()
        release.wait(10)
        return original(klass, *args, **kwargs)

    monkeypatch.setattr(cls, "from_config", classmethod(held))
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(run()))
    t.start()
    try:
        assert inside.wait(30), "sizing never reached the model build"
        layer, tensor = torch.nn.Linear(4, 4), torch.zeros(3)
        assert layer.weight.device.type == "cpu" and tensor.device.type == "cpu"
    finally:
        release.set()
        t.join(30)
    assert result and result[0], "sizing itself still works"
