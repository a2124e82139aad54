"""Lets torchvision import where its compiled ops cannot load (a CUDA torchvision beside a CPU torch).

spandrel (the upscaler family) imports `torchvision.transforms.functional`, so torchvision is a
dependency, pinned beside torch. PyPI's Linux torchvision is a CUDA build; with torch's CPU wheel
(CPU-only dev machines and CI) its `_C` extension cannot load, and torchvision 0.28's import then
fails in `_meta_registrations.py`, which registers fake kernels for `torchvision::nms` and
`torchvision::qnms` without checking that the ops exist ("operator torchvision::nms does not
exist"). transformers imports torchvision too whenever it is installed, so that failure would take
the vision models down with it.

`install()` puts a finder on `sys.meta_path` that runs once, just before the first
`import torchvision`, whoever imports it: it tries to load the extension the way torchvision does,
and only where that fails declares the two schemas, so the pure-Python parts import. The ops keep
no kernel: calling `nms` there still fails, as it would have anyway. With a matching torch (the
Docker image: both CUDA 13.0) the extension loads and nothing is declared.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from pathlib import Path

log = logging.getLogger("atelier.compat")

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # keeps the declared schemas alive


def _prepare(origin: Path) -> None:
    global _library
    import torch

    libs = sorted(origin.parent.glob("_C*.so")) + sorted(origin.parent.glob("_C*.pyd"))
    if not libs:
        return
    try:
        torch.ops.load_library(str(libs[0]))
        return  # the extension works: torchvision registers its own ops
    except (OSError, ImportError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    _library = torch.library.Library("torchvision", "DEF")  # noqa: TOR901 - declared once per process
    for schema in _SCHEMAS:
        _library.define(schema)
    log.info("torchvision's compiled ops do not load beside this torch (%s): its Python parts only", reason)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - the import system's signature
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)  # once, and never recursively
        spec = importlib.util.find_spec("torchvision")
        if spec is not None and spec.origin:
            try:
                _prepare(Path(spec.origin))
            except Exception:  # noqa: BLE001 - never break an import on the way to it
                log.debug("torchvision compatibility check failed", exc_info=True)
        return spec


def install() -> None:
    if "torchvision" in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
