#!/usr/bin/env python3
"""Upscale in tiles (issue 21), on the CPU: are the seams invisible, and what does tiling cost?

A random-weight ESRGAN (spandrel's RRDBNet, built here, loaded by the production family code) upscales
a test image 4x twice, alternating: whole, in one call, and in tiles with the feathered overlap the
service uses (tiles of `--tile` input px; a 2x2 grid at the default size).

- seam check: the mean absolute gradient across the lines where tiles meet (the first and last
  column/row of each tile's share of an overlap, in the output) over the mean across every other
  line of the image. Target <= 1.1. The same lines of the whole-image output are the control.
- time: tiled / whole, the median of the rounds' ratios. Target <= 1.15 (the overlaps are computed
  twice: (n-1) x overlap extra pixels per axis).

Prints one JSON object (scripts/bench.py reads it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

import atelier  # noqa: E402,F401 - torchvision compatibility before spandrel
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402


def pattern(w: int, h: int, seed: int = 0) -> Image.Image:
    """Smoothed noise: texture of the same statistics on every line, so that no line of the image has
    more gradient than another by its content (the control below checks it), only by a seam."""
    rng = np.random.default_rng(seed)
    a = rng.random((h + 8, w + 8, 3), dtype=np.float32)
    for axis in (0, 1):  # a 5 px box blur, separable
        c = np.cumsum(a, axis=axis)
        a = (np.take(c, range(5, a.shape[axis]), axis=axis) - np.take(c, range(0, a.shape[axis] - 5), axis=axis)) / 5
    a = a[:h, :w]
    a = (a - a.min()) / (a.max() - a.min())
    return Image.fromarray((a * 255).astype(np.uint8), "RGB")


def seam_lines(tiles, scale: int, axis: int) -> set[int]:
    """Output columns (axis 0) or rows (axis 1) where one tile's contribution starts or ends."""
    out = set()
    for t in tiles:
        lo, hi = (t.x0, t.x1) if axis == 0 else (t.y0, t.y1)
        first, last = (t.inner[0], t.inner[2]) if axis == 0 else (t.inner[1], t.inner[3])
        if first:
            out.add(lo * scale)
        if last:
            out.add(hi * scale - 1)
    return out


def gradient_ratio(img: np.ndarray, cols: set[int], rows: set[int], scale: int) -> float:
    """Mean |gradient| across the seam lines over the mean across the interior lines of the same phase.

    An x4 model's output has a period of 4 px (each input pixel becomes 4): the gradient between
    output columns 4k+3 and 4k+4 differs from that inside a 4 px group whatever the tiling, so each
    seam line is compared with the interior lines at the same position in the period."""
    out = []
    for d, lines in ((np.abs(np.diff(img, axis=1)).mean(axis=(0, 2)), cols),  # d[i]: between line i and i+1
                     (np.abs(np.diff(img, axis=0)).mean(axis=(1, 2)), rows)):
        seam = [i for i in range(len(d)) if i in lines or i + 1 in lines]
        interior = [i for i in range(len(d)) if i not in lines and i + 1 not in lines]
        for i in seam:
            same_phase = [d[j] for j in interior if j % scale == i % scale]
            out.append(d[i] / np.mean(same_phase))
    return float(np.mean(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=448, help="input side in px")
    ap.add_argument("--tile", type=int, default=240, help="tile side in input px")
    ap.add_argument("--overlap", type=int, default=None, help="input px (default: the service's)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    from atelier.engine import tiny_upscaler
    from atelier.engine.base import ModelSpec, Placement
    from atelier.engine.families.upscaler import DEFAULT_OVERLAP, FAMILY
    from atelier.engine.tiles import grid, to_array, work_ratio

    overlap = args.overlap if args.overlap is not None else DEFAULT_OVERLAP
    with tempfile.TemporaryDirectory() as tmp:
        path = tiny_upscaler.build(Path(tmp) / "bench-upscaler.safetensors")
        spec = ModelSpec(id="bench", kind="upscaler", family="upscaler", source=str(path), local=True)
        model = FAMILY.load(spec, Placement(device="cpu", dtype=torch.float32))
    img = pattern(args.size, args.size)
    tiles = grid(args.size, args.size, args.tile, overlap)
    whole_s, tiled_s, ratios = [], [], []
    model.upscale(pattern(32, 32), tile=32)  # warm-up: first-call allocations
    for i in range(args.rounds):
        order = ("whole", "tiled") if i % 2 == 0 else ("tiled", "whole")  # ABBA against drift
        t = {}
        for which in order:
            t0 = time.perf_counter()
            if which == "whole":
                with torch.inference_mode():
                    ref = model.run_tile(to_array(img))
            else:
                out = model.upscale(img, tile=args.tile, overlap=overlap, keep_float=True).pixels
            t[which] = time.perf_counter() - t0
        whole_s.append(t["whole"])
        tiled_s.append(t["tiled"])
        ratios.append(t["tiled"] / t["whole"])
    s = model.scale
    cols, rows = seam_lines(tiles, s, 0), seam_lines(tiles, s, 1)
    # On the blended float output: the 8-bit rounding of a low-contrast random model's output would
    # otherwise decide the figure.
    tiled_arr, whole_arr = out, ref
    seam = gradient_ratio(tiled_arr, cols, rows, s)
    control = gradient_ratio(whole_arr, cols, rows, s)
    ratio = statistics.median(ratios)
    report = {
        "benchmark": "upscale_tiles",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "model": f"random ESRGAN ({model.architecture}, x{s}, "
                 f"{sum(p.numel() for p in model.descriptor.model.parameters()):,} params)",
        "input": f"{args.size}x{args.size}", "output": f"{args.size * s}x{args.size * s}",
        "tile": args.tile, "overlap": overlap, "tiles": len(tiles),
        "pixels_computed_ratio": round(work_ratio(args.size, args.size, tiles), 3),
        "whole_s": [round(x, 3) for x in whole_s], "tiled_s": [round(x, 3) for x in tiled_s],
        "time_ratio": round(ratio, 3),
        "seam_gradient_ratio": round(seam, 3),
        "seam_gradient_ratio_whole_image_control": round(control, 3),
        "max_abs_diff_tiled_vs_whole": round(float(np.abs(tiled_arr - whole_arr).max()), 4),
        "targets": {"seam_le_1_1": seam <= 1.1, "time_ratio_le_1_15": ratio <= 1.15},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
