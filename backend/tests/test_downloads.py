"""Model downloads: planning, the offline/disk/unknown-id refusals, the CLI and the endpoints.

No network: the hub client is replaced (or the real one is made to raise a connection error)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from atelier import download as cli
from atelier.core.config import Settings
from atelier.core.errors import AtelierError, ModelNotFound
from atelier.engine.catalog import Catalog, REAL_MODELS, build_catalog, tiny_models
from atelier.gallery.downloads import service as svc_mod
from atelier.gallery.downloads.router import get_download_service
from atelier.gallery.downloads.service import (
    DISK_MARGIN_BYTES as DOWNLOAD_MARGIN,
    GiB,
    Downloader,
    DownloadService,
    HubClient,
    HubUnreachable,
    NotDownloadable,
    NotEnoughDisk,
    RepoFile,
    select_files,
)
from atelier.main import create_app
from conftest import TESTCLIENT_HOST

MB = 1024**2

SDXL_REPO = [
    ("model_index.json", 600), ("README.md", 4000), (".gitattributes", 1500), ("sample.png", 900_000),
    ("Juggernaut_Lightning.safetensors", 6_900 * MB),  # root single-file duplicate
    ("scheduler/scheduler_config.json", 500),
    ("unet/config.json", 1800), ("unet/diffusion_pytorch_model.safetensors", 10_000 * MB),
    ("unet/diffusion_pytorch_model.fp16.safetensors", 5_000 * MB),
    ("unet/diffusion_pytorch_model.bin", 10_000 * MB),
    ("vae/config.json", 700), ("vae/diffusion_pytorch_model.safetensors", 160 * MB),
    ("text_encoder/config.json", 600), ("text_encoder/model.safetensors", 240 * MB),
    ("text_encoder_2/config.json", 600), ("text_encoder_2/model.fp16.safetensors", 1_300 * MB),
    ("text_encoder_2/model.safetensors", 2_600 * MB),
    ("tokenizer/vocab.json", 1_000_000), ("tokenizer/merges.txt", 500_000),
    ("tokenizer/tokenizer_config.json", 700), ("tokenizer/special_tokens_map.json", 500),
    ("tokenizer_2/vocab.json", 1_000_000), ("tokenizer_2/merges.txt", 500_000),
    ("vae_decoder/model.onnx", 100 * MB), ("unet/model.ckpt", 6_000 * MB),
]
MOONDREAM_REPO = [
    ("config.json", 1000), ("generation_config.json", 100), ("hf_moondream.py", 9000), ("moondream.py", 20000),
    ("vision.py", 5000), ("model.safetensors", 3_700 * MB), ("moondream2-text-model-f16.gguf", 2_800 * MB),
    ("moondream2-mmproj-f16.gguf", 900 * MB), ("pytorch_model.bin", 3_700 * MB), ("README.md", 3000),
]
VLM_REPO = [
    ("config.json", 1000), ("generation_config.json", 100), ("model.safetensors", 500 * MB),
    ("chat_template.json", 2000), ("preprocessor_config.json", 500), ("processor_config.json", 100),
    ("tokenizer.json", 3 * MB), ("tokenizer_config.json", 20000), ("special_tokens_map.json", 900),
    ("vocab.json", 800_000), ("merges.txt", 450_000), ("added_tokens.json", 100),
    ("onnx/vision_encoder.onnx", 400 * MB), ("onnx/decoder_model_merged_q4.onnx", 200 * MB),
    ("onnx/embed_tokens.onnx_data", 100 * MB), ("pytorch_model.bin", 500 * MB),
]
STARMIE_REPO = [("tokenizer.json", 2 * MB), ("README.md", 100)]
LISTINGS = {
    "RunDiffusion/Juggernaut-XL-Lightning": SDXL_REPO, "cagliostrolab/animagine-xl-3.1": SDXL_REPO,
    "Lykon/dreamshaper-xl-lightning": SDXL_REPO, "vikhyatk/moondream2": MOONDREAM_REPO,
    "moondream/starmie-v1": STARMIE_REPO, "HuggingFaceTB/SmolVLM-256M-Instruct": VLM_REPO,
}


def repo_files(listing) -> list[RepoFile]:
    return [RepoFile(p, s, f"blob{i:04d}") for i, (p, s) in enumerate(listing)]


class FakeHub(HubClient):
    """Lists the fake repos above; `snapshot` writes each planned blob into the cache like the hub would."""

    def __init__(self, delay: float = 0.0):
        self.listed: list[tuple[str, str | None]] = []
        self.fetched: list[str] = []
        self.delay = delay

    def list_files(self, repo_id, revision, token):
        self.listed.append((repo_id, revision))
        return repo_files(LISTINGS[repo_id])

    def snapshot(self, repo, cache_dir, token, tqdm_class=None):
        """The hub cache's layout: blobs, a snapshot of relative links to them, a ref."""
        root = svc_mod.repo_cache_dir(cache_dir, repo.repo_id)
        # a download by commit is stored under that commit (and writes no ref), as the hub library does
        pinned = repo.revision is not None and re.fullmatch(r"[0-9a-f]{40}", repo.revision)
        commit = repo.revision if pinned else "c0ffee" + "0" * 34
        blobs, snap = root / "blobs", root / "snapshots" / commit
        blobs.mkdir(parents=True, exist_ok=True)
        for f in repo.files:
            time.sleep(self.delay)
            # sparse files: the sizes are real to stat() but cost no disk
            with open(blobs / f.blob, "wb") as fh:
                fh.truncate(f.size)
            link = snap / f.path
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(os.path.relpath(blobs / f.blob, link.parent))
        if not pinned:
            (root / "refs").mkdir(exist_ok=True)
            (root / "refs" / (repo.revision or "main")).write_text(commit)
        self.fetched.append(repo.repo_id)
        return str(snap)


