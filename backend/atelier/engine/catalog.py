"""The model catalog: what users can ask for, by id or alias.

`ATELIER_MODELS=real` serves the curated checkpoints below plus anything dropped into the
models folder; `ATELIER_MODELS=tiny` serves the locally built tiny models (built on first use)
so every flow runs offline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

from atelier.core.config import Settings
from atelier.core.errors import InvalidParameter, ModelNotFound, UnsafeModel
from atelier.core.folders import walk_inside
from atelier.engine.base import ModelSpec

log = logging.getLogger("atelier.catalog")

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
        # Its code loads this tokenizer repo by name, with no revision: engine/families/moondream.py
        # resolves that call to this commit, from the cache (docs/ARCHITECTURE.md, "Moondream 2").
        extra_repos=(("moondream/starmie-v1", "35192e10a54e36eabe0a7cc57a2c1aab371cafc5"),),
    ),
    ModelSpec(
        id="smolvlm-256m", kind="vision", family="vlm",
        source="HuggingFaceTB/SmolVLM-256M-Instruct",
        aliases=("smolvlm", "HuggingFaceTB/SmolVLM-256M-Instruct"),
        description="SmolVLM 256M Instruct: a tiny native-transformers VLM, multi-turn chat.",
        created=1737072000,
    ),
    # --- upscalers (issue 21): Real-ESRGAN x4plus (BSD-3-Clause) as safetensors, one file of the repo.
    # TODO(issue 21): pin a commit once one can be read from the hub; the file's sha256 is
    # 37f9a931c215f040aa6d50f711f2cb115f713c46df1d0d6469a8bd7bfe9a60bb (the downloader verifies LFS files).
    ModelSpec(
        id="realesrgan-x4plus", kind="upscaler", family="upscaler",
        source="Comfy-Org/Real-ESRGAN_repackaged",
        aliases=("real-esrgan-x4plus", "RealESRGAN_x4plus"),
        description="Real-ESRGAN x4plus: photos and renders, 4x (2x by downscaling its output).",
        defaults={"file": "RealESRGAN_x4plus.safetensors", "params": 16_697_987, "scale": 4},
        created=1628812800,
    ),
    ModelSpec(
        id="siglip2-base", kind="embeddings", family="siglip",
        source="google/siglip2-base-patch16-224", revision="75de2d55ec2d0b4efc50b3e9ad70dba96a7b2fa2",
        aliases=("siglip2", "google/siglip2-base-patch16-224"),
        description="SigLIP 2 base (Apache-2.0): image and text embeddings for search by meaning.",
        created=1740009600,
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
        ModelSpec(
            id="tiny-upscaler", kind="upscaler", family="upscaler", source=str(root / "tiny-upscaler.safetensors"),
            local=True, description="Random-weight ESRGAN x4 for offline tests (noise out).", defaults={"scale": 4},
        ),
        ModelSpec(
            id="tiny-embed", kind="embeddings", family="siglip", source=str(root / "tiny-embed"),
            local=True, description="Random-weight SigLIP for offline tests (meaningless vectors).",
        ),
    )


# Generic SDXL fine-tune defaults; Lightning/Turbo/Hyper checkpoints (by name) get LIGHTNING.
SDXL_DEFAULTS = {"steps": 30, "guidance_scale": 6.0, "scheduler": "dpmpp_2m_karras", "width": 1024, "height": 1024}
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
_SCAN_DEPTH = 3  # models/<a>/<b>/<file>: enough for "sdxl/anime/x.safetensors"


def _is_sdxl_single_file(path: Path) -> bool:
    """True if the safetensors header names SDXL's two text encoders (reads the header only)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
    except Exception as exc:  # corrupt or truncated file: say so, do not crash the catalog
        log.warning("ignoring %s: not a readable safetensors file (%s)", path, exc)
        return False
    return any(k.startswith("conditioner.embedders.1.") for k in keys) and any(
        k.startswith("model.diffusion_model.") for k in keys)


def _upscaler_arch(path: Path) -> str | None:
    """The upscaler architecture spandrel detects in the file's header (engine/families/upscaler.py)."""
    try:
        from atelier.engine.families.upscaler import detect
    except ImportError:  # spandrel not installed: no upscalers
        return None
    return detect(path)


