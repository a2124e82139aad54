"""Tiles with feathered overlap: how an image of any size goes through a model that sees a part at a time.

Used by the upscaler (each tile scaled by the model) and by the enhance stage (each 1024 px tile
through SDXL img2img). Pure math and numpy, no torch: table-tested on its own.

- `grid(w, h, tile, overlap)`: the fewest tiles of at most `tile` px per side that cover the image
  with at least `overlap` px shared between neighbours. The tiles of a row (or column) are spread
  evenly, so none is a thin sliver at the edge and the extra work is (n - 1) x overlap per axis,
  not a whole tile.
- `Canvas`: accumulates tile outputs, each weighted by a ramp across the overlaps it shares with a
  neighbour (1 inside, falling linearly towards the tile's edge; edges on the image border keep
  weight 1). The weights of overlapping tiles are divided out at the end, so a region two tiles
  agree on comes back exactly, and where they disagree (a model that sees less context at a tile
  edge) the change is spread across the whole overlap instead of a visible seam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    x0: int
    y0: int
    x1: int
    y1: int
    # Which sides border another tile (and are feathered): left, top, right, bottom.
    inner: tuple[bool, bool, bool, bool] = (False, False, False, False)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def scaled(self, s: int) -> Tile:
        return Tile(self.x0 * s, self.y0 * s, self.x1 * s, self.y1 * s, self.inner)


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Evenly spread [start, end) spans of at most `tile` covering `length`, neighbours sharing >= overlap."""
    if length <= tile:
        return [(0, length)]
    n = math.ceil((length - overlap) / (tile - overlap))
    size = min(tile, math.ceil((length + (n - 1) * overlap) / n))
    starts = [round(i * (length - size) / (n - 1)) for i in range(n)]
    return [(s, s + size) for s in starts]


def grid(width: int, height: int, tile: int, overlap: int) -> list[Tile]:
    """Tiles covering a width x height image, row by row."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got {tile} and {overlap}")
    if overlap * 2 >= tile:
        raise ValueError(f"overlap ({overlap}) must be under half the tile ({tile})")
    xs, ys = _spans(width, tile, overlap), _spans(height, tile, overlap)
    out = []
    for j, (y0, y1) in enumerate(ys):
        for i, (x0, x1) in enumerate(xs):
            out.append(Tile(x0, y0, x1, y1, (i > 0, j > 0, i < len(xs) - 1, j < len(ys) - 1)))
    return out


def work_ratio(width: int, height: int, tiles: list[Tile]) -> float:
    """Pixels the tiles cover over the image's pixels: the extra work tiling costs (1.0 = none)."""
    return sum(t.width * t.height for t in tiles) / (width * height)


def _ramp(n: int, fade_start: int, fade_end: int) -> np.ndarray:
    """1 across n px, falling linearly to near 0 over `fade_start` px at the start and `fade_end` at the end."""
    w = np.ones(n, dtype=np.float32)
    if fade_start:
        w[:fade_start] = (np.arange(fade_start, dtype=np.float32) + 0.5) / fade_start
    if fade_end:
        w[n - fade_end:] = np.minimum(w[n - fade_end:], (np.arange(fade_end, 0, -1, dtype=np.float32) - 0.5) / fade_end)
    return w


def feather(tile: Tile, overlap: int) -> np.ndarray:
    """The tile's (h, w) blending weights: ramps over `overlap` px on its inner sides."""
    left, top, right, bottom = tile.inner
    o = min(overlap, tile.width // 2, tile.height // 2)
    wx = _ramp(tile.width, o if left else 0, o if right else 0)
    wy = _ramp(tile.height, o if top else 0, o if bottom else 0)
    return wy[:, None] * wx[None, :]


class Canvas:
    """The blended output: add() each tile's pixels (h, w, c float32 in 0-1), then image()."""

    def __init__(self, width: int, height: int, channels: int = 3):
        self.width, self.height = width, height
        self._sum = np.zeros((height, width, channels), dtype=np.float32)
        self._weight = np.zeros((height, width, 1), dtype=np.float32)

    def add(self, tile: Tile, pixels: np.ndarray, overlap: int) -> None:
        if pixels.shape[:2] != (tile.height, tile.width):
            raise ValueError(f"tile pixels are {pixels.shape[1]}x{pixels.shape[0]}, expected {tile.width}x{tile.height}")
        w = feather(tile, overlap)[:, :, None]
        self._sum[tile.y0:tile.y1, tile.x0:tile.x1] += pixels * w
        self._weight[tile.y0:tile.y1, tile.x0:tile.x1] += w

    def pixels(self) -> np.ndarray:
        if not np.all(self._weight > 0):
            raise ValueError("some pixels were covered by no tile")
        return self._sum / self._weight

    def image(self):
        from PIL import Image

        out = np.clip(self.pixels() * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(out, "RGB")


def to_array(img) -> np.ndarray:
    """A PIL image as (h, w, 3) float32 in 0-1."""
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
