"""Walking a folder the user fills (models, LoRAs) the same way everywhere: sorted, to a depth,
hidden entries skipped, and nothing outside the folder listed (a link that resolves elsewhere is
skipped with a warning), so a link can never expose or load a file the folder does not hold."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """One file or folder under the walked folder."""

    path: Path
    """where it was found (under the folder, resolved)"""
    real: Path
    """what it resolves to: inside the folder"""
    rel: Path
    """its path inside the folder"""
    depth: int
    """0 for the folder's own entries"""


def walk_inside(
    folder: Path,
    *,
    max_depth: int,
    what: str,
    skip: Callable[[Path, int], bool] | None = None,
    descend: Callable[[Path], bool] | None = None,
) -> Iterator[Found]:
    """Every file and folder under `folder` to `max_depth` levels (1: its own entries), sorted by
    name, each folder before what it holds. Hidden entries (".name") and those `skip(path, depth)`
    names are left out; a folder is walked into unless `descend(path)` says no. `what` names the
    folder in the warning about a link pointing outside it. Nothing when `folder` is not a folder.
    """
    root = folder.resolve()
    if not root.is_dir():
        return

    def walk(d: Path, depth: int) -> Iterator[Found]:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            return
        for p in entries:
            if p.name.startswith(".") or (skip is not None and skip(p, depth)):
                continue
            real = p.resolve()
            if not real.is_relative_to(root):
                log.warning("ignoring %s: it links outside the %s (%s)", p, what, root)
                continue
            yield Found(path=p, real=real, rel=p.relative_to(root), depth=depth)
            if p.is_dir() and depth + 1 < max_depth and (descend is None or descend(p)):
                yield from walk(p, depth + 1)

    yield from walk(root, 0)
