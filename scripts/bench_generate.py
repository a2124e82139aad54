"""HTTP /v1/generate against a direct pipeline call: what the server adds to one generation.

Builds a bench-size tiny SDXL (random weights, no download), serves the app with uvicorn on a free
loopback port, and times the same workload (prompt, size, steps, seed) both ways: in-process
`pipe(...)` on the model the server itself loaded, and a POST /v1/generate over HTTP (queue, JSON,
PNG encode with metadata, base64). Prints JSON: medians, ratio and added milliseconds.
Target: ratio <= 1.05 with >= 1 s of inference.

    .venv/bin/python scripts/bench_generate.py [--size 256] [--steps 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
import atelier  # noqa: E402,F401 - before anything imports torchvision (atelier/core/torchvision_compat.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import httpx
    import torch
    import uvicorn

    from atelier.core.config import Settings
    from atelier.engine import tiny_sdxl
    from atelier.main import create_app

    root = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    tiny_sdxl.build(root / "tiny" / "tiny-sdxl", size="bench")  # the tiny catalog entry, bench-sized
    settings = Settings(models="tiny", models_dir=root, data_dir=root / "data", model_ttl=0, api_key=None)
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    body = {"model": "tiny-sdxl", "prompt": "a lighthouse at dusk", "width": args.size, "height": args.size,
            "steps": args.steps, "seed": 1, "guidance_scale": 5.0, "scheduler": "euler"}
    url = f"http://127.0.0.1:{port}/v1/generate"
    with httpx.Client(timeout=600) as client:
        client.post(url, json=body).raise_for_status()  # load + warm-up
        services = app.state.services
        model, _ = services.manager.acquire(services.catalog.resolve("tiny-sdxl"))
        pipe = model.pipe
        pipe.scheduler = model.scheduler("euler")

        def direct() -> float:
            t0 = time.perf_counter()
            # The same call the server makes (seeded CPU generator, same size/steps/guidance), minus the server.
            with torch.inference_mode():
                pipe(prompt=body["prompt"], num_inference_steps=args.steps, guidance_scale=5.0, width=args.size,
                     height=args.size, generator=[torch.Generator("cpu").manual_seed(1)])
            return (time.perf_counter() - t0) * 1000

        def http() -> float:
            t0 = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            return (time.perf_counter() - t0) * 1000

        direct()
        d, h = [], []
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
            d.append(direct())
            h.append(http())
    server.should_exit = True
    dm, hm = statistics.median(d), statistics.median(h)
    print(json.dumps({
        "benchmark": "generate_http_vs_direct",
        "workload": {"size": args.size, "steps": args.steps, "n": 1, "model": "tiny-sdxl (bench size)"},
        "direct_ms": round(dm, 1), "http_ms": round(hm, 1),
        "ratio": round(hm / dm, 4), "added_ms": round(hm - dm, 1), "target_ratio": 1.05,
        "direct_runs_ms": [round(x, 1) for x in d], "http_runs_ms": [round(x, 1) for x in h],
        "torch_threads": torch.get_num_threads(),
    }, indent=2))


if __name__ == "__main__":
    main()
