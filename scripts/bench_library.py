#!/usr/bin/env python3
"""The library on the server (issue 18): upload throughput and memory of the change feed.

1. Upload throughput: the sync protocol as the browser engine speaks it (HEAD for the offset,
   then 8 MB `Content-Range` pieces, verified by SHA-256 and renamed into place on the last one)
   against a raw HTTP PUT of the same bytes to a bare app that writes the body to a file and
   fsyncs, served by the same HTTP server configuration, both on loopback, same HTTP client.
   Target: >= 0.8 of the raw rate.
2. Server RSS while a client pulls a 50,000-record library through GET /v1/library/changes
   (pages of 5,000, streamed): the largest RSS seen minus the idle RSS. Target: <= 50 MB.

Prints one JSON object at the end (scripts/bench.py reads it).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT / "backend" / "tests"))

from servers import free_port  # noqa: E402

PIECE = 8 * 1024 * 1024
N_BLOBS, BLOB_MB = 24, 8
N_RECORDS = 50_000


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "atelier"], cwd=ROOT / "backend", env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/library", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


# The baseline server: scripts/lib/raw_sink.py (uvicorn as `python -m atelier` configures it, writing
# the body to a file and fsyncing, nothing else).
RAW_SINK = Path(__file__).resolve().parent / "lib" / "raw_sink.py"


def upload_sync(client: httpx.Client, blobs: list[tuple[str, bytes]]) -> None:
    for sha, data in blobs:
        head = client.head(f"/v1/library/blobs/{sha}")
        if head.status_code == 200:
            continue
        start = int(head.headers.get("upload-offset", 0))
        while start < len(data):
            end = min(start + PIECE, len(data))
            r = client.put(f"/v1/library/blobs/{sha}", content=data[start:end], headers={
                "Content-Type": "image/jpeg", "Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})
            r.raise_for_status()
            start = end


def upload_raw(client: httpx.Client, blobs: list[tuple[str, bytes]]) -> None:
    for sha, data in blobs:
        client.put(f"/{sha}", content=data, headers={"Content-Type": "application/octet-stream"}).raise_for_status()


def bench_upload(tmp: Path) -> dict:
    rng = random.Random(1)
    blobs = []
    for _ in range(N_BLOBS):
        data = rng.randbytes(BLOB_MB * 1024 * 1024)
        blobs.append((hashlib.sha256(data).hexdigest(), data))
    total_mb = N_BLOBS * BLOB_MB
    rates: dict[str, list[float]] = {"sync": [], "raw": []}
    for rnd in range(3):
        port, raw_port = free_port(), free_port()
        data_dir = tmp / f"up{rnd}"
        env = {**os.environ, "ATELIER_PORT": str(port), "ATELIER_DATA_DIR": str(data_dir), "ATELIER_MODELS_DIR": str(tmp / "models"),
               "ATELIER_LOG_LEVEL": "warning", "ATELIER_UI_DIR": str(tmp / "ui"), "PYTHONPATH": str(ROOT / "backend")}
        sink = tmp / f"raw{rnd}"
        sink.mkdir()
        server = start_server(env, port)
        raw = subprocess.Popen([sys.executable, str(RAW_SINK), str(raw_port), str(sink)], env=env)
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{raw_port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c, \
                    httpx.Client(base_url=f"http://127.0.0.1:{raw_port}", timeout=120) as r:
                order = [("sync", lambda: upload_sync(c, blobs)), ("raw", lambda: upload_raw(r, blobs))]
                for name, fn in (order if rnd % 2 == 0 else order[::-1]):
                    t = time.perf_counter()
                    fn()
                    rates[name].append(total_mb / (time.perf_counter() - t))
        finally:
            server.terminate()
            raw.terminate()
            server.wait(15)
            raw.wait(15)
    ratios = sorted(s / r for s, r in zip(rates["sync"], rates["raw"]))
    return {"blobs": N_BLOBS, "blob_mb": BLOB_MB, "sync_mb_s": [round(x, 1) for x in rates["sync"]],
            "raw_mb_s": [round(x, 1) for x in rates["raw"]], "ratio": round(ratios[len(ratios) // 2], 3)}


def bench_pull(tmp: Path) -> dict:
    from atelier.library.schemas import Change
    from atelier.library.service import LibraryService

    data_dir = tmp / "pull"
    lib = LibraryService.open(data_dir, None, 1 << 30)
    now = int(time.time() * 1000)
    rng = random.Random(2)
    for start in range(0, N_RECORDS, 1000):
        lib.push("bench", [Change(id=f"img-{i:06d}", fields={
            "hash": hashlib.sha256(str(i).encode()).hexdigest(), "name": f"IMG_{i:05d}.jpg", "mime": "image/jpeg",
            "bytes": rng.randrange(1 << 20, 8 << 20), "width": 6000, "height": 4000, "addedAt": now - i * 1000,
            "origin": "imported", "rating": i % 6, "flag": "none", "thumbW": 384, "thumbH": 256,
            "thumbHash": hashlib.sha256(f"t{i}".encode()).hexdigest(),
            "tags": [{"name": f"tag{j}", "source": "ai", "score": 0.5} for j in range(5)],
            "analysis": {"caption": "a photograph of something on a sunny day " * 2, "model": "moondream-2", "at": now}},
            stamps={"$": f"{now:015d}-{i % 1_000_000:06d}-bench"}) for i in range(start, min(start + 1000, N_RECORDS))])
    lib.close()
    port = free_port()
    env = {**os.environ, "ATELIER_PORT": str(port), "ATELIER_DATA_DIR": str(data_dir), "ATELIER_MODELS_DIR": str(tmp / "models"),
           "ATELIER_LOG_LEVEL": "warning", "ATELIER_UI_DIR": str(tmp / "ui"), "PYTHONPATH": str(ROOT / "backend")}
    server = start_server(env, port)
    try:
        ps = psutil.Process(server.pid)
        time.sleep(1.0)
        idle = ps.memory_info().rss
        peak = idle
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, ps.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t = time.perf_counter()
        n, cursor, nbytes = 0, None, 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
            while True:
                with c.stream("GET", "/v1/library/changes", params={"limit": 5000, **({"since": cursor} if cursor else {})}) as r:
                    body = r.read()
                nbytes += len(body)
                page = json.loads(body)
                n += len(page["data"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    break
        secs = time.perf_counter() - t
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(15)
    return {"records": n, "seconds": round(secs, 2), "mb_pulled": round(nbytes / 1e6, 1),
            "idle_rss_mb": round(idle / 2**20, 1), "peak_rss_mb": round(peak / 2**20, 1),
            "rss_growth_mb": round((peak - idle) / 2**20, 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "models").mkdir()
        upload = bench_upload(tmp)
        print(json.dumps({"upload": upload}), file=sys.stderr, flush=True)
        pull = bench_pull(tmp)
    out = {"upload": upload, "pull": pull,
           "targets": {"upload_ratio_ge_0_8": upload["ratio"] >= 0.8, "pull_rss_growth_le_50mb": pull["rss_growth_mb"] <= 50}}
    print(json.dumps(out, indent=2))
    sys.exit(0 if all(out["targets"].values()) else 1)


if __name__ == "__main__":
    main()
