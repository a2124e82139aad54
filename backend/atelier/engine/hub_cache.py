"""Is a model in the Hugging Face cache complete? Our downloader's install record says, as Ollama's manifest does.

huggingface_hub writes a repo's snapshot folder as files arrive: after a crash mid-download (SIGKILL,
power cut) the folder holds the configs and some weights, the rest is missing or `.incomplete`,
and a look at the folder says "downloaded" (issue 16: the model showed `on_disk`, generation
answered 500 `model_load_failed`). So the downloader keeps an install record beside each repo
(`<cache>/models--org--name/.atelier-install-<revision>.json`, a file huggingface_hub ignores):

1. `partial`, with the planned files and sizes, written before the first byte is fetched;
2. `complete`, written last, once every planned file is in the snapshot and verified (its size,
   its sha256 for LFS files, its git blob id for the others).

A repo whose record says `partial` is not installed, whatever its folder holds; `complete` is
installed while its files are all there at their sizes. A cache without a record (copied from
another machine, fetched by `huggingface-cli`) is judged by the family's own checks, except that
a `.incomplete` blob means an interrupted download.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

State = Literal["complete", "partial", "unknown"]


def default_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def repo_dir(cache_dir: Path, repo_id: str) -> Path:
    return Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"


def record_path(cache_dir: Path, repo_id: str, revision: str | None) -> Path:
    return repo_dir(cache_dir, repo_id) / f".atelier-install-{quote(revision or 'main', safe='')}.json"


def write_record(cache_dir: Path, repo_id: str, revision: str | None, state: State,
                 files: dict[str, int], commit: str | None = None) -> None:
    """Atomically (a crash leaves the old record or the new one, never half of one)."""
    path = record_path(cache_dir, repo_id, revision)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"repo": repo_id, "revision": revision, "state": state, "commit": commit,
                               "files": files, "updated": time.time()}, indent=1))
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_record(cache_dir: Path, repo_id: str, revision: str | None) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path(cache_dir, repo_id, revision).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("files"), dict) else None


def _snapshot_dir(cache_dir: Path, repo_id: str, record: dict[str, Any]) -> Path | None:
    commit = record.get("commit")
    if not commit:
        ref = repo_dir(cache_dir, repo_id) / "refs" / (record.get("revision") or "main")
        try:
            commit = ref.read_text().strip()
        except OSError:
            return None
    return repo_dir(cache_dir, repo_id) / "snapshots" / commit


def snapshot_path(cache_dir: Path, repo_id: str, revision: str | None) -> Path | None:
    """The snapshot folder an install record points at."""
    record = read_record(cache_dir, repo_id, revision)
    return _snapshot_dir(cache_dir, repo_id, record) if record else None


def files_present(cache_dir: Path, repo_id: str, record: dict[str, Any]) -> bool:
    snap = _snapshot_dir(cache_dir, repo_id, record)
    if snap is None:
        return False
    for rel, size in record["files"].items():
        try:
            if (snap / rel).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def repo_state(repo_id: str, revision: str | None, cache_dir: Path | None = None) -> State:
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    record = read_record(cache_dir, repo_id, revision)
    if record is None:
        blobs = repo_dir(cache_dir, repo_id) / "blobs"
        return "partial" if blobs.is_dir() and any(blobs.glob("*.incomplete")) else "unknown"
    if record.get("state") == "complete" and files_present(cache_dir, repo_id, record):
        return "complete"
    return "partial"


def partial_progress(repo_id: str, revision: str | None, cache_dir: Path | None = None) -> dict[str, int] | None:
    """Bytes of an interrupted download of this repo (`bytes_done`, `bytes_total`), or None."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    if repo_state(repo_id, revision, cache_dir) != "partial":
        return None
    record = read_record(cache_dir, repo_id, revision) or {"files": {}}
    total = sum(record["files"].values())
    blobs = repo_dir(cache_dir, repo_id) / "blobs"
    done = sum(f.stat().st_size for f in blobs.glob("*")) if blobs.is_dir() else 0
    return {"bytes_done": min(done, total) if total else done, "bytes_total": total}


def cached_snapshot(repo_id: str, revision: str | None) -> Path | None:
    """The repo's snapshot folder in the local cache, or None when it is not there or not
    completely downloaded. Never touches the network."""
    from huggingface_hub import snapshot_download

    cache_dir = default_cache_dir()
    if repo_state(repo_id, revision, cache_dir) == "partial":
        return None
    try:
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, local_files_only=True))
    except Exception:  # LocalEntryNotFoundError and friends: not cached
        return None