def discover_user_models(models_dir: Path) -> tuple[list[ModelSpec], dict[str, str]]:
    """Checkpoints the user dropped into the models folder, and the pickle files we refuse.

    Diffusers directories (`model_index.json`) and single-file `.safetensors` become catalog
    entries named by their path inside the folder, without the suffix. Nothing outside the folder is
    ever listed: links that resolve elsewhere are skipped. `tiny/` (built test models) and
    `<name>.config/` sidecars (configs for a single file) and `loras/` (LoRA adapters) are not models.
    """
    specs: list[ModelSpec] = []
    refused: dict[str, str] = {}
    # tiny/ and loras/ (the default ATELIER_LORAS_DIR, indexed by engine/families/lora.py) at the
    # top, and single files' config sidecars, are not models; a diffusers folder is one model
    found = walk_inside(models_dir, max_depth=_SCAN_DEPTH, what="models folder",
                        skip=lambda p, depth: (depth == 0 and p.name in ("tiny", "loras")) or p.name.endswith(".config"),
                        descend=lambda p: not (p / "model_index.json").is_file())
    for f in found:
        p, real, rel = f.path, f.real, f.rel
        model_id = rel.with_suffix("").as_posix() if p.is_file() else rel.as_posix()
        created = int(p.stat().st_mtime)
        if p.is_dir():
            index = p / "model_index.json"
            if index.is_file():
                try:
                    cls = json.loads(index.read_text()).get("_class_name", "")
                except (OSError, ValueError):
                    cls = ""
                pickled = _pickle_only_weights(real)
                if pickled:
                    # The loader asks for safetensors only, so this would fail at load time with a
                    # 500; refuse it up front with the same 400 as a .ckpt file, naming the file.
                    refused[model_id.lower()] = (rel / pickled).as_posix()
                    refused[rel.as_posix().lower()] = (rel / pickled).as_posix()
                elif "StableDiffusionXL" in cls:
                    specs.append(_user_spec(model_id, str(real), (rel.as_posix() + "/",), created))
                else:
                    log.info("ignoring %s: %s is not an SDXL pipeline", p, cls or "unknown pipeline")
        elif p.suffix.lower() == ".safetensors":
            if _is_sdxl_single_file(real):
                specs.append(_user_spec(model_id, str(real), (rel.as_posix(), p.name), created))
            elif (arch := _upscaler_arch(real)) is not None:
                specs.append(ModelSpec(
                    id=model_id, kind="upscaler", family="upscaler", source=str(real), local=True,
                    aliases=(rel.as_posix(), p.name), created=created,
                    description=f"{arch} upscaler from the models folder ({p.name})."))
            else:
                log.info("ignoring %s: neither an SDXL single-file checkpoint nor an upscaler", p)
        elif p.suffix.lower() in PICKLE_SUFFIXES:
            refused[model_id.lower()] = rel.as_posix()
            refused[rel.as_posix().lower()] = rel.as_posix()
    return specs, refused


def _pickle_only_weights(folder: Path) -> str | None:
    """The first pickle weight file of a diffusers folder component (unet/, vae/...) that has no
    .safetensors beside it, as a path inside the folder; None when every component is safe."""
    try:
        parts = sorted(p for p in folder.iterdir() if p.is_dir())
        for part in parts:
            files = sorted(f for f in part.iterdir() if f.is_file())
            pickles = [f for f in files if f.suffix.lower() in PICKLE_SUFFIXES]
            if pickles and not any(f.suffix.lower() == ".safetensors" for f in files):
                return f"{part.name}/{pickles[0].name}"
    except OSError:
        return None
    return None


def _user_spec(model_id: str, source: str, aliases: tuple[str, ...], created: int) -> ModelSpec:
    name = model_id.lower()
    fast = any(w in name for w in ("lightning", "turbo", "hyper", "lcm"))
    return ModelSpec(
        id=model_id, kind="generation", family="sdxl", source=source, local=True, aliases=aliases,
        description=f"SDXL checkpoint from the models folder ({Path(source).name}).",
        defaults=dict(LIGHTNING if fast else SDXL_DEFAULTS), created=created,
    )


def pickle_refusal(rel: str, param: str) -> UnsafeModel:
    """The one error for a pickle file, checkpoint or LoRA (engine/families/lora.py)."""
    return UnsafeModel(
        f"{rel!r} is a pickle checkpoint, which can run arbitrary code when loaded; "
        "Atelier loads only .safetensors files and diffusers folders. Get the .safetensors version of "
        "this model (most are published as one) and put it in the models folder", param=param)


def check_model_name(name: str) -> None:
    """Refuses names that try to reach outside the models folder ('../x', '/etc/x', 'C:\\x')."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive or ".." in parts:
        raise InvalidParameter(
            f"model must be a catalog id or a path inside the models folder, got {name!r}", param="model")


class Catalog:
    def __init__(self, specs: list[ModelSpec], refused: dict[str, str] | None = None,
                 rescan: Callable[[], tuple[list[ModelSpec], dict[str, str]]] | None = None):
        self._specs: dict[str, ModelSpec] = {}
        self._aliases: dict[str, str] = {}
        self._refused: dict[str, str] = dict(refused or {})
        self._rescan = rescan
        for spec in specs:
            self.add(spec)

    def refresh(self) -> None:
        """Picks up checkpoints dropped into the models folder since start-up."""
        if self._rescan is None:
            return
        specs, refused = self._rescan()
        for spec in specs:
            if spec.id not in self._specs:
                self.add(spec)
        self._refused.update(refused)

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
        check_model_name(name)
        spec = self._specs.get(self._aliases.get(name.lower(), ""))
        if spec is None and self._rescan is not None:
            self.refresh()
            spec = self._specs.get(self._aliases.get(name.lower(), ""))
        if spec is None and name.lower() in self._refused:
            raise pickle_refusal(self._refused[name.lower()], param="model")
        if spec is None:
            known = ", ".join(s.id for s in self._specs.values() if kind is None or s.kind == kind)
            raise ModelNotFound(f"unknown model {name!r}; available: {known}", param="model")
        if kind is not None and spec.kind != kind:
            a = lambda word: ("an " if word[0] in "aeiou" else "a ") + word  # noqa: E731
            raise ModelNotFound(f"model {spec.id!r} is {a(spec.kind)} model, not {a(kind)} model", param="model")
        return spec


def build_catalog(settings: Settings) -> Catalog:
    base = list(tiny_models(settings.models_dir)) if settings.models == "tiny" else list(REAL_MODELS)

    def scan() -> tuple[list[ModelSpec], dict[str, str]]:
        return discover_user_models(settings.models_dir)

    user, refused = scan()
    taken = {s.id for s in base}
    return Catalog(base + [s for s in user if s.id not in taken], refused, rescan=scan)
