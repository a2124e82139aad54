"""The family registry: one file per model family in this package, each defining `FAMILY`.

Adding a model kind is one file here (a `Family` subclass, see engine/base.py) plus its catalog
entries: `load_families()` finds every module of this package, so the manager, the planner,
`/v1/models`, `/v1/status` and the downloader know it without another edit. `register()` adds a
family from elsewhere (a plugin, a test).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

from atelier.engine.base import Family

log = logging.getLogger("atelier.families")

_registered: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family by its name (replacing one of that name); returns it."""
    if not family.name:
        raise ValueError("a family needs a name")
    _registered[family.name] = family
    return family


def unregister(name: str) -> None:
    _registered.pop(name, None)


def load_families() -> dict[str, Family]:
    """Every family module of this package, by family name, then the registered ones."""
    families: dict[str, Family] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        fam = getattr(mod, "FAMILY", None)
        if fam is None:
            continue  # a helper module of a family, not a family
        families[fam.name] = fam
    families.update(_registered)
    return families
