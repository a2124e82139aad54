"""Access to the Hugging Face hub: the two calls the downloader makes, offline detection, disk.

Tests replace `HubClient`; nothing else here talks to the network.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from atelier.engine import hub_cache
from atelier.engine.base import RepoFile

CONNECT_TIMEOUT_S = 5.0  # a home server with no route to the hub must not hang
READ_TIMEOUT_S = 30.0


def hub_offline_reason() -> str | None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set: downloads are disabled. Unset it to download models"
    return None


def is_connection_error(exc: BaseException) -> bool:
    import requests
    from huggingface_hub.errors import OfflineModeIsEnabled

    if isinstance(exc, (requests.ConnectionError, requests.Timeout, OfflineModeIsEnabled, TimeoutError,
                        ConnectionError)):
        return True
    try:
        import httpx

        return isinstance(exc, (httpx.ConnectError, httpx.TimeoutException))
    except ImportError:  # pragma: no cover
        return False


def endpoint() -> str:
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


class HubClient:
    """The two hub calls the downloader makes; tests replace it."""

    def list_files(self, repo_id: str, revision: str | None, token: str | None) -> list[RepoFile]:
        from huggingface_hub import HfApi

        info = HfApi().model_info(repo_id, revision=revision, files_metadata=True, token=token,
                                  timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))  # type: ignore[arg-type]
        out = []
        for s in info.siblings or []:
            blob = s.lfs.sha256 if s.lfs else s.blob_id
            out.append(RepoFile(s.rfilename, int(s.size or (s.lfs.size if s.lfs else 0) or 0), blob))
        return out

    def snapshot(self, repo, cache_dir: Path, token: str | None, tqdm_class: type | None = None) -> str:
        """Fetch a planned repo (a service.RepoPlan) into the cache; returns the snapshot folder."""
        from huggingface_hub import snapshot_download

        return snapshot_download(
            repo.repo_id, revision=repo.revision, cache_dir=cache_dir, token=token,
            allow_patterns=[f.path for f in repo.files] if repo.files and not repo.estimated
            else repo.allow_patterns,
            ignore_patterns=repo.ignore_patterns, etag_timeout=CONNECT_TIMEOUT_S * 2,
            tqdm_class=tqdm_class,
        )


default_cache_dir = hub_cache.default_cache_dir


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem that will hold `path` (its nearest existing parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


