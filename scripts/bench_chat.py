#!/usr/bin/env python
"""Overhead of /v1/chat/completions over a direct transformers generate() call.

Same model, same prompt and image, same number of generated tokens (min = max, greedy), and at least
--min-model-s (1 s) of model time per direct call, so the fixed cost is weighed against a real answer:
  overhead_ratio  = median over ABBA rounds of (API request / direct processor + generate)   target <= 1.05
  added_ms        = median over the rounds of what the API adds outside the model's generate(), per
                    request: (API request - the server's generate()) - (direct call - its generate()),
                    plus tokens x what our streamer costs per token beyond TextStreamer's            target < 10
                    Each side's generate() is timed inside the same call, so the model's own run-to-run
                    variation (+-100-200 ms a round on 2 shared cores) cancels out of the figure.
  added_ms_wall   = median over the rounds of (API request - direct): the same question, answered with
                    that variation in it (reported)
  added_ttft_ms   = median over the rounds of (API time to first streamed content - direct's)
  added_cpu_ms    = median over the rounds of (process CPU time of the API call - direct's): the same
                    question asked of CPU time, steadier than wall time when other work shares the cores
The server runs in a thread of this process (the client is idle while a request runs, so it does
not compete with the server for the GIL); the direct side gets the decoded image, the API the PNG
in a data URL, so decoding it is part of the API's cost.
Both sides stream through transformers' TextStreamer logic, so they emit text at the same token.
Without --max-tokens the number of tokens is calibrated first: the direct call is timed and the
count raised until it takes >= 1.2 x --min-model-s (capped by the model's context window);
`model_s_ok` says whether the measured direct median reached --min-model-s.
Runs offline on the tiny Llava by default (ATELIER_MODELS=tiny); prints one JSON object.

  python scripts/bench_chat.py [--model tiny-vlm] [--max-tokens N] [--min-model-s 1] [--reps 9] [--torch-threads T]
                                [--out file.json]
"""

from __future__ import annotations

import argparse
import base64
import io
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


def _image():
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 192), (200, 60, 30))
    ImageDraw.Draw(img).ellipse((40, 30, 200, 170), fill=(30, 120, 220))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return img, "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _streamer_extra_ms(tokenizer, n: int, reps: int = 7) -> float:
    """What our chat streamer (engine/families/vlm.py: token count, halt check, stop-sequence trimmer,
    text callback) costs for n tokens beyond a plain TextStreamer, as the direct side uses: the same
    token ids through both, best of `reps` (CPU-bound, no model in it)."""
    import torch
    from transformers import TextStreamer

    from atelier.engine.families.vlm import _streamer_class
    from atelier.engine.vision import StopTrimmer

    words = tokenizer("the quick brown fox jumps over the lazy dog, ", add_special_tokens=False)["input_ids"]
    ids = [torch.tensor([[words[i % len(words)]]]) for i in range(n)]

    class Plain(TextStreamer):
        def on_finalized_text(self, text, stream_end=False):
            pass

    def ours():
        trimmer, pieces = StopTrimmer([]), []

        def deliver(text: str) -> None:
            safe = trimmer.feed(text)
            if safe:
                pieces.append(safe)

        return _streamer_class()(tokenizer, deliver, lambda: trimmer.stopped or False)

    def run(make) -> float:
        best = float("inf")
        for _ in range(reps):
            s = make()
            s.put(torch.tensor([[1, 2, 3]]))  # the prompt, skipped
            t = time.perf_counter()
            for tok in ids:
                s.put(tok)
            s.end()
            best = min(best, time.perf_counter() - t)
        return best

    plain = run(lambda: Plain(tokenizer, skip_prompt=True, skip_special_tokens=True))
    return max(0.0, run(ours) - plain) * 1000