@pytest.fixture
def online(monkeypatch):
    # conftest makes the whole suite offline; these tests exercise the online path against fakes
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)


@pytest.fixture
def downloader(tmp_path, online) -> Downloader:
    return Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path / "hub", hub=FakeHub(),
                      free_bytes_fn=lambda _: 500 * GiB)


def selected(model_id: str) -> set[str]:
    spec = Catalog(list(REAL_MODELS)).resolve(model_id)
    recipe = Downloader(Catalog(list(REAL_MODELS))).recipe(spec)  # the family's recipe
    return {f.path for f in select_files(recipe, repo_files(LISTINGS[spec.source]))}


# ---------------------------------------------------------------------------- which files
def test_sdxl_download_keeps_diffusers_safetensors_and_one_variant_per_component():
    assert selected("sdxl-realism") == {
        "model_index.json", "scheduler/scheduler_config.json",
        "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json", "text_encoder/model.safetensors",
        "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
        "tokenizer/special_tokens_map.json", "tokenizer_2/vocab.json", "tokenizer_2/merges.txt",
    }


def test_sdxl_repo_without_diffusers_layout_falls_back_to_its_single_file_checkpoint():
    listing = repo_files([("README.md", 10), ("small.safetensors", 10 * MB), ("Big_XL.safetensors", 6900 * MB),
                          ("Big_XL.ckpt", 6900 * MB)])
    recipe = Downloader(Catalog(list(REAL_MODELS))).recipe(REAL_MODELS[0])
    assert [f.path for f in select_files(recipe, listing)] == ["Big_XL.safetensors"]


def test_moondream_download_takes_pinned_code_and_safetensors_but_no_gguf_or_pickles():
    assert selected("moondream-2") == {"config.json", "generation_config.json", "hf_moondream.py", "moondream.py",
                                       "vision.py", "model.safetensors"}


def test_vlm_download_skips_onnx_exports_and_pickles():
    picked = selected("smolvlm-256m")
    assert "model.safetensors" in picked and "tokenizer.json" in picked and "chat_template.json" in picked
    assert not any(p.startswith("onnx/") or p.endswith((".bin", ".onnx", ".onnx_data")) for p in picked)


def test_moondream_plan_includes_its_tokenizer_repo_at_the_pinned_revision(downloader):
    plan = downloader.plan(downloader.resolve("moondream"))
    assert [(r.repo_id, r.revision) for r in plan.repos] == [
        ("vikhyatk/moondream2", "2025-06-21"), ("moondream/starmie-v1", "35192e10a54e36eabe0a7cc57a2c1aab371cafc5")]
    assert plan.total_bytes == 3_700 * MB + 1000 + 100 + 9000 + 20000 + 5000 + 2 * MB


