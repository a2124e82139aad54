"""Atelier: a self-hosted image gallery backend with VRAM-aware generation and vision."""

__version__ = "0.1.0"
