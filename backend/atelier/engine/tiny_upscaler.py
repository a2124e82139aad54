"""A tiny random-weight ESRGAN (spandrel's RRDBNet, 1 block of 8 filters, x4) for offline tests and
`ATELIER_MODELS=tiny`. Saved as `.safetensors` and loaded by `engine/families/upscaler.py` exactly
as a real Real-ESRGAN file is: spandrel detects the architecture and the scale from the weights."""

from __future__ import annotations

from pathlib import Path

FILE = "tiny-upscaler.safetensors"


def build(out: Path, *, scale: int = 4, seed: int = 0) -> Path:
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.ESRGAN import ESRGAN

    import atelier  # noqa: F401 - torchvision compatibility before spandrel imports it

    torch.manual_seed(seed)
    model = ESRGAN(num_filters=8, num_blocks=1, scale=scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(out)
    return out
