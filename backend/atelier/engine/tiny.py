"""Tiny random-weight models for offline tests and `ATELIER_MODELS=tiny`.

They are built here, on the machine, from tiny configs (no download), and then loaded through
the SAME family loaders that load real checkpoints. The builders for each family live next to
it (`tiny_sdxl.py`, `tiny_vlm.py`).
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

log = logging.getLogger("atelier.tiny")


def ensure_tiny_models(models_dir: Path) -> Path:
    root = models_dir / "tiny"
    root.mkdir(parents=True, exist_ok=True)
    # Several processes (test workers, a server) may start at once: build under a file lock.
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            from atelier.engine import tiny_sdxl
        except ModuleNotFoundError:
            tiny_sdxl = None  # type: ignore[assignment]
        try:
            from atelier.engine import tiny_vlm
        except ModuleNotFoundError:
            tiny_vlm = None  # type: ignore[assignment]
        try:
            from atelier.engine import tiny_embed
        except ModuleNotFoundError:
            tiny_embed = None  # type: ignore[assignment]
        if tiny_embed is not None and not (root / "tiny-embed" / "config.json").exists():
            log.info("building tiny-embed in %s", root)
            tiny_embed.build(root / "tiny-embed")
        if tiny_sdxl is not None and not (root / "tiny-sdxl" / "model_index.json").exists():
            log.info("building tiny-sdxl in %s", root)
            tiny_sdxl.build(root / "tiny-sdxl")
        if tiny_vlm is not None and not (root / "tiny-vlm" / "config.json").exists():
            log.info("building tiny-vlm in %s", root)
            tiny_vlm.build(root / "tiny-vlm")
        from atelier.engine import tiny_upscaler

        if not (root / tiny_upscaler.FILE).exists():
            log.info("building tiny-upscaler in %s", root)
            tiny_upscaler.build(root / tiny_upscaler.FILE)
    return root
