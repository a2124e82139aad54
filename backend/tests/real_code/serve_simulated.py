"""`python -m atelier` behind a simulated CUDA card: the planner's real arithmetic for a card of
RIG_CARD_GIB GiB (compute capability RIG_CARD_CAPABILITY, default 8.6) in ATELIER_VRAM_MODE, while
"GPU" tensors stay on the CPU. For the real_code tests' Balanced, Low and pre-bfloat16 runs.

    RIG_CARD_GIB=6 ATELIER_VRAM_MODE=low python tests/real_code/serve_simulated.py
"""

from __future__ import annotations

import os

import atelier.main as main
from atelier.__main__ import main as serve
from atelier.engine.manager import ModelManager
from atelier.engine.vram import planner as vp


def simulated_manager(settings, catalog, families) -> ModelManager:
    gib = float(os.environ["RIG_CARD_GIB"])
    total = int(gib * vp.GiB)
    capability = tuple(int(x) for x in os.environ.get("RIG_CARD_CAPABILITY", "8.6").split("."))
    mgr: ModelManager

    def probe() -> vp.DeviceInfo:
        ours = sum(sum(e.bytes.values()) for e in mgr._entries.values() if e.tier == "gpu")
        return vp.DeviceInfo("cuda", f"Simulated {gib:g} GiB card", total, total - ours, capability=capability)

    mgr = ModelManager(settings, catalog, families, probe=probe, gpu_device="cpu")
    return mgr


if __name__ == "__main__":
    main.ModelManager = simulated_manager  # build_services() constructs the manager through this name
    serve()
