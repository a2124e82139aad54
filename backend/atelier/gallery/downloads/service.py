"""Fetch catalog models into the Hugging Face cache: plan, check, download, report progress.

Used by the CLI (`python -m atelier.download`, `make models`) and by the download endpoints.
No FastAPI here. Only catalog entries that point at a hub repo can be fetched: the id is
resolved through the catalog, so a request can never name an arbitrary repo or path.

Steps for one model:
1. plan: list the repo's files (HfApi.model_info with files_metadata, short timeout), keep only
   what the loader needs (safetensors, configs, tokenizers, the pinned remote code) through the
   family's allow/ignore patterns, and add the extra repos a family needs (Moondream's tokenizer).
2. check: enough free disk for what is not cached yet, plus a margin.
3. download: huggingface_hub.snapshot_download (resumes partial files, skips complete ones),
   between two install records (engine/hub_cache.py): `partial` before the first byte, `complete`
   after the last, once every planned file is verified (size; sha256 for LFS files, the git blob
   id for the others). A crash between them leaves the model "not downloaded" with a partial
   download that the next start resumes; it is never half-installed.
Offline (HF_HUB_OFFLINE set, or no route to the hub) fails in step 1 within seconds. Two downloads
started together check the free disk one after the other, each counting what the other will write.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from atelier.core.errors import AtelierError, InvalidParameter
from atelier.engine.base import ModelSpec
from atelier.engine import hub_cache
from atelier.engine.catalog import Catalog

log = logging.getLogger("atelier.downloads")

GiB = 1024**3

# Never fetched, whatever a family allows: pickle formats (the app refuses them) and exports the
# app does not load (ONNX, OpenVINO, GGUF, Flax, TF) that many repos carry beside the safetensors.
IGNORE_ALWAYS = [
    "*.bin", "*.ckpt", "*.pt", "*.pth", "*.pkl", "*.pickle",
    "*.onnx", "*.onnx_data", "*.gguf", "*.msgpack", "*.h5", "*.ot", "*.tflite", "*.mlmodel",
    "onnx/*", "*/onnx/*", "openvino/*", "*/openvino/*", "coreml/*", "flax_model*", "tf_model*",
    "*.md", "*.png", "*.jpg", "*.jpeg", "*.webp", "*.gif", ".gitattributes",
]

# What each family's loader reads. Patterns are fnmatch-style, matched against the path inside the
# repo, where `*` also matches `/`.
ALLOW_PATTERNS: dict[str, list[str]] = {
    # diffusers layout only: `unet/*.safetensors` etc. A root-level single-file checkpoint (many SDXL
    # repos ship one beside the diffusers folders) would duplicate ~7 GB, so root *.safetensors
    # are not allowed; see `_sdxl_single_file_fallback` for repos that have nothing else.
    "sdxl": [
        "model_index.json",
        "scheduler/*.json",
        "unet/config.json", "unet/*.safetensors",
        "vae/config.json", "vae/*.safetensors",
        "text_encoder/config.json", "text_encoder/*.safetensors",
        "text_encoder_2/config.json", "text_encoder_2/*.safetensors",
        "tokenizer/*", "tokenizer_2/*",
    ],
    # Moondream runs its own pinned remote code: configs, the *.py files and the safetensors.
    "moondream": ["*.json", "*.py", "*.safetensors", "*.txt", "*.model"],
    # Any transformers image-text-to-text model: configs, processor, tokenizer, chat template.
    "vlm": ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken"],
    # SigLIP embeddings: what engine/families/siglip.py reads (its ALLOW_PATTERNS).
    "siglip": ["*.json", "*.safetensors", "*.model", "*.txt"],
}

# What to fetch of the extra repos a catalog entry names (`ModelSpec.extra_repos`, each at its
# pinned revision) besides the model's own: Moondream 2's code loads its tokenizer repo itself.
EXTRA_ALLOW_PATTERNS = ["*.json", "*.txt", "*.model"]

# Conservative download sizes (bytes) used when the hub answers but will not list file sizes.
# Rounded up from the repos' safetensors at the pinned revisions; disk is checked against these.
FALLBACK_BYTES: dict[str, int] = {"sdxl": 14 * GiB, "moondream": 5 * GiB, "vlm": 1 * GiB, "siglip": 2 * GiB}

DISK_MARGIN_BYTES = 1 * GiB  # left free after the download: the cache, logs and the OS need room
CONNECT_TIMEOUT_S = 5.0  # a home server with no route to the hub must not hang
READ_TIMEOUT_S = 30.0

State = Literal["idle", "running", "done", "error", "partial"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")


# ---------------------------------------------------------------------------- errors
class DownloadError(AtelierError):
    status = 400
    code = "download_failed"


class HubUnreachable(DownloadError):
    status = 503
    type = "server_error"
    code = "hub_unreachable"


class NotEnoughDisk(DownloadError):
    status = 507
    type = "server_error"
    code = "insufficient_storage"


class NotDownloadable(InvalidParameter):
    code = "not_downloadable"


class DownloadInProgress(DownloadError):
    status = 409
    code = "download_in_progress"


# ---------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    blob: str | None = None  # the cache's blob name (sha256 for LFS files, git blob id otherwise)


@dataclass
class RepoPlan:
    repo_id: str
    revision: str | None
    allow_patterns: list[str]
    ignore_patterns: list[str]
    files: list[RepoFile] = field(default_factory=list)
    estimated: bool = False  # sizes come from FALLBACK_BYTES, not the hub's listing

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass
class DownloadPlan:
    model_id: str
    repos: list[RepoPlan]
    cache_dir: Path

    @property
    def total_bytes(self) -> int:
        return sum(r.total_bytes for r in self.repos)

    def done_bytes(self) -> int:
        """Bytes of the planned files already in the cache, partial (`.incomplete`) ones included."""
        done = 0
        for repo in self.repos:
            blobs = repo_cache_dir(self.cache_dir, repo.repo_id) / "blobs"
            for f in repo.files:
                if not f.blob:
                    continue
                blob = blobs / f.blob
                if blob.exists():
                    done += f.size
                else:
                    partial = blobs / f"{f.blob}.incomplete"
                    if partial.exists():
                        done += min(partial.stat().st_size, f.size)
        return done

    def missing_bytes(self) -> int:
        return max(self.total_bytes - self.done_bytes(), 0)


repo_cache_dir = hub_cache.repo_dir


def repos_of(spec: ModelSpec) -> list[tuple[str, str | None]]:
    """(repo, revision) of every repo a catalog model is fetched from: its own and the extra ones."""
    return [(spec.source, spec.revision), *spec.extra_repos]


def _family_recipe(spec: ModelSpec) -> dict | None:
    """A family that owns its download recipe (`download_recipe(spec)`, issue 17's contract) answers
    for itself; the others use the tables above."""
    import importlib

    try:
        fam = importlib.import_module(f"atelier.engine.families.{spec.family}").FAMILY
    except (ImportError, AttributeError):
        return None
    return fam.download_recipe(spec) if hasattr(fam, "download_recipe") else None


def patterns_for(spec: ModelSpec) -> tuple[list[str], list[str]]:
    """(allow, ignore) patterns for a catalog model's own repo."""
    recipe = _family_recipe(spec)
    if recipe is not None:
        return list(recipe["allow"]), list(IGNORE_ALWAYS)
    try:
        allow = ALLOW_PATTERNS[spec.family]
    except KeyError:
        raise NotDownloadable(f"model {spec.id!r} (family {spec.family!r}) has no download recipe",
                              param="model") from None
    return list(allow), list(IGNORE_ALWAYS)


def select_files(family: str, files: Iterable[RepoFile], allow: list[str], ignore: list[str]) -> list[RepoFile]:
    """The files a loader of `family` needs, from a repo listing."""
    from huggingface_hub.utils import filter_repo_objects

    files = list(files)
    kept = list(filter_repo_objects(files, allow_patterns=allow, ignore_patterns=ignore, key=lambda f: f.path))
    if family == "sdxl":
        if not any(f.path == "model_index.json" for f in kept):
            kept = _sdxl_single_file_fallback(files)
        else:
            kept = _prefer_fp16_variant(kept)
    return kept


def _prefer_fp16_variant(files: list[RepoFile]) -> list[RepoFile]:
    """Where a component ships both `x.safetensors` and `x.fp16.safetensors`, keep the fp16 one.

    The app never runs SDXL in fp32 on a GPU, and the fp32 copies double the download (~13 GB).
    The sdxl loader passes `variant="fp16"` when the snapshot holds fp16 files."""
    paths = {f.path for f in files}
    out = []
    for f in files:
        if f.path.endswith(".safetensors") and ".fp16." not in f.path:
            fp16 = f.path[: -len(".safetensors")] + ".fp16.safetensors"
            if fp16 in paths:
                continue
        out.append(f)
    return out


def _sdxl_single_file_fallback(files: list[RepoFile]) -> list[RepoFile]:
    """A repo with no diffusers layout: its largest root-level .safetensors (a single-file checkpoint)."""
    singles = [f for f in files if "/" not in f.path and f.path.endswith(".safetensors")]
    return [max(singles, key=lambda f: f.size)] if singles else []


# ---------------------------------------------------------------------------- hub access
def hub_offline_reason() -> str | None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set: downloads are disabled. Unset it to download models"
    return None


def _is_connection_error(exc: BaseException) -> bool:
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


def _endpoint() -> str:
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

    def snapshot(self, repo: RepoPlan, cache_dir: Path, token: str | None,
                 tqdm_class: type | None = None) -> str:
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


# ---------------------------------------------------------------------------- the downloader
class Downloader:
    def __init__(self, catalog: Catalog, *, cache_dir: Path | None = None, hub: HubClient | None = None,
                 token: str | None = None, free_bytes_fn: Callable[[Path], int] = free_bytes):
        self.catalog = catalog
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.hub = hub or HubClient()
        self.token = token or os.environ.get("HF_TOKEN") or None
        self.free_bytes = free_bytes_fn

    def resolve(self, model: str) -> ModelSpec:
        """The catalog entry for `model` (id or alias); only hub-backed entries can be downloaded."""
        spec = self.catalog.resolve(model)
        if spec.local:
            raise NotDownloadable(
                f"model {spec.id!r} is a local model from the models folder; there is nothing to download",
                param="model",
            )
        patterns_for(spec)  # raises for families without a recipe
        return spec

    def plan(self, spec: ModelSpec) -> DownloadPlan:
        reason = hub_offline_reason()
        if reason:
            raise HubUnreachable(f"cannot download {spec.id}: {reason}.")
        allow, ignore = patterns_for(spec)
        repos = [RepoPlan(spec.source, spec.revision, allow, ignore)]
        repos += [RepoPlan(r, rev, list(EXTRA_ALLOW_PATTERNS), list(IGNORE_ALWAYS)) for r, rev in spec.extra_repos]
        for repo in repos:
            self._list(spec, repo)
        return DownloadPlan(spec.id, repos, self.cache_dir)

    def _list(self, spec: ModelSpec, repo: RepoPlan) -> None:
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

        where = f"{repo.repo_id}" + (f"@{repo.revision}" if repo.revision else "")
        try:
            listing = self.hub.list_files(repo.repo_id, repo.revision, self.token)
        except GatedRepoError as exc:
            raise DownloadError(f"{where} is gated: accept its licence on the Hugging Face website and "
                                f"pass a token (--token or HF_TOKEN). ({exc.__class__.__name__})") from exc
        except RevisionNotFoundError as exc:
            raise DownloadError(f"{where}: revision {repo.revision!r} not found on the hub") from exc
        except RepositoryNotFoundError as exc:
            raise DownloadError(f"{where}: repository not found (or private: pass a token with --token "
                                f"or HF_TOKEN)") from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise HubUnreachable(
                    f"cannot download {spec.id}: the Hugging Face hub ({_endpoint()}) is unreachable "
                    f"({type(exc).__name__}). Check the network (or a proxy via HTTPS_PROXY); on an "
                    f"offline machine copy an existing Hugging Face cache into HF_HOME instead."
                ) from exc
            # The hub answered but not with a listing (rate limit, API change): fall back to a
            # conservative size so the disk check still protects the user.
            log.warning("could not list %s (%s); using a conservative size estimate", where, exc)
            repo.estimated = True
            recipe = _family_recipe(spec) or {}
            fallback = recipe.get("fallback_bytes") or FALLBACK_BYTES.get(spec.family, 15 * GiB)
            size = fallback if repo.repo_id == spec.source else 50 * 1024**2
            repo.files = [RepoFile("<estimate>", size)]
            return
        repo.files = select_files(spec.family if repo.repo_id == spec.source else "extra", listing,
                                  repo.allow_patterns, repo.ignore_patterns)
        if repo.repo_id == spec.source and not any(f.path.endswith(".safetensors") for f in repo.files):
            raise DownloadError(f"{where} has no .safetensors weights the app can load; refusing to "
                                f"download pickle formats (.bin/.ckpt)")

    def check_disk(self, plan: DownloadPlan, reserved: int = 0) -> None:
        """Refuse when the missing bytes (plus `reserved` for other running downloads) will not fit."""
        need = plan.missing_bytes() + reserved
        free = self.free_bytes(plan.cache_dir)
        if need + DISK_MARGIN_BYTES > free:
            raise NotEnoughDisk(
                f"not enough disk space for {plan.model_id}: it needs {fmt_bytes(need)} more "
                f"(plus {fmt_bytes(DISK_MARGIN_BYTES)} margin) in {plan.cache_dir}, but only "
                f"{fmt_bytes(free)} is free. Free some space or point HF_HOME at a bigger disk."
            )

    def fetch(self, plan: DownloadPlan, tqdm_class: type | None = None) -> list[str]:
        """Download every repo of the plan; each is recorded `complete` only once verified."""
        planned = {r.repo_id: {f.path: f.size for f in r.files} if not r.estimated else {} for r in plan.repos}
        todo = [r for r in plan.repos if not self._installed(plan, r)]
        for repo in todo:  # every repo is partial before any byte arrives
            hub_cache.write_record(plan.cache_dir, repo.repo_id, repo.revision, "partial", planned[repo.repo_id])
        paths = {}
        for repo in plan.repos:
            if repo not in todo:
                paths[repo.repo_id] = str(hub_cache.snapshot_path(plan.cache_dir, repo.repo_id, repo.revision))
                continue
            try:
                snap = Path(self.hub.snapshot(repo, plan.cache_dir, self.token, tqdm_class))
            except Exception as exc:
                if _is_connection_error(exc):
                    raise HubUnreachable(
                        f"download of {plan.model_id} interrupted: lost the connection to the hub "
                        f"({type(exc).__name__}). Run it again: finished files are kept and partial "
                        f"ones resume."
                    ) from exc
                raise DownloadError(f"download of {repo.repo_id} failed: {type(exc).__name__}: {exc}") from exc
            files = verify(repo, snap)
            hub_cache.write_record(plan.cache_dir, repo.repo_id, repo.revision, "complete", files, commit=snap.name)
            paths[repo.repo_id] = str(snap)
        return [paths[r.repo_id] for r in plan.repos]

    def _installed(self, plan: DownloadPlan, repo: RepoPlan) -> bool:
        """Recorded complete, with the files this plan wants, all there: nothing to fetch."""
        record = hub_cache.read_record(plan.cache_dir, repo.repo_id, repo.revision)
        if record is None or record.get("state") != "complete" or repo.estimated:
            return False
        wanted = {f.path: f.size for f in repo.files}
        return (all(record["files"].get(p) == n for p, n in wanted.items())
                and hub_cache.files_present(plan.cache_dir, repo.repo_id, record))


def _digest(path: Path, kind: str, size: int) -> str:
    h = hashlib.sha256() if kind == "sha256" else hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def verify(repo: RepoPlan, snap: Path) -> dict[str, int]:
    """Every planned file is in the snapshot, at its size and with its hash (sha256 for LFS files, the
    git blob id for the others); returns path -> size for the install record. A file that fails is
    deleted, so that the next run fetches it again."""
    if repo.estimated:  # the hub would not list the repo: record what arrived, unverified
        return {p.relative_to(snap).as_posix(): p.stat().st_size for p in snap.rglob("*") if p.is_file()}
    files = {}
    for f in repo.files:
        path = snap / f.path
        problem = None
        try:
            size = path.stat().st_size
        except OSError:
            problem = "is missing"
        else:
            if size != f.size:
                problem = f"has {size:,} bytes, expected {f.size:,}"
            elif f.blob and (kind := "sha256" if _SHA256.match(f.blob) else "sha1" if _GIT_SHA1.match(f.blob) else None):
                if _digest(path, kind, size) != f.blob:
                    problem = f"does not match its {kind} checksum"
        if problem:
            with contextlib.suppress(OSError):
                path.resolve().unlink()
            raise DownloadError(f"{repo.repo_id}: {f.path} {problem} after the download; it was removed, "
                                f"run the download again")
        files[f.path] = f.size
    return files


# ---------------------------------------------------------------------------- background downloads
@dataclass
class Progress:
    model: str
    state: State = "idle"
    bytes_done: int = 0
    bytes_total: int = 0
    files_total: int = 0
    repos: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None
    plan: DownloadPlan | None = None

    def snapshot(self) -> dict[str, Any]:
        done = self.bytes_done
        if self.state == "running" and self.plan is not None:
            done = self.plan.done_bytes()
        elif self.state == "done":
            done = self.bytes_total
        return {
            "object": "model.download",
            "model": self.model,
            "state": self.state,
            "bytes_done": done,
            "bytes_total": self.bytes_total,
            "files_total": self.files_total,
            "repos": list(self.repos),
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class DownloadService:
    """Runs downloads on background threads (never the GPU worker) and tracks their progress."""

    def __init__(self, downloader: Downloader):
        self.downloader = downloader
        self._lock = threading.Lock()
        self._disk_lock = threading.Lock()  # one disk check at a time, each seeing the others' plans
        self._progress: dict[str, Progress] = {}
        self._threads: dict[str, threading.Thread] = {}

    def progress(self, model: str) -> dict[str, Any]:
        """This server's download of `model`; before one (after a restart, say), what the cache's
        install records say: `partial` for an interrupted download, `done` when installed."""
        spec = self.downloader.resolve(model)
        with self._lock:
            p = self._progress.get(spec.id)
        return (p or self._from_records(spec)).snapshot()

    def _from_records(self, spec: ModelSpec) -> Progress:
        cache = self.downloader.cache_dir
        repos = repos_of(spec)
        states = [hub_cache.repo_state(r, rev, cache) for r, rev in repos]
        if "partial" in states:
            parts = [hub_cache.partial_progress(r, rev, cache) or {} for r, rev in repos]
            return Progress(spec.id, state="partial", bytes_done=sum(x.get("bytes_done", 0) for x in parts),
                            bytes_total=sum(x.get("bytes_total", 0) for x in parts), repos=[r for r, _ in repos])
        if all(st == "complete" for st in states):
            records = [hub_cache.read_record(cache, r, rev) or {"files": {}} for r, rev in repos]
            total = sum(sum(rec["files"].values()) for rec in records)
            return Progress(spec.id, state="done", bytes_done=total, bytes_total=total,
                            files_total=sum(len(rec["files"]) for rec in records), repos=[r for r, _ in repos])
        return Progress(spec.id)

    def start(self, model: str) -> dict[str, Any]:
        """Start downloading `model` in the background; a running download is joined, not restarted.

        Planning (hub listing, disk check) runs here, synchronously and with short timeouts, so an
        offline server or a full disk is reported by the POST itself."""
        spec = self.downloader.resolve(model)
        with self._lock:
            current = self._progress.get(spec.id)
            if current is not None and current.state == "running":
                return current.snapshot()
            p = Progress(spec.id, state="running", started_at=time.time())
            self._progress[spec.id] = p
        try:
            plan = self.downloader.plan(spec)  # the hub listing: slow, outside the disk lock
            with self._disk_lock:  # check and claim together: two downloads cannot both pass
                self.downloader.check_disk(plan, reserved=self._reserved_bytes(exclude=spec.id))
                p.plan = plan
        except Exception as exc:
            self._fail(p, exc)
            raise
        p.bytes_total = plan.total_bytes
        p.files_total = sum(len(r.files) for r in plan.repos)
        p.repos = [r.repo_id for r in plan.repos]
        t = threading.Thread(target=self._run, args=(p, plan), name=f"download-{spec.id}", daemon=True)
        self._threads[spec.id] = t
        t.start()
        return p.snapshot()

    def _reserved_bytes(self, exclude: str) -> int:
        """Bytes other running downloads still have to write (they share the disk)."""
        with self._lock:
            running = [p.plan for m, p in self._progress.items() if m != exclude and p.state == "running" and p.plan]
        return sum(plan.missing_bytes() for plan in running)

    def _run(self, p: Progress, plan: DownloadPlan) -> None:
        try:
            self.downloader.fetch(plan)
        except Exception as exc:  # reported through progress(); the thread must not die loudly
            log.warning("download of %s failed: %s", p.model, exc)
            self._fail(p, exc)
            return
        with self._lock:
            p.bytes_done = p.bytes_total
            p.state = "done"
            p.finished_at = time.time()
        log.info("downloaded %s (%s)", p.model, fmt_bytes(p.bytes_total))

    def _fail(self, p: Progress, exc: BaseException) -> None:
        from atelier.core.errors import error_body

        with self._lock:
            p.bytes_done = p.plan.done_bytes() if p.plan else 0
            p.state = "error"
            p.error = error_body(exc)["error"]
            p.finished_at = time.time()

    def join(self, model: str, timeout: float | None = None) -> None:
        """Wait for a background download (tests, shutdown)."""
        t = self._threads.get(model)
        if t is not None:
            t.join(timeout)
