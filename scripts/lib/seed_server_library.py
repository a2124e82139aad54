#!/usr/bin/env python3
"""Seeds a server library (ATELIER_DATA_DIR layout, SQLite) with N records and N distinct small
WebP thumbnails, as N browsers' pushes would have: for the fresh-browser sync benchmark.

    python scripts/lib/seed_server_library.py <data_dir> <n>
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "backend"))

from PIL import Image  # noqa: E402

from atelier.library.schemas import Change  # noqa: E402
from atelier.library.service import LibraryService  # noqa: E402


def main() -> None:
    data_dir, n = Path(sys.argv[1]), int(sys.argv[2])
    lib = LibraryService.open(data_dir, None, 1 << 30)
    now = int(time.time() * 1000)
    batch = []
    for i in range(n):
        img = Image.new("RGB", (96, 64), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
        img.putpixel((i % 96, (i // 96) % 64), (255, 255, 255))
        buf = io.BytesIO()
        img.save(buf, "WEBP", quality=60)
        thumb = buf.getvalue()
        sha = hashlib.sha256(thumb).hexdigest()
        dest = lib.blobs.path(sha)
        dest.parent.mkdir(exist_ok=True)
        dest.write_bytes(thumb)
        batch.append(Change(id=f"seed-{i:06d}", fields={
            "hash": hashlib.sha256(f"original {i}".encode()).hexdigest(), "thumbHash": sha, "name": f"IMG_{i:05d}.jpg",
            "mime": "image/jpeg", "bytes": 3_000_000, "width": 6000, "height": 4000, "addedAt": now - i * 1000,
            "origin": "imported", "rating": i % 6, "flag": "none", "tags": [], "thumbW": 96, "thumbH": 64},
            stamps={"$": f"{now:015d}-{i % 1_000_000:06d}-seed"}))
        if len(batch) == 1000:
            lib.push("seed", batch)
            batch = []
    if batch:
        lib.push("seed", batch)
    lib.close()


if __name__ == "__main__":
    main()