def test_repo_without_safetensors_is_refused(downloader, monkeypatch):
    monkeypatch.setitem(LISTINGS, "HuggingFaceTB/SmolVLM-256M-Instruct", [("config.json", 1), ("pytorch_model.bin", 9)])
    with pytest.raises(svc_mod.DownloadError, match="no .safetensors"):
        downloader.plan(downloader.resolve("smolvlm-256m"))


# ---------------------------------------------------------------------------- refusals
def test_offline_hub_fails_fast_with_a_clear_message(tmp_path, online, monkeypatch):
    calls = []

    def unreachable(self, repo_id, **kwargs):
        calls.append(kwargs.get("timeout"))
        raise requests.ConnectionError("Failed to resolve 'huggingface.co'")

    monkeypatch.setattr("huggingface_hub.HfApi.model_info", unreachable)
    d = Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path)  # the real HubClient
    t0 = time.perf_counter()
    with pytest.raises(HubUnreachable) as info:
        d.plan(d.resolve("sdxl-realism"))
    assert time.perf_counter() - t0 < 1.0
    assert "unreachable" in info.value.message and "sdxl-realism" in info.value.message
    assert info.value.status == 503 and info.value.code == "hub_unreachable"
    # a short connect timeout is what keeps a machine with no route from hanging
    assert calls and calls[0][0] <= 10


def test_hf_hub_offline_refuses_before_touching_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = FakeHub()
    d = Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path, hub=hub)
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE is set"):
        d.plan(d.resolve("sdxl-anime"))
    assert hub.listed == []


def test_disk_check_refuses_when_the_download_does_not_fit(tmp_path, online):
    d = Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path, hub=FakeHub(), free_bytes_fn=lambda _: 3 * GiB)
    plan = d.plan(d.resolve("sdxl-realism"))
    with pytest.raises(NotEnoughDisk, match=r"needs 6\.[0-9] GB more .* only 3\.0 GB is free"):
        d.check_disk(plan)


def test_disk_check_counts_only_what_is_not_cached_yet(tmp_path, online):
    d = Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path, hub=FakeHub(), free_bytes_fn=lambda _: 2 * GiB)
    plan = d.plan(d.resolve("smolvlm-256m"))
    d.check_disk(plan)  # 0.5 GB + 1 GB margin fits in 2 GB
    d.fetch(plan)
    assert plan.missing_bytes() == 0 and plan.done_bytes() == plan.total_bytes


def test_unknown_and_local_models_cannot_be_downloaded(tmp_path):
    d = Downloader(Catalog(list(REAL_MODELS) + list(tiny_models(tmp_path))), cache_dir=tmp_path, hub=FakeHub())
    with pytest.raises(ModelNotFound, match="unknown model 'stabilityai/sdxl-turbo'"):
        d.resolve("stabilityai/sdxl-turbo")
    with pytest.raises(AtelierError):  # path traversal never reaches the hub
        d.resolve("../../etc/passwd")
    with pytest.raises(NotDownloadable, match="local model"):
        d.resolve("tiny-sdxl")


# ---------------------------------------------------------------------------- the CLI
def test_cli_rejects_an_unknown_id_before_downloading_anything(monkeypatch, capsys):
    fetched = []
    monkeypatch.setattr(Downloader, "fetch", lambda self, plan: fetched.append(plan))
    assert cli.main(["sdxl-realism", "not-a-model"]) == 2
    assert "unknown model 'not-a-model'" in capsys.readouterr().err
    assert fetched == []


