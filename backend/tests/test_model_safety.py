"""Model safety (issue 9, point 3): only safetensors, the one remote-code model pinned, no path escapes.

Pickle checkpoints can run code when loaded; a model id is user input that must never name a
file outside the models folder, whether by `..`, an absolute path or a symlink.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atelier.core.errors import InvalidParameter, ModelNotFound, UnsafeModel
from atelier.engine.catalog import REAL_MODELS, PICKLE_SUFFIXES, Catalog, check_model_name, discover_user_models
from atelier.main import create_app


# ----------------------------------------------------------------------------- the curated catalog
def test_exactly_one_catalog_model_runs_remote_code_and_it_is_pinned():
    remote = [s for s in REAL_MODELS if s.trust_remote_code]
    assert [s.id for s in remote] == ["moondream-2"], remote
    for s in remote:
        assert s.revision and s.revision not in ("main", "master", "HEAD"), (
            f"{s.id} runs code from {s.source}: pin it to a release tag or commit, not {s.revision!r}")


def test_remote_code_is_loaded_from_the_local_cache_only_at_the_pinned_revision():
    # The loader must pass the pinned revision, local_files_only and use_safetensors: no fetch of
    # new code at load time, no pickle weights.
    src = (Path(__file__).resolve().parents[1] / "atelier/engine/families/moondream.py").read_text()
    for needle in ('"revision": spec.revision', '"trust_remote_code": True', '"use_safetensors": True',
                   "local_files_only=True"):
        assert needle in src, needle


def test_every_loader_asks_for_safetensors_and_local_files_only():
    fam = Path(__file__).resolve().parents[1] / "atelier/engine/families"
    for name in ("sdxl.py", "vlm.py", "moondream.py"):
        src = (fam / name).read_text()
        assert "use_safetensors=True" in src or '"use_safetensors": True' in src, name
        assert "torch.load(" not in src and "pickle" not in src.replace("pickle formats", ""), name


def test_the_downloader_never_fetches_pickle_weights():
    from atelier.gallery.downloads.service import IGNORE_ALWAYS

    for pattern in ("*.bin", "*.ckpt", "*.pt", "*.pth", "*.pkl", "*.pickle"):
        assert pattern in IGNORE_ALWAYS


# ----------------------------------------------------------------------------- names
TRAVERSALS = ["../../etc/passwd", "../x", "/etc/passwd", "\\\\server\\share\\x", "..\\..\\windows\\win.ini",
              "C:\\Windows\\x", "c:/x", "sdxl/../../../etc/passwd", "a/./../../b", "/", "..", "~/../../etc"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_model_names_that_leave_the_models_folder_are_refused(name):
    with pytest.raises(InvalidParameter):
        check_model_name(name)
    with pytest.raises(InvalidParameter):
        Catalog([]).resolve(name)


@pytest.mark.parametrize("name", ["sdxl-realism", "sdxl/anime/my-model", "my model.v2", "a..b", "..hidden-not"])
def test_ordinary_names_pass_the_check(name):
    check_model_name(name)  # "a..b" has no `..` part: it is a plain name


def test_traversal_ids_are_400s_on_every_endpoint_that_takes_a_model(client):
    bad = "../../etc/passwd"
    calls = [
        ("POST", "/v1/generate", {"prompt": "x", "model": bad}),
        ("POST", "/v1/jobs", {"prompt": "x", "model": bad}),
        ("POST", "/v1/images/generations", {"prompt": "x", "model": bad}),
        ("POST", "/v1/chat/completions", {"model": bad, "messages": [{"role": "user", "content": "hi"}]}),
        ("POST", "/v1/analyze", {"image": "AAAA", "model": bad}),
        ("POST", "/v1/model/switch", {"model_id": bad}),
        ("POST", "/v1/model/unload", {"model_id": bad}),
        ("GET", "/v1/models/..%2F..%2Fetc%2Fpasswd", None),
        ("GET", "/v1/models/%2Fetc%2Fpasswd", None),
    ]
    for method, path, body in calls:
        r = client.request(method, path, json=body)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "invalid_parameter" and r.json()["error"]["param"] == "model", r.text
    for path in ("/v1/models/..%2F..%2Fetc%2Fpasswd/download", "/v1/models/%2E%2E/download"):
        r = client.post(path)
        assert r.status_code in (400, 404, 405), (path, r.text)  # 405: the slashes make it the GET-only /models/{id:path}
        assert "root:" not in r.text


# ----------------------------------------------------------------------------- the models folder
def _sdxl_single_file(path: Path) -> None:
    """The smallest safetensors file that discovery takes for an SDXL single-file checkpoint."""
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"conditioner.embedders.1.model.x": torch.zeros(1),
               "model.diffusion_model.y": torch.zeros(1)}, str(path))


class _Boom:
    """A pickle that would create a marker file if anything ever unpickled it."""

    marker: Path

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _evil_pickle(path: Path, marker: Path) -> None:
    boom = _Boom()
    boom.marker = marker
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(boom))


def test_discovery_lists_safetensors_and_refuses_pickles(tmp_path):
    models, outside = tmp_path / "models", tmp_path / "outside"
    _sdxl_single_file(models / "good.safetensors")
    _sdxl_single_file(models / "sdxl" / "nested.safetensors")
    marker = tmp_path / "PWNED"
    for suffix in PICKLE_SUFFIXES:
        _evil_pickle(models / f"evil{suffix}", marker)
    # A pickle renamed to .safetensors is not a safetensors file: ignored, never unpickled.
    _evil_pickle(models / "renamed.safetensors", marker)
    # Links that resolve outside the folder: to a file, to a folder, to a system file.
    _sdxl_single_file(outside / "secret.safetensors")
    (models / "link.safetensors").symlink_to(outside / "secret.safetensors")
    (models / "linkdir").symlink_to(outside, target_is_directory=True)
    (models / "passwd.safetensors").symlink_to("/etc/passwd")
    # A link that stays inside is fine.
    (models / "alias.safetensors").symlink_to(models / "good.safetensors")

    specs, refused = discover_user_models(models)
    ids = sorted(s.id for s in specs)
    assert ids == ["alias", "good", "sdxl/nested"], ids
    for s in specs:
        assert Path(s.source).resolve().is_relative_to(models.resolve()), s.source
    assert {f"evil{suffix}" for suffix in PICKLE_SUFFIXES} <= set(refused.values())
    assert not marker.exists(), "a pickle was unpickled during discovery"

    catalog = Catalog(specs, refused)
    with pytest.raises(UnsafeModel, match="pickle"):
        catalog.resolve("evil")
    with pytest.raises(UnsafeModel):
        catalog.resolve("evil.ckpt")
    for name in ("link", "linkdir/secret", "passwd", "renamed", "secret"):
        with pytest.raises(ModelNotFound):
            catalog.resolve(name)


def test_a_pickle_in_the_models_folder_is_a_400_over_http(tiny_settings, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_settings.models_dir / "tiny", models / "tiny", symlinks=True)
    marker = tmp_path / "PWNED"
    _evil_pickle(models / "juggernaut.ckpt", marker)
    settings = tiny_settings.model_copy(update={"models_dir": models})
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/generate", json={"prompt": "x", "model": "juggernaut"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "unsafe_model_format" and ".safetensors" in r.json()["error"]["message"]
        # Dropped in after start-up: found by the rescan, refused the same way.
        _evil_pickle(models / "later.pt", marker)
        r = c.post("/v1/model/switch", json={"model_id": "later"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "unsafe_model_format", r.text
        assert all(m["id"] not in ("juggernaut", "later") for m in c.get("/v1/models").json()["data"])
    assert not marker.exists()


def test_a_diffusers_folder_with_only_pickle_weights_is_refused_unopened(tiny_settings, tmp_path):
    """A user's diffusers folder whose UNet ships as .bin: refused like a .ckpt file (400, naming the
    file), never unpickled, and not a 500 from the loader."""
    models = tmp_path / "models"
    folder = models / "pickled-sdxl"
    shutil.copytree(tiny_settings.models_dir / "tiny" / "tiny-sdxl", folder)
    marker = tmp_path / "PWNED"
    for f in (folder / "unet").glob("*.safetensors"):
        f.unlink()
    _evil_pickle(folder / "unet" / "diffusion_pytorch_model.bin", marker)
    settings = tiny_settings.model_copy(update={"models_dir": models})
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/generate", json={"prompt": "x", "model": "pickled-sdxl", "steps": 1})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == "unsafe_model_format" and "unet/diffusion_pytorch_model.bin" in err["message"], err
    assert not marker.exists(), "the pickle was loaded"
