"""scripts/bench_gpu.py, dry-run on the CPU (`--smoke`): the GPU benchmark's whole flow (model builds,
the production SDXL loader with float16/NF4/offload placements, the manager's plan/switch/evict/unload,
the leak check and the report), so that the day a GPU is lent is not lost to a bug in the script.

What only a GPU can check (peak VRAM, CUDA kernels, timings) stays for that day; the CUDA calls the
script makes are checked here by name against torch.cuda."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from atelier.engine.vram import planner as vp

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_gpu.py"
CARDS = (12, 16)
MODES = ("high", "balanced", "low")
CASE_KEYS = {
    "card_gib", "mode", "vision_s", "vision_peak_gib", "vision_placement", "vision_weights", "sdxl_load_s",
    "plan", "sdxl_placement", "planned_gib", "sdxl_weights", "generate_s", "s_per_step", "steps_timed",
    "image_size", "generate_peak_gib", "effective_mode", "vision_still_on_gpu", "switch_to_b",
    "switch_back_to_a", "tiers", "unloaded", "modules_alive_after_unload", "after_unload_allocated_mib",
    "leak_free",
}


def load_script():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run, as a user would start it: the script's own CLI in a fresh interpreter."""
    tmp = tmp_path_factory.mktemp("bench-gpu")
    out = tmp / "report.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--scratch", str(tmp / "scratch"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert out.exists(), f"bench_gpu.py --smoke wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(out.read_text()), proc


def test_the_report_has_one_clean_case_per_card_and_mode(smoke):
    report, proc = smoke
    failed = [line for line in proc.stderr.splitlines() if line.startswith("FAILED")]
    assert proc.returncode == 0 and not failed, f"exit {proc.returncode}:\n" + "\n".join(failed)
    assert report["benchmark"] == "vram_manager_gpu" and report["smoke"] is True
    assert report["resolution"] == "64x64" and report["steps"] == 2
    assert report["device"] == "cpu (simulated cards)" and report["cuda"] is None
    assert 3.0 < report["moondream2_fp16_gib"] < 4.0  # Moondream 2's published ~3.7 GB in fp16
    cases = {(c["card_gib"], c["mode"]): c for c in report["cases"]}
    assert sorted(cases) == sorted((card, mode) for card in CARDS for mode in MODES)
    assert len(report["cases"]) == len(cases)
    for key, case in cases.items():
        assert "error" not in case, (key, case["error"], case.get("traceback"))
        assert CASE_KEYS <= set(case), (key, CASE_KEYS - set(case))
    assert proc.stdout.count('"card_gib"') == len(cases)  # one progress line per case


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_loads_measures_swaps_and_unloads_as_the_planner_says(smoke, mode):
    report, _ = smoke
    for case in (c for c in report["cases"] if c["mode"] == mode):
        where = (case["card_gib"], mode)
        assert case["effective_mode"] == mode, where  # no OOM recovery dropped a mode
        # Placement: the first rung of the mode's ladder (a nominal card fits tiny models).
        rung = vp.LADDERS[mode]["generation"][0]
        sdxl = case["sdxl_placement"]
        assert (sdxl["dtype"], sdxl["quant"], sdxl["offload"]) == ("float16", rung.quant, rung.offload), where
        assert sdxl["vae_tiling"] == rung.vae_tiling, where
        vrung = vp.LADDERS[mode]["vision"][0]
        assert case["vision_placement"] == {"dtype": "float16", "quant": vrung.quant, "offload": vrung.offload}
        assert case["plan"] and case["plan"][0].startswith(f"mode {mode} (ATELIER_VRAM_MODE={mode})"), where
        planned = case["planned_gib"]
        assert planned["fits"] and planned["total"] >= planned["model"] + planned["reserve"] - 0.002, where
        # Weights as the planner estimated them: a part silently in float32 would read 2x.
        for key in ("vision_weights", "sdxl_weights"):
            w = case[key]
            assert w["loaded_mib"] > 0 and 0.85 <= w["ratio"] <= 1.15, (where, key, w)
        # It ran: every step timed, one image of the asked size.
        assert case["steps_timed"] == 2 and case["image_size"] == [64, 64], where
        assert case["s_per_step"] > 0 and case["generate_s"] >= case["s_per_step"], where
        assert case["vision_s"] > 0 and case["sdxl_load_s"] > 0, where
        # Residency follows the mode's keep rules: the vision model stays beside SDXL where the mode keeps
        # another kind; B comes from disk; A comes back from the GPU (kept), its offload hooks, or the RAM cache.
        assert case["vision_still_on_gpu"] is vp.KEEP_OTHER_KIND[mode], where
        assert case["switch_to_b"]["source"] == "disk", where
        if rung.offload != "none":
            back = "offloaded"
        elif vp.KEEP[mode]["generation"] is None:
            back = "gpu"
        else:
            back = "ram_cache"
        assert case["switch_back_to_a"]["source"] == back, where
        # Unload frees everything: every module loaded is garbage; no CUDA figures on a simulated card.
        assert case["unloaded"] and set(case["unloaded"]) <= {"sdxl-a", "sdxl-b", "vision"}, where
        assert case["leak_free"] is True and case["modules_alive_after_unload"] == 0, where
        assert case["vision_peak_gib"] is None and case["generate_peak_gib"] is None, where
        assert case["after_unload_allocated_mib"] is None, where


def test_problems_flags_errors_leaks_and_weights_off_the_estimate():
    bench = load_script()
    ok = {"leak_free": True, "modules_alive_after_unload": 0, "after_unload_allocated_mib": 0.0,
          "sdxl_weights": {"ratio": 0.94}, "vision_weights": {"ratio": 1.0}}
    assert bench.problems(ok) == []
    assert "boom" in bench.problems({**ok, "error": "boom"})[0]
    assert "leak" in bench.problems({**ok, "leak_free": False, "modules_alive_after_unload": 3})[0]
    assert "2.0x" in bench.problems({**ok, "sdxl_weights": {"ratio": 2.0}})[0]


def test_the_cuda_calls_of_the_real_run_exist_and_fit_together(monkeypatch):
    """CudaCard on a faked torch.cuda: every function it calls must exist (monkeypatch raises if not),
    and the emulated card reports its cap minus what the allocator reserved."""
    bench = load_script()
    calls: list[tuple] = []

    class Props:
        total_memory = 80 * vp.GiB

    fakes = {
        "get_device_name": lambda *a: "Fake H100",
        "get_device_properties": lambda *a: Props(),
        "set_per_process_memory_fraction": lambda f, *a: calls.append(("fraction", f)),
        "memory_reserved": lambda *a: 3 * vp.GiB,
        "memory_allocated": lambda *a: 1 * vp.GiB,
        "max_memory_allocated": lambda *a: 5 * vp.GiB,
        "reset_peak_memory_stats": lambda *a: calls.append(("reset",)),
        "empty_cache": lambda: calls.append(("empty",)),
        "synchronize": lambda *a: calls.append(("sync",)),
    }
    for name, fake in fakes.items():
        monkeypatch.setattr(torch.cuda, name, fake)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    card = bench.CudaCard()
    card.cap(12 * vp.GiB)
    card.uncap()
    assert calls[:2] == [("fraction", 12 / 80), ("fraction", 1.0)]
    info = card.probe(12, None)
    assert (info.type, info.total_bytes, info.free_bytes) == ("cuda", 12 * vp.GiB, 9 * vp.GiB)
    assert "Fake H100" in info.name and "12 GiB" in info.name
    card.free_all()
    card.sync()
    card.reset_peak()
    assert card.peak_gib() == 5.0 and card.allocated() == vp.GiB
    assert card.describe() == {"device": "Fake H100", "device_total_gib": 80.0, "cuda": "12.8",
                               "peak_memory": "torch.cuda.max_memory_allocated"}
    assert card.settings_device == "cuda" and card.manager_kwargs() == {}


def test_without_cuda_the_real_run_refuses_and_points_to_smoke(monkeypatch, capsys):
    bench = load_script()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench.main([]) == 2
    assert "--smoke" in capsys.readouterr().err


def test_the_report_has_an_upscale_per_card_through_the_upscaler_family(smoke):
    report, _ = smoke
    ups = report["upscale"]
    assert [u["card_size_gib"] for u in ups] == list(CARDS)
    for u in ups:
        assert "error" not in u, u.get("error")
        assert u["size_ok"] and u["tiles"] >= 1 and u["input"] == "64x64" and u["output"] == "256x256"
        assert vp.UPSCALE_TILE_MIN <= u["tile"] <= vp.UPSCALE_TILE_MAX
