#!/usr/bin/env python3
"""`make bench`: run every benchmark script and rewrite docs/BENCHMARKS.md.

Each benchmark is a script that prints ONE JSON object (possibly indented) at the end of stdout.
This file runs them, times them out, reads each one's target figures through a small adapter
below, and writes the report with the machine and the date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")

def _t(name: str, value, target: str, ok) -> dict:
    return {"name": name, "value": value, "target": target, "ok": ok}


def targets_generate(d: dict) -> list[dict]:
    return [_t("HTTP / direct pipeline time", d.get("ratio"), "<= 1.05", d.get("ratio", 9) <= 1.05),
            _t("added ms per request", d.get("added_ms"), "(reported)", None)]


def targets_chat(d: dict) -> list[dict]:
    return [_t("chat API / direct generate() time", d.get("overhead_ratio"), "<= 1.05",
               d.get("overhead_ratio", 9) <= 1.05),
            _t("added ms per request outside generate() + streamer cost (median of ABBA pairs)", d.get("added_ms"), "< 10",
               d.get("added_ms", 99) < 10),
            _t("added ms per request, wall clock with the model's own variation in it (median of ABBA pairs)",
               d.get("added_ms_wall"), "(reported)", None),
            _t("added time to first streamed token (ms)", d.get("added_ttft_ms"), "(reported)", None)]


def targets_swap(d: dict) -> list[dict]:
    return [_t("cold from_pretrained / RAM-cache swap", d.get("speedup"), ">= 5", d.get("meets_target"))]


def targets_grid(d: dict) -> list[dict]:
    t = d.get("targets", {})
    sizes = d.get("sizes", [])
    at50k = next((r for r in sizes if r.get("n") == 50_000), {})
    worst = max((r.get("p95FrameMs", 0) for r in sizes), default=None)
    imp = d.get("import") or {}
    search = at50k.get("searchMs", {})
    return [
        _t("worst p95 frame time while scrolling (ms)", worst, "<= 16.7 (one 60 Hz frame, 0.5 ms timer jitter)",
           t.get("p95FrameMs_le_16_7")),
        _t("dropped frames in the 10 s scroll, worst size", max((r.get("droppedFrames", 0) for r in sizes), default=None),
           "(reported)", None),
        _t("p95 frame, largest / smallest library", t.get("p95_ratio_largest_vs_smallest"), "<= 1.2",
           t.get("p95_ratio_le_1_2")),
        _t("first painted thumbnails at 50k (ms)", at50k.get("firstThumbsMs"), "<= 1000",
           t.get("firstPaint50k_le_1000ms")),
        _t("search latency at 50k, worst (ms)", search.get("max") if isinstance(search, dict) else search,
           "<= 50", t.get("search50k_le_50ms")),
        _t("import rate / raw decode-and-resize rate", imp.get("ratio"), ">= 0.8", t.get("import_ratio_ge_0_8")),
        _t("near-duplicate stacks at the largest size (5% re-encoded copies): rebuild ms",
           (sizes[-1].get("stacks") or {}).get("rebuildMs") if sizes else None, "(reported)", None),
    ]


def targets_grid_compare(d: dict) -> list[dict]:
    """--compare sync|stacks of bench_grid.mjs: per size, medians over paired ABBA rounds."""
    feature = d.get("compare", "?")
    rows = []
    for c in (d.get("comparisons") or {"?": {}}).values():
        n, t = c.get("n"), dict(c.get("targets", {}))
        # a comparison in which the feature did not do its work (sync idle or refused, no stack
        # collapsed) shows nothing: its figures' targets count as missed
        if t.get("syncBusyDuringScroll") is False or t.get("stacksCollapsedOnlyWhenOn") is False:
            t.update({k: False for k in ("p95_diff_le_one_frame", "dropped_diff_le_1pct_frames",
                                          "firstThumbs_ratio_le_1_1", "searchWorst_ratio_le_1_1_or_within_5ms")})
        at = f"{feature} on vs off at {n}, {c.get('rounds')} paired rounds"
        p95, drop, first, search = (c.get(k, {}) for k in ("p95FrameMs", "droppedFrames", "firstThumbsMs", "searchWorstMs"))
        frames = c.get("framesPerScroll")
        rows += [
            _t(f"{at}: p95 frame, on - off (ms; off {p95.get('offMedian')}, on {p95.get('onMedian')})", p95.get("diffMedian"),
               "<= 16.7 (one 60 Hz frame, 0.5 ms timer jitter)", t.get("p95_diff_le_one_frame")),
            _t(f"{at}: p95 frame, on / off", p95.get("ratioMedian"), "(reported)", None),
            _t(f"{at}: dropped frames, on - off (off {drop.get('offMedian')}, on {drop.get('onMedian')})", drop.get("diffMedian"),
               f"<= 1% of the scroll's {frames} frames", t.get("dropped_diff_le_1pct_frames")),
            _t(f"{at}: dropped frames, on / off (all rounds)", drop.get("ratioOfSums"), "(reported)", None),
            _t(f"{at}: first painted thumbnails, on / off (ms: off {first.get('offMedian')}, on {first.get('onMedian')})",
               first.get("ratioMedian"), "<= 1.1", t.get("firstThumbs_ratio_le_1_1")),
            _t(f"{at}: worst search, on / off (ms: off {search.get('offMedian')}, on {search.get('onMedian')})",
               search.get("ratioMedian"), f"<= 1.1, or on - off <= 5 ms (it is {search.get('diffMedian')})",
               t.get("searchWorst_ratio_le_1_1_or_within_5ms")),
        ]
        if "syncBusyDuringScroll" in t:
            rows.append(_t(f"{at}: the sync engine sent requests during every 'on' scroll (and none 'off')",
                           t.get("syncBusyDuringScroll"), "yes (else the comparison measured nothing)", t.get("syncBusyDuringScroll")))
        if "stacksCollapsedOnlyWhenOn" in t:
            rows.append(_t(f"{at}: stacks collapsed the grid in every 'on' run and in no 'off' one",
                           t.get("stacksCollapsedOnlyWhenOn"), "yes (else the comparison measured nothing)",
                           t.get("stacksCollapsedOnlyWhenOn")))
    return rows


def targets_search(d: dict) -> list[dict]:
    q, st, r, nd = d.get("query", {}), d.get("storage", {}), d.get("recall", {}), d.get("nearDuplicates", {})
    t = d.get("targets", {})
    return [
        _t(f"query over {q.get('vectors')} vectors, p95 (ms)", q.get("p95Ms"), "<= 50", t.get("queryP95_le_50ms")),
        _t("stored vector data per image (bytes)", st.get("bytesPerImage"), "<= 1024", t.get("bytesPerImage_le_1024")),
        _t("int8 recall@10 against float32", r.get("recallAt10"), ">= 0.98", t.get("recallAt10_ge_0_98")),
        _t("near-duplicates, re-encoded tier: precision", nd.get("precision"), ">= 0.95", t.get("reencodedPrecision_ge_0_95")),
        _t("near-duplicates, re-encoded tier: recall", nd.get("recall"), ">= 0.95", t.get("reencodedRecall_ge_0_95")),
    ]


def targets_upscale(d: dict) -> list[dict]:
    t = d.get("targets", {})
    return [_t("upscale seams: gradient across tile borders / interior", d.get("seam_gradient_ratio"), "<= 1.1",
               t.get("seam_le_1_1")),
            _t("upscale: tiled / whole-image CPU time", d.get("time_ratio"), "<= 1.15", t.get("time_ratio_le_1_15"))]


def targets_queue(d: dict) -> list[dict]:
    ratio = d.get("overhead_ratio", d.get("ratio"))
    return [_t("UI queue time / direct batch calls (median of paired rounds)", ratio, "<= 1.1",
               ratio <= 1.1 if isinstance(ratio, (int, float)) else None)]


def targets_library(d: dict) -> list[dict]:
    up, pull = d.get("upload", {}), d.get("pull", {})
    t = d.get("targets", {})
    return [_t("library upload (HEAD + 8 MB pieces, verified) / raw PUT, loopback", up.get("ratio"), ">= 0.8",
               t.get("upload_ratio_ge_0_8")),
            _t(f"server RSS growth pulling {pull.get('records')} records (MB)", pull.get("rss_growth_mb"), "<= 50",
               t.get("pull_rss_growth_le_50mb")),
            _t("50k-record pull, whole feed (s)", pull.get("seconds"), "(reported)", None)]


def targets_sync(d: dict) -> list[dict]:
    t = d.get("targets", {})
    return [_t(f"fresh browser, {d.get('images')} images: first painted thumbnail (ms)", d.get("firstThumbMs"), "<= 2000",
               t.get("firstThumb_le_2000ms")),
            _t("fresh browser: all metadata and thumbnails (ms)", d.get("allMetadataAndThumbsMs"), "(reported)", None)]


def targets_sync_upload(d: dict) -> list[dict]:
    return [_t(f"browser sync engine upload / raw PUT of the same bytes from the page, loopback "
               f"({d.get('originals')} originals of {d.get('mbEach')} MB, median of rounds)",
               d.get("engine_over_raw"), ">= 0.8", d.get("pass")),
            _t("the same against raw PUTs two at a time, as the engine sends originals", d.get("engine_over_raw_2_in_flight"),
               "(reported)", None),
            _t("browser sync engine upload rate (MB/s)", d.get("engineMBps"), "(reported)", None)]


def targets_embed(d: dict) -> list[dict]:
    ratio = d.get("overhead_ratio")
    rows = [_t(f"embedding throughput, indexing lane / direct /v1/embeddings batches, an import of {d.get('images')} "
               "images (median of paired rounds)", ratio, "<= 1.1", ratio <= 1.1 if isinstance(ratio, (int, float)) else None),
            _t("images embedded per second through the lane (tiny SigLIP)", d.get("ui_images_per_s"), "(reported)", None),
            _t("the same from the lane's first call, not the import's end (median of paired rounds)",
               d.get("ratio_from_first_call"), "(reported)", None),
            _t("indexing lane / direct batches with two calls in flight, as the lane sends them (median of paired rounds)",
               d.get("ratio_vs_direct_2_in_flight"), "(reported)", None)]
    # the other import sizes: a short pass, where the lane's start after the import weighs most
    for n, s in (d.get("sizes") or {}).items():
        if s.get("images") == d.get("images"):
            continue
        calls = (s.get("ui_calls_per_run") or ["?"])[0]
        first = (s.get("ui_median_round") or {}).get("first_call_ms")
        rows.append(_t(f"the same for an import of {n} images ({calls} calls; the lane's first call {first} ms after "
                       "the import's end)", s.get("overhead_ratio"), "(reported)", None))
    return rows


def targets_lora(d: dict) -> list[dict]:
    return [_t(f"switch between two attached LoRA sets, median (ms, {d.get('device')})", d.get("switch_ms_median"),
               "<= 50", d.get("switch_ms_median", 1e9) <= 50),
            _t(f"first load of a {d.get('lora_file_mb')} MB LoRA (s)", d.get("first_load_s"), "<= 3",
               d.get("first_load_s", 1e9) <= 3),
            _t("step time with two LoRAs / without, - 1 (CPU: tiny model, rank far above its widths; "
               "the GPU figure is in bench_gpu.json)", d.get("step_overhead"), "(reported)", None)]


BENCHES = [
    ("generation overhead (issue 3)", [PY, "scripts/bench_generate.py"], 900, targets_generate),
    ("chat overhead (issue 4)", [PY, "scripts/bench_chat.py"], 900, targets_chat),
    ("RAM-cache swap (issue 5)", [PY, "scripts/bench_swap.py"], 900, targets_swap),
    ("gallery grid (issue 6)", ["node", "scripts/bench_grid.mjs"], 1500, targets_grid),
    # the grid figures with a feature off vs on, paired ABBA rounds (bench_grid.mjs --compare);
    # selected by their key: `scripts/bench.py grid-sync`, `scripts/bench.py grid-stacks`
    ("grid with sync on (issue 18)", ["node", "scripts/bench_grid.mjs", "--compare", "sync", "--sizes", "10000",
                                      "--rounds", "4", "--scroll-seconds", "8"], 720, targets_grid_compare, "grid-sync"),
    ("grid with stacks on, 100k (issue 19)", ["node", "scripts/bench_grid.mjs", "--compare", "stacks", "--sizes", "100000",
                                              "--rounds", "4", "--scroll-seconds", "8"], 720, targets_grid_compare,
     "grid-stacks"),
    ("analysis queue overhead (issue 7)", ["node", "scripts/bench_queue.mjs"], 900, targets_queue),
    ("search by meaning and stacks (issue 19)", ["node", "scripts/bench_search.mjs"], 1500, targets_search),
    ("library on the server (issue 18)", [PY, "scripts/bench_library.py"], 900, targets_library),
    ("fresh browser sync (issue 18)", ["node", "scripts/bench_sync.mjs"], 1200, targets_sync),
    ("browser sync upload (issue 18)", ["node", "scripts/bench_sync_upload.mjs"], 600, targets_sync_upload),
    ("upscale in tiles (issue 21)", [PY, "scripts/bench_upscale.py"], 900, targets_upscale),
    ("embedding throughput (issue 19)", ["node", "scripts/bench_embed.mjs"], 900, targets_embed),
    ("LoRA adapters (issue 20)", [PY, "scripts/bench_lora.py"], 900, targets_lora),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = "no GPU"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            gpu = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {gpu}, {platform.system()} {platform.release()}"


def last_json(stdout: str) -> dict | None:
    """The last JSON object printed, whether on one line or indented over several."""
    lines = stdout.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except json.JSONDecodeError:
                continue
    return None


def run(title: str, cmd: list[str], timeout: int, adapter) -> dict:
    script = ROOT / cmd[1]
    if not script.exists():
        return {"title": title, "error": f"{cmd[1]} does not exist yet"}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "PYTHONUNBUFFERED": "1"}
    print(f"== {title}: {' '.join(cmd)}", flush=True)
    # its own process group: a timeout ends the script and what it started (Chromium, a backend)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.communicate(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        return {"title": title, "error": f"timed out after {timeout} s"}
    sys.stderr.write(stderr[-4000:])
    data = last_json(stdout)
    if data is None:
        return {"title": title, "error": f"exit {proc.returncode}, no JSON result: {stdout[-500:]}"}
    report = {"title": title, "results": data, "targets": adapter(data)}
    if proc.returncode != 0 and not all(t["ok"] is not False for t in report["targets"]):
        report["notes"] = f"The script exited with code {proc.returncode} (a target was missed)."
    elif proc.returncode != 0:
        report["error"] = f"exit code {proc.returncode}"
    return report


def flatten(prefix: str, value, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:.4g}"))
    else:
        rows.append((prefix, json.dumps(value) if isinstance(value, list) else str(value)))


def previous_sections(md: str, skip: set[str]) -> tuple[list[str], list[str]]:
    """From an earlier BENCHMARKS.md: the target rows and the sections of the benchmarks not run
    now (a run of some benchmarks keeps the others' last figures)."""
    rows, sections, current, title = [], [], None, ""
    for line in md.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            current = None if title in skip or title == "Targets" else [line]
            if current is not None:
                sections.append(current)
            continue
        if current is not None:
            current.append(line)
        elif title == "Targets" and line.startswith("| ") and not line.startswith("| benchmark |") \
                and line.split("|")[1].strip() not in skip:
            rows.append(line)
    return rows, ["\n".join(s).rstrip() for s in sections]


def render(results: list[dict], command: str, previous: str = "") -> str:
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench.py); do not edit by hand.",
        "",
        f"- Date: {now}",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
        "",
        "## Targets",
        "",
        "| benchmark | figure | value | target | met |",
        "|---|---|---|---|---|",
    ]
    kept_rows, kept_sections = previous_sections(previous, {r["title"] for r in results}) if previous else ([], [])
    out += kept_rows
    for r in results:
        for t in r.get("targets", []):
            val = t.get("value")
            val = f"{val:.4g}" if isinstance(val, float) else str(val)
            ok = {True: "yes", False: "**no**"}.get(t.get("ok"), "n/a")
            out.append(f"| {r['title']} | {t.get('name')} | {val} | {t.get('target')} | {ok} |")
        if "error" in r:
            out.append(f"| {r['title']} | (did not run) | {r['error']} | | **no** |")
    for r in results:
        out += ["", f"## {r['title']}", ""]
        if r.get("notes"):
            out += [r["notes"], ""]
        rows: list[tuple[str, str]] = []
        flatten("", r.get("results", {}), rows)
        if rows:
            out += ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
        if "error" in r:
            out += ["", f"Error: {r['error']}"]
    for sec in kept_sections:
        out += ["", sec]
    return "\n".join(out) + "\n"


def selected(bench: tuple, only: set[str]) -> bool:
    """No names: all. A section with a key of its own is picked by that key alone; the others by
    any part of their script's path (`bench_grid`, `grid`: the plain grid section only)."""
    if not only:
        return True
    _, cmd, _, _, *key = bench
    return bool(only & set(key)) if key else any(o in cmd[1] for o in only)


def main() -> int:
    only = set(sys.argv[1:])
    results = [run(*b[:4]) for b in BENCHES if selected(b, only)]
    (ROOT / "docs").mkdir(exist_ok=True)
    path = ROOT / "docs" / "BENCHMARKS.md"
    # a run of some benchmarks keeps the last figures of the others
    previous = path.read_text() if only and path.exists() else ""
    command = "make bench" if not only else ("scripts/bench.py " + " ".join(sorted(only))
                                              + " (the other sections are from the previous run)")
    path.write_text(render(results, command, previous))
    print((ROOT / "docs" / "BENCHMARKS.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
