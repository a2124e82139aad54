"""Handing memory back to the operating system after large jobs, and sizing what a job keeps.

CPython frees a 120 MB decoded image, but glibc keeps the pages in its heap: the dynamic mmap
threshold rises after the first large free, so later large buffers come from arenas that are not
returned. A server that decoded a batch of 40 MP images kept 3.5 GiB of RSS for good (issue 16).
`malloc_trim(0)` returns the free pages of every arena; elsewhere than glibc it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import lru_cache
from typing import Any

log = logging.getLogger("atelier.memory")


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_memory() -> None:
    """Collect garbage, then give freed heap pages back to the OS."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def approx_bytes(value: Any, _depth: int = 0) -> int:
    """Rough bytes held by a job result: its strings and bytes (base64 images dominate), through
    dicts, lists, tuples and dataclass-like objects."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if _depth > 6:
        return 0
    if isinstance(value, dict):
        return sum(approx_bytes(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(approx_bytes(v, _depth + 1) for v in value)
    if hasattr(value, "__dict__"):
        return approx_bytes(vars(value), _depth + 1)
    return 0
