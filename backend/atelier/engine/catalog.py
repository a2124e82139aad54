"""The model catalog: what users can ask for, by id or alias.

`ATELIER_MODELS=real` serves the curated checkpoints below plus anything dropped into the
models folder; `ATELIER_MODELS=tiny` serves the locally built tiny models (built on first use)
so every flow runs offline.
"""

from __future__ import annotations

from pathlib import Path

from atelier.core.config import Settings
from atelier.core.errors import ModelNotFound
from atelier.engine.base import ModelSpec

# Lightning checkpoints want few steps, low guidance and Euler with trailing timesteps.
LIGHTNING = {"steps": 6, "guidance_scale": 1.5, "scheduler": "euler_trailing", "width": 1024, "height": 1024}

REAL_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sdxl-realism", kind="generation", family="sdxl",
        source="RunDiffusion/Juggernaut-XL-Lightning",
        aliases=("juggernaut-xl-lightning", "RunDiffusion/Juggernaut-XL-Lightning"),
        description="Juggernaut XL Lightning: photorealism in ~6 steps.",
        defaults=LIGHTNING, created=1714521600,
    ),
    ModelSpec(
        id="sdxl-anime", kind="generation", family="sdxl",
        source="cagliostrolab/animagine-xl-3.1",
        aliases=("animagine-xl-3.1", "cagliostrolab/animagine-xl-3.1"),
        description="Animagine XL 3.1: anime illustration.",
        defaults={"steps": 28, "guidance_scale": 7.0, "scheduler": "euler_a", "width": 832, "height": 1216},
        created=1710460800,
    ),
    ModelSpec(
        id="sdxl-surreal", kind="generation", family="sdxl",
        source="Lykon/dreamshaper-xl-lightning",
        aliases=("dreamshaper-xl-lightning", "Lykon/dreamshaper-xl-lightning"),
        description="DreamShaper XL Lightning: stylised and surreal, fast.",
        defaults={**LIGHTNING, "steps": 4, "guidance_scale": 2.0},
        created=1709251200,
    ),
    ModelSpec(
        id="moondream-2", kind="vision", family="moondream",
        source="vikhyatk/moondream2", revision="2025-06-21",
        aliases=("moondream", "moondream2", "vikhyatk/moondream2"),
        description="Moondream 2 (2025-06-21): captions, questions, detection, pointing.",
        trust_remote_code=True, created=1750464000,
    ),
    ModelSpec(
        id="smolvlm-256m", kind="vision", family="vlm",
        source="HuggingFaceTB/SmolVLM-256M-Instruct",
        aliases=("smolvlm", "HuggingFaceTB/SmolVLM-256M-Instruct"),
        description="SmolVLM 256M Instruct: a tiny native-transformers VLM, multi-turn chat.",
        created=1737072000,
    ),
)


def tiny_models(models_dir: Path) -> tuple[ModelSpec, ...]:
    root = models_dir / "tiny"
    return (
        ModelSpec(
            id="tiny-sdxl", kind="generation", family="sdxl", source=str(root / "tiny-sdxl"),
            local=True, description="Random-weight SDXL for offline tests (noise out).",
            defaults={"steps": 2, "guidance_scale": 5.0, "scheduler": "euler", "width": 64, "height": 64},
        ),
        ModelSpec(
            id="tiny-vlm", kind="vision", family="vlm", source=str(root / "tiny-vlm"),
            local=True, description="Random-weight Llava for offline tests (garbage text out).",
        ),
    )


class Catalog:
    def __init__(self, specs: list[ModelSpec]):
        self._specs: dict[str, ModelSpec] = {}
        self._aliases: dict[str, str] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        self._specs[spec.id] = spec
        for name in (spec.id, *spec.aliases):
            self._aliases[name.lower()] = spec.id

    def all(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def resolve(self, name: str | None, kind: str | None = None, default: str | None = None) -> ModelSpec:
        name = name or default
        if not name:
            raise ModelNotFound("no model given and no default configured", param="model")
        spec = self._specs.get(self._aliases.get(name.lower(), ""))
        if spec is None:
            known = ", ".join(s.id for s in self._specs.values() if kind is None or s.kind == kind)
            raise ModelNotFound(f"unknown model {name!r}; available: {known}", param="model")
        if kind is not None and spec.kind != kind:
            raise ModelNotFound(f"model {spec.id!r} is a {spec.kind} model, not a {kind} model", param="model")
        return spec


def build_catalog(settings: Settings) -> Catalog:
    if settings.models == "tiny":
        return Catalog(list(tiny_models(settings.models_dir)))
    return Catalog(list(REAL_MODELS))
