"""One file per model family. `load_families()` returns the family objects by name."""

from __future__ import annotations

from atelier.engine.base import Family


def load_families() -> dict[str, Family]:
    families: dict[str, Family] = {}
    # Each family module defines FAMILY; imported lazily so a broken optional one names itself.
    import importlib

    for name in ("sdxl", "vlm", "moondream", "upscaler", "siglip"):
        try:
            mod = importlib.import_module(f"atelier.engine.families.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"atelier.engine.families.{name}":
                continue  # family not written yet
            raise
        families[mod.FAMILY.name] = mod.FAMILY
    return families
