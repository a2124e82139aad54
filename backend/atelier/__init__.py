"""Atelier: a self-hosted image gallery backend with VRAM-aware generation and vision."""

from atelier.core import torchvision_compat as _torchvision_compat

__version__ = "0.1.0"

# Before anything (transformers, spandrel) imports torchvision: see core/torchvision_compat.py.
_torchvision_compat.install()