def test_cli_offline_exits_1_with_the_reason(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli.main(["moondream-2"]) == 1
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err


def test_cli_downloads_each_model_and_its_extra_repos(tmp_path, online, monkeypatch, capsys):
    hub = FakeHub()
    real_init = Downloader.__init__

    def init(self, catalog, **kw):
        real_init(self, catalog, cache_dir=tmp_path, hub=hub, free_bytes_fn=lambda _: 100 * GiB, token=kw.get("token"))

    monkeypatch.setattr(Downloader, "__init__", init)
    assert cli.main(["moondream-2", "smolvlm", "--token", "hf_x"]) == 0
    assert hub.fetched == ["vikhyatk/moondream2", "moondream/starmie-v1", "HuggingFaceTB/SmolVLM-256M-Instruct"]
    out = capsys.readouterr().out
    assert "moondream-2: done" in out and "smolvlm-256m: done" in out


def test_cli_list_shows_the_catalog(capsys):
    assert cli.main(["--list"]) == 0
    out = capsys.readouterr().out
    for spec in REAL_MODELS:
        assert spec.id in out


# ---------------------------------------------------------------------------- the endpoints
@pytest.fixture
def api(tmp_path, online):
    settings = Settings(models="real", models_dir=tmp_path / "models", data_dir=tmp_path / "data",
                        ui_dir=tmp_path / "ui", _env_file=None, allowed_hosts=[TESTCLIENT_HOST])
    app = create_app(settings)
    free = {"bytes": 500 * GiB}
    service = DownloadService(Downloader(build_catalog(settings), cache_dir=tmp_path / "hub", hub=FakeHub(0.002),
                                         free_bytes_fn=lambda _: free["bytes"]))
    app.dependency_overrides[get_download_service] = lambda: service
    with TestClient(app) as client:
        yield client, service, free


def test_post_download_returns_202_and_progress_reaches_done(api):
    client, service, _ = api
    r = client.post("/v1/models/smolvlm-256m/download")
    assert r.status_code == 202
    body = r.json()
    assert body["object"] == "model.download" and body["model"] == "smolvlm-256m"
    assert body["state"] in ("running", "done")
    assert body["bytes_total"] > 500 * MB and body["files_total"] == 12
    assert body["repos"] == ["HuggingFaceTB/SmolVLM-256M-Instruct"]
    service.join("smolvlm-256m", timeout=10)
    done = client.get("/v1/models/smolvlm-256m/download").json()
    assert done["state"] == "done" and done["bytes_done"] == done["bytes_total"] == body["bytes_total"]
    assert done["error"] is None and done["finished_at"] >= done["started_at"]


def test_get_download_of_a_model_never_fetched_is_idle(api):
    client, _, _ = api
    body = client.get("/v1/models/sdxl-anime/download").json()
    assert body["state"] == "idle" and body["bytes_done"] == 0 and body["model"] == "sdxl-anime"


def test_download_endpoints_accept_aliases_and_refuse_unknown_ids(api):
    client, service, _ = api
    assert client.get("/v1/models/moondream/download").json()["model"] == "moondream-2"
    r = client.post("/v1/models/evil-repo/download")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"


def test_download_endpoint_refuses_when_disk_is_full(api):
    client, _, free = api
    free["bytes"] = 1 * GiB
    r = client.post("/v1/models/sdxl-surreal/download")
    assert r.status_code == 507
    err = r.json()["error"]
    assert err["code"] == "insufficient_storage" and "not enough disk space" in err["message"]
    state = client.get("/v1/models/sdxl-surreal/download").json()
    assert state["state"] == "error" and state["error"]["code"] == "insufficient_storage"


def test_download_endpoint_offline_is_a_fast_503(api, monkeypatch):
    client, _, _ = api
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    r = client.post("/v1/models/sdxl-realism/download")
    assert time.perf_counter() - t0 < 2
    assert r.status_code == 503 and r.json()["error"]["code"] == "hub_unreachable"


def test_download_endpoints_are_in_the_openapi_schema(api):
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/models/{model_id}/download"]) == {"get", "post"}


# ---------------------------------------------------------------------------- complete or partial (issue 16, point 6)
class CrashingHub(FakeHub):
    """Fetches the first repo, then dies on the second one: a crash mid-download."""

    def snapshot(self, repo, cache_dir, token, tqdm_class=None):
        if self.fetched:
            raise RuntimeError("power cut")
        return super().snapshot(repo, cache_dir, token, tqdm_class)


@pytest.fixture
def hf_cache(tmp_path, monkeypatch, online):
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # where the families look
    return cache


def test_a_model_is_installed_only_once_every_repo_of_its_recipe_is_complete(hf_cache):
    from atelier.engine import hub_cache
    from atelier.engine.families.moondream import MoondreamFamily

    catalog = Catalog(list(REAL_MODELS))
    spec = catalog.resolve("moondream-2")
    crashing = Downloader(catalog, cache_dir=hf_cache, hub=CrashingHub(), free_bytes_fn=lambda _: 500 * GiB)
    plan = crashing.plan(spec)
    with pytest.raises(AtelierError):
        crashing.fetch(plan)
    # The weights' repo arrived whole; the tokenizer's did not: the model is not installed.
    (weights, weights_rev), (tokenizer, tokenizer_rev) = svc_mod.repos_of(spec, crashing.recipe(spec))
    assert hub_cache.repo_state(weights, weights_rev, hf_cache) == "complete"
    assert hub_cache.repo_state(tokenizer, tokenizer_rev, hf_cache) == "partial"
    assert not MoondreamFamily().is_downloaded(spec)
    # A server started afterwards reports a partial download, and a second run completes it
    # without fetching the finished repo again.
    assert DownloadService(crashing).progress("moondream-2")["state"] == "partial"
    hub = FakeHub()
    fresh = Downloader(catalog, cache_dir=hf_cache, hub=hub, free_bytes_fn=lambda _: 500 * GiB)
    fresh.fetch(fresh.plan(spec))
    assert hub.fetched == [tokenizer]
    assert MoondreamFamily().is_downloaded(spec)
    assert DownloadService(fresh).progress("moondream-2")["state"] == "done"


def test_a_file_that_fails_its_checksum_is_removed_and_the_model_stays_partial(hf_cache, monkeypatch):
    import hashlib

    from atelier.engine import hub_cache
    from atelier.engine.families.vlm import VLMFamily

    body = b'{"model_type": "idefics3"}'
    listing = [RepoFile("config.json", len(body), hashlib.sha256(b"something else").hexdigest())]

    class LyingHub(FakeHub):
        def list_files(self, repo_id, revision, token):
            return listing + [RepoFile("model.safetensors", 8, "b" * 40)]

        def snapshot(self, repo, cache_dir, token, tqdm_class=None):
            snap = Path(super().snapshot(repo, cache_dir, token, tqdm_class))
            (snap / "config.json").resolve().write_bytes(body)  # the wrong bytes, at the right size
            return str(snap)

    catalog = Catalog(list(REAL_MODELS))
    spec = catalog.resolve("smolvlm-256m")
    d = Downloader(catalog, cache_dir=hf_cache, hub=LyingHub(), free_bytes_fn=lambda _: 500 * GiB)
    with pytest.raises(AtelierError, match="config.json does not match its sha256 checksum"):
        d.fetch(d.plan(spec))
    assert hub_cache.repo_state(spec.source, spec.revision, hf_cache) == "partial"
    assert not VLMFamily().is_downloaded(spec)
    assert not (hf_cache / f"models--{spec.source.replace('/', '--')}" / "blobs" / listing[0].blob).exists()


def test_two_downloads_started_together_cannot_both_pass_the_disk_check(tmp_path, online):
    import threading

    gate = threading.Barrier(2, timeout=10)

    class SlowHub(FakeHub):
        def list_files(self, repo_id, revision, token):
            if repo_id != "moondream/starmie-v1":
                gate.wait()  # both plans are made at the same moment, then both check the disk
            return super().list_files(repo_id, revision, token)

    # Moondream (3.7 GB) fits alone, SmolVLM (0.5 GB) fits alone; both do not.
    free = DOWNLOAD_MARGIN + int(4.0 * GiB)
    service = DownloadService(Downloader(Catalog(list(REAL_MODELS)), cache_dir=tmp_path / "hub", hub=SlowHub(0.05),
                                         free_bytes_fn=lambda _: free))
    outcomes: dict[str, str] = {}

    def start(model: str) -> None:
        try:
            outcomes[model] = service.start(model)["state"]
        except NotEnoughDisk:
            outcomes[model] = "insufficient_storage"

    threads = [threading.Thread(target=start, args=(m,)) for m in ("moondream-2", "smolvlm-256m")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes.values()) == ["insufficient_storage", "running"], outcomes
    for m in outcomes:
        service.join(m, timeout=20)
