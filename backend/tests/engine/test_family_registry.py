"""Adding a model kind is one Family plus catalog entries: a throwaway family, registered and given
one catalog entry, shows up in /v1/models, /v1/status, the downloader and the planner, and loads,
with no other edit anywhere (docs/ARCHITECTURE.md, "Adding a model kind")."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient

from atelier.core.errors import ModelNotDownloaded
from atelier.engine import families
from atelier.engine.base import DownloadRecipe, ExtraRepo, Family, ModelSpec, Placement, RepoFile
from atelier.engine.catalog import Catalog
from atelier.engine.vram.footprint import footprint_from_modules
from atelier.gallery.downloads.service import Downloader
from atelier.main import create_app

WIDTH = 256  # a Linear(256, 256) "embedder": 65,792 parameters


class Loaded:
    def __init__(self, spec, placement, module):
        self.spec, self.placement, self.module = spec, placement, module

    def modules(self):
        return {"embedder": self.module}

    def to(self, device):
        self.module.to(device)

    def close(self):
        self.module = None


class ThrowawayFamily(Family):
    """A new kind ("embeddings") the rest of the app has never heard of."""

    name = "throwaway"

    def __init__(self):
        self.downloaded = True
        self.loads: list[Placement] = []

    def is_downloaded(self, spec):
        return self.downloaded

    def download_recipe(self, spec):
        return DownloadRecipe(("*.json", "*.safetensors"), extra_repos=(ExtraRepo("someone/tokenizer", "abc123"),),
                              prefer_fp16=True, fallback_bytes=1234)

    def parts(self, spec):
        with torch.device("meta"):
            module = torch.nn.Linear(WIDTH, WIDTH)
        return footprint_from_modules({"embedder": module}, ("embedder",), source="throwaway config")

    def defaults(self, spec):
        return {"dimensions": WIDTH, **spec.defaults}

    def load(self, spec, placement):
        self.loads.append(placement)
        return Loaded(spec, placement, torch.nn.Linear(WIDTH, WIDTH).to(placement.dtype))


SPEC = ModelSpec(id="throwaway-embed", kind="embeddings", family="throwaway", source="someone/embedder",
                 revision="v1", description="A throwaway embeddings model.", defaults={"normalize": True})
PARAMS = WIDTH * WIDTH + WIDTH


@pytest.fixture
def family():
    fam = families.register(ThrowawayFamily())
    yield fam
    families.unregister(fam.name)


@pytest.fixture
def app_client(family, tiny_settings):
    app = create_app(tiny_settings)
    with TestClient(app) as client:
        client.app.state.services.catalog.add(SPEC)  # its catalog entry
        yield client


def test_a_registered_family_is_found_by_the_registry(family):
    assert families.load_families()["throwaway"] is family
    assert {"sdxl", "vlm", "moondream"} <= set(families.load_families())  # the package's own, by discovery


def test_models_list_shows_the_new_kind_with_its_size_and_defaults(app_client):
    m = app_client.get("/v1/models/throwaway-embed").json()
    assert m["type"] == "embeddings" and m["family"] == "throwaway" and m["downloaded"] is True
    assert m["size_bytes"] == PARAMS * 2  # fp16, from the family's parts: the one formula
    assert m["defaults"] == {"dimensions": WIDTH, "normalize": True}
    listed = {x["id"]: x for x in app_client.get("/v1/models").json()["data"]}
    assert listed["throwaway-embed"] == m


def test_status_plans_it_and_names_the_command_when_not_downloaded(app_client, family):
    row = next(r for r in app_client.get("/v1/status").json()["models"] if r["id"] == "throwaway-embed")
    assert row["state"] == "on_disk" and row["kind"] == "embeddings"
    assert row["planned"]["ram_bytes"] == PARAMS * 4  # the CPU: float32, everything in RAM
    family.downloaded = False
    row = next(r for r in app_client.get("/v1/status").json()["models"] if r["id"] == "throwaway-embed")
    assert row["state"] == "not_downloaded" and row["download_bytes"] == PARAMS * 2
    assert "make models MODELS=throwaway-embed" in row["download_hint"]
    with pytest.raises(ModelNotDownloaded, match="make models MODELS=throwaway-embed") as err:
        app_client.app.state.services.manager.ensure_downloaded(SPEC)
    assert err.value.message == row["download_hint"]  # one wording


def test_the_planner_places_it_on_a_card_and_the_manager_loads_it(family):
    from atelier.core.config import Settings
    from atelier.engine.manager import ModelManager
    from atelier.engine.vram import planner as vp

    card = vp.DeviceInfo("cuda", "Simulated 8 GiB", 8 * vp.GiB, 8 * vp.GiB)
    settings = Settings(vram_mode="high", ram_cache_gb=1, model_ttl=0, device="cpu", _env_file=None)
    mgr = ModelManager(settings, Catalog([SPEC]), families.load_families(), probe=lambda: card,
                       gpu_device="cpu", ram_probe=None)
    plan = mgr.plan_for(SPEC)
    assert plan.fits and plan.model_gpu_bytes == family.footprint(SPEC, plan.placement) == PARAMS * 2
    model, _ = mgr.acquire(SPEC)
    assert [(p.dtype, p.quant) for p in family.loads] == [(torch.float16, "none")]  # as planned
    assert model.module.weight.dtype == torch.float16
    mgr.unload()


class ListingHub:
    def __init__(self):
        self.listed: list[str] = []

    def list_files(self, repo_id, revision, token):
        self.listed.append(f"{repo_id}@{revision}")
        return [RepoFile("config.json", 10), RepoFile("model.safetensors", 400), RepoFile("model.fp16.safetensors", 200),
                RepoFile("model.bin", 400), RepoFile("tokenizer.json", 30)]


def test_the_downloader_follows_its_recipe(family, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    hub = ListingHub()
    d = Downloader(Catalog([SPEC]), cache_dir=tmp_path, hub=hub, families=families.load_families())
    plan = d.plan(d.resolve("throwaway-embed"))
    assert hub.listed == ["someone/embedder@v1", "someone/tokenizer@abc123"]
    own, extra = plan.repos
    assert [f.path for f in own.files] == ["config.json", "model.fp16.safetensors", "tokenizer.json"]  # fp16, no pickle
    assert [f.path for f in extra.files] == ["config.json", "tokenizer.json"]  # its own patterns: no weights
