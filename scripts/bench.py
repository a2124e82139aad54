#!/usr/bin/env python3
"""`make bench`: run every benchmark script and rewrite docs/BENCHMARKS.md.

Each benchmark is a script that prints ONE JSON object as its last line of stdout:
    {"title": "...", "results": {...any nested figures...},
     "targets": [{"name": "...", "value": 1.02, "target": "<= 1.05", "ok": true}], "notes": "..."}
This file only runs them, times them out, and writes the report with the machine and the date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")

BENCHES: list[tuple[str, list[str], int]] = [
    ("generation overhead (issue 3)", [PY, "scripts/bench_generate.py"], 900),
    ("chat overhead (issue 4)", [PY, "scripts/bench_chat.py"], 900),
    ("RAM-cache swap (issue 5)", [PY, "scripts/bench_swap.py"], 900),
    ("gallery grid (issue 6)", ["node", "scripts/bench_grid.mjs"], 1500),
    ("analysis queue overhead (issue 7)", ["node", "scripts/bench_queue.mjs"], 900),
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


def run(title: str, cmd: list[str], timeout: int) -> dict:
    script = ROOT / cmd[1]
    if not script.exists():
        return {"title": title, "error": f"{cmd[1]} does not exist yet"}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "PYTHONUNBUFFERED": "1"}
    print(f"== {title}: {' '.join(cmd)}", flush=True)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"title": title, "error": f"timed out after {timeout} s"}
    sys.stderr.write(proc.stderr[-4000:])
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    try:
        data = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {"title": title, "error": f"exit {proc.returncode}, no JSON result: {proc.stdout[-500:]}"}
    data.setdefault("title", title)
    if proc.returncode != 0:
        data["error"] = f"exit code {proc.returncode}"
    return data


def flatten(prefix: str, value, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:.4g}"))
    else:
        rows.append((prefix, json.dumps(value) if isinstance(value, list) else str(value)))


def render(results: list[dict], command: str) -> str:
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
    return "\n".join(out) + "\n"


def main() -> int:
    only = set(sys.argv[1:])
    results = [run(t, c, to) for t, c, to in BENCHES if not only or any(o in c[1] for o in only)]
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "BENCHMARKS.md").write_text(render(results, "make bench"))
    print((ROOT / "docs" / "BENCHMARKS.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