def _serve(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    server.thread = thread  # joined at the end: the lifespan stops the GPU worker
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-vlm")
    ap.add_argument("--models", choices=["tiny", "real"], default="tiny")
    ap.add_argument("--models-dir", default=None, help="default: a temporary directory for tiny models")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: calibrated to --min-model-s")
    ap.add_argument("--min-model-s", type=float, default=1.0,
                    help="model time a direct call must take at least (seconds), when calibrating")
    ap.add_argument("--reps", type=int, default=9, help="ABBA rounds")
    ap.add_argument("--question", default="Describe this image.")
    ap.add_argument("--torch-threads", type=int, default=None, help="default: torch's own choice")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import httpx
    import torch
    from transformers import TextStreamer

    from atelier.core.config import Settings
    from atelier.engine.base import Placement
    from atelier.engine.families import load_families
    from atelier.main import create_app

    load_before = os.getloadavg()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    models_dir = Path(args.models_dir or tempfile.mkdtemp(prefix="atelier-bench-"))
    settings = Settings(models=args.models, models_dir=models_dir, model_ttl=0)
    app = create_app(settings)
    server, base = _serve(app)  # the lifespan builds the tiny models if needed
    try:
        services = app.state.services
        spec = services.catalog.resolve(args.model, kind="vision")
        img, data_url = _image()
        n = args.max_tokens or 64

        # --- direct: the model's processor, chat template and generate(), nothing of ours
        # A second copy, placed as the server places its own (same device, dtype, quantisation).
        placement = (services.manager.plan_for(spec).placement if hasattr(services.manager, "plan_for")
                     else Placement())
        direct = load_families()[spec.family].load(spec, placement)
        proc, model = direct.processor, direct.model
        # generate() timed on each thread that calls it (the direct side on this thread, the API on the
        # GPU worker's): both copies are of one class, so one wrapper times both.
        gen_s: dict[int, float] = {}
        cls = type(model)
        plain_generate = cls.generate

        def timed_generate(self, *a, **kw):
            t = time.perf_counter()
            try:
                return plain_generate(self, *a, **kw)
            finally:
                gen_s[threading.get_ident()] = time.perf_counter() - t

        cls.generate = timed_generate
        msgs = [{"role": "user", "content": [{"type": "text", "text": args.question}, {"type": "image"}]}]
        cpu: list[float] = []  # process CPU time of the last call (server, client and model threads)
        gen: list[float] = []  # wall time inside generate() of the last call

        def run_direct() -> tuple[float, float | None]:
            first: list[float] = []
            c0 = time.process_time()

            class S(TextStreamer):
                def on_finalized_text(self, text, stream_end=False):
                    if text and not first:
                        first.append(time.perf_counter())

            t0 = time.perf_counter()
            prompt = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            inputs = proc(text=[prompt], images=[img], return_tensors="pt")
            inputs.pop("token_type_ids", None)
            inputs = {k: v.to(model.device) for k, v in inputs.items()}
            with torch.inference_mode():
                model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                               streamer=S(proc.tokenizer, skip_prompt=True, skip_special_tokens=True))
            t1 = time.perf_counter()
            cpu.append(time.process_time() - c0)
            gen.append(gen_s.pop(threading.get_ident()))
            return t1 - t0, (first[0] - t0) if first else None

        def run_api(http: httpx.Client) -> float:
            c0 = time.process_time()
            t0 = time.perf_counter()
            r = http.post(base + "/v1/chat/completions", json=body)
            r.raise_for_status()
            t1 = time.perf_counter()
            assert r.json()["usage"]["completion_tokens"] == n
            cpu.append(time.process_time() - c0)
            (worker_thread,) = [k for k in gen_s if k != threading.get_ident()]
            gen.append(gen_s.pop(worker_thread))
            return t1 - t0

        def run_stream(http: httpx.Client) -> float | None:
            t0 = time.perf_counter()
            with http.stream("POST", base + "/v1/chat/completions", json={**body, "stream": True}) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        delta = json.loads(line[6:])["choices"]
                        if delta and delta[0]["delta"].get("content"):
                            return time.perf_counter() - t0
            return None

        if args.max_tokens is None:
            # Calibrate: per-token time grows with the sequence, so scale, then check, up to 4 times.
            prompt_len = proc(text=[proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)],
                              images=[img], return_tensors="pt")["input_ids"].shape[1]
            context = getattr(model.config.get_text_config(), "max_position_embeddings", 4096) or 4096
            cap = max(1, min(4096, context - prompt_len - 1))
            run_direct()
            want = 1.2 * args.min_model_s
            for _ in range(4):
                took = min(run_direct()[0] for _ in range(2))
                if took >= want or n >= cap:
                    break
                n = min(cap, max(n + 1, int(n * want / took * 1.05)))

        def body_for(n: int) -> dict:
            return {"model": spec.id, "max_tokens": n, "min_tokens": n, "temperature": 0,
                    "messages": [{"role": "user", "content": [
                        {"type": "text", "text": args.question},
                        {"type": "image_url", "image_url": {"url": data_url}}]}]}

        body = body_for(n)

        with httpx.Client(timeout=600) as http:
            run_api(http), run_direct()  # warm-up: loads the server's copy, first-call costs
            direct_t, direct_ttft, api_t, api_ttft, direct_cpu, api_cpu = [], [], [], [], [], []
            direct_out, api_out = [], []  # time outside generate()

            def direct_side() -> None:
                d, f = run_direct()
                direct_t.append(d)
                direct_out.append(d - gen[-1])
                direct_cpu.append(cpu[-1])
                direct_ttft.append(f)

            def api_side() -> None:
                api_t.append(run_api(http))
                api_out.append(api_t[-1] - gen[-1])
                api_cpu.append(cpu[-1])
                api_ttft.append(run_stream(http))
                # The stream was left at its first content: its job is cancelled and stops at the next
                # token. Wait for that, so it never runs into the next round's measurement.
                deadline = time.monotonic() + 30
                while (services.worker.running is not None or services.worker.queued()) and time.monotonic() < deadline:
                    time.sleep(0.002)

            for i in range(args.reps):  # ABBA rounds: each side goes first in half of them
                for side in ((direct_side, api_side) if i % 2 == 0 else (api_side, direct_side)):
                    side()

        cls.generate = plain_generate
        per_token_ms = _streamer_extra_ms(proc.tokenizer, n)
        med = statistics.median
        # The figures are medians of the rounds' pairs (as scripts/bench_queue.mjs): one noisy run on
        # a shared machine moves one pair, not the result.
        ttft_pairs = [(d, a) for d, a in zip(direct_ttft, api_ttft) if d is not None and a is not None]
        result = {
            "benchmark": "chat_overhead",
            "model": spec.id,
            "device": str(model.device),
            "torch_threads": torch.get_num_threads(),
            "max_tokens": n,
            "min_model_s": args.min_model_s,
            "model_s_ok": med(direct_t) >= args.min_model_s,
            "reps": args.reps,
            # A 2-core machine shared with other work: the load says how much to trust one run.
            "load_avg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "direct_ms": round(med(direct_t) * 1000, 1),
            "api_ms": round(med(api_t) * 1000, 1),
            "order": "ABBA",
            "overhead_ratio": round(med(a / d for d, a in zip(direct_t, api_t)), 4),
            "ratio_of_medians": round(med(api_t) / med(direct_t), 4),
            "added_outside_generate_ms": round(med(a - d for d, a in zip(direct_out, api_out)) * 1000, 2),
            "added_outside_generate_ms_by_round": [round((a - d) * 1000, 2) for d, a in zip(direct_out, api_out)],
            "streamer_extra_ms": round(per_token_ms, 2),
            "added_ms": round(med(a - d for d, a in zip(direct_out, api_out)) * 1000 + per_token_ms, 1),
            "added_ms_wall": round(med(a - d for d, a in zip(direct_t, api_t)) * 1000, 1),
            "added_ms_wall_by_round": [round((a - d) * 1000, 1) for d, a in zip(direct_t, api_t)],
            # CPU time of the whole process per call (client, server and model threads): steadier than
            # wall time on a loaded machine, and what the API costs beside the model.
            "direct_cpu_ms": round(med(direct_cpu) * 1000, 1),
            "added_cpu_ms": round(med(a - d for d, a in zip(direct_cpu, api_cpu)) * 1000, 1),
            "target_ratio": 1.05,
            "target_added_ms": 10,
            "direct_ttft_ms": round(med(d for d, _ in ttft_pairs) * 1000, 1) if ttft_pairs else None,
            "api_ttft_ms": round(med(a for _, a in ttft_pairs) * 1000, 1) if ttft_pairs else None,
            "added_ttft_ms": round(med(a - d for d, a in ttft_pairs) * 1000, 1) if ttft_pairs else None,
        }
        result["pass"] = result["overhead_ratio"] <= result["target_ratio"] and result["added_ms"] < 10
        text = json.dumps(result, indent=2)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n")
    finally:
        # A clean stop: the last stream's cancelled generate() must not be mid-kernel at exit
        # (a daemon thread killed inside torch aborts the process: "terminate called ...").
        server.should_exit = True
        server.thread.join(60)


if __name__ == "__main__":
    main()
