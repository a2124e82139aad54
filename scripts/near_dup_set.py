#!/usr/bin/env python3
"""A generated near-duplicate set: unrelated synthetic scenes, and copies of some of them as users
make them (JPEG q70, resized to 25%, brightness +-15%, a 5% crop).

    near_dup_set.py --out DIR [--bases 12] [--copied 6] [--seed 1] [--size 800x600] [--thumbs]

Writes DIR/<base>__<variant>.{png,jpg} and DIR/manifest.json ([{file, base, variant}]); with
--thumbs also each file as the browser's import would see it (decoded, shrunk to fit 384 px:
DIR/<file>.rgba, raw RGBA, with w and h in the manifest), for tests that run without a browser.
Used by src/lib/workers/phash.test.ts (pHash on real encoders' output) and by
scripts/bench_search.mjs (precision and recall of the re-encoded tier through the real import).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

THUMB_EDGE = 384
VARIANTS = ("jpeg70", "small25", "bright15", "dark15", "crop5")


def scene(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A random picture with the statistics of a photo more than of noise: a lit gradient, soft
    large-scale structure, a few objects with edges, fine texture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, 3)
    tilt = rng.uniform(-1, 1, (2, 3)) * 80
    img = base + (x[..., None] / w - 0.5) * tilt[0] + (y[..., None] / h - 0.5) * tilt[1]
    for _ in range(rng.integers(3, 7)):  # soft blobs: hills, clouds, light
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.5) * max(w, h)
        amp = rng.uniform(-90, 90, 3)
        img += amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(pic)
    for _ in range(rng.integers(4, 12)):  # objects
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-0.1, 0.9) * w, rng.uniform(-0.1, 0.9) * h
        x1, y1 = x0 + rng.uniform(0.05, 0.5) * w, y0 + rng.uniform(0.05, 0.5) * h
        kind = rng.integers(0, 3)
        if kind == 0:
            d.ellipse((x0, y0, x1, y1), fill=c)
        elif kind == 1:
            d.rectangle((x0, y0, x1, y1), fill=c)
        else:
            pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(rng.integers(3, 6))]
            d.polygon(pts, fill=c)
    pic = pic.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    grain = rng.normal(0, rng.uniform(2, 8), (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(pic, np.float32) + grain, 0, 255).astype(np.uint8), "RGB")


def variant(img: Image.Image, kind: str) -> tuple[Image.Image, str, dict]:
    w, h = img.size
    if kind == "jpeg70":
        return img, "jpg", {"quality": 70}
    if kind == "small25":
        return img.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.LANCZOS), "png", {}
    if kind == "bright15":
        return ImageEnhance.Brightness(img).enhance(1.15), "png", {}
    if kind == "dark15":
        return ImageEnhance.Brightness(img).enhance(0.85), "png", {}
    if kind == "crop5":
        dx, dy = round(w * 0.025), round(h * 0.025)
        return img.crop((dx, dy, w - dx, h - dy)), "png", {}
    raise ValueError(kind)


def as_imported(path: Path) -> Image.Image:
    """What the import worker draws: the decoded image fitted in 384 px (never enlarged)."""
    img = Image.open(path).convert("RGBA")
    s = min(1.0, THUMB_EDGE / max(img.size))
    size = (max(1, round(img.width * s)), max(1, round(img.height * s)))
    return img.resize(size, Image.Resampling.BILINEAR) if size != img.size else img


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--bases", type=int, default=12, help="unrelated pictures")
    ap.add_argument("--copied", type=int, default=6, help="how many of them get the near-duplicate copies")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="800x600")
    ap.add_argument("--thumbs", action="store_true")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    manifest = []
    for i in range(a.bases):
        name = f"s{i:04d}"
        img = scene(rng, w, h)
        items = [("orig", img, "png", {})]
        if i < a.copied:
            items += [(k, *variant(img, k)) for k in VARIANTS]
        for kind, pic, ext, opts in items:
            file = f"{name}__{kind}.{ext}"
            pic.save(out / file, **opts)
            entry = {"file": file, "base": name, "variant": kind}
            if a.thumbs:
                t = as_imported(out / file)
                (out / f"{file}.rgba").write_bytes(t.tobytes())
                entry |= {"w": t.width, "h": t.height}
            manifest.append(entry)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps({"files": len(manifest), "out": str(out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
