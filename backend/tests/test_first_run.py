"""A first run without models (issue 15): every "not downloaded" says the same thing, the status
says what to download and how big it is, and a model fetched first serves requests without one."""

import shutil

import pytest
from conftest import png_data_url
from fastapi.testclient import TestClient

from atelier.engine.base import not_downloaded_message


@pytest.fixture(scope="module")
def fresh(tiny_settings, tmp_path_factory):
    """The real catalog on an empty models folder: what `make start` on a new machine serves."""
    from atelier.main import create_app

    settings = tiny_settings.model_copy(update={"models": "real", "models_dir": tmp_path_factory.mktemp("empty")})
    with TestClient(create_app(settings)) as c:
        yield c


def _says_not_downloaded(r, model_id):
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "model_not_downloaded" and err["param"] == "model"
    assert err["message"] == not_downloaded_message(model_id)


def test_the_wording_names_the_download_button_and_the_make_command():
    text = not_downloaded_message("sdxl-realism")
    assert "Download" in text and "Status page" in text and "make models MODELS=sdxl-realism" in text


def test_generate_analyze_and_chat_say_the_same_thing(fresh):
    _says_not_downloaded(fresh.post("/v1/generate", json={"prompt": "a fox"}), "sdxl-realism")
    _says_not_downloaded(fresh.post("/v1/generate", json={"prompt": "a fox", "model": "sdxl-anime"}), "sdxl-anime")
    _says_not_downloaded(fresh.post("/v1/analyze", json={"image": png_data_url(), "tasks": ["caption"]}),
                         "moondream-2")
    chat = {"model": "smolvlm-256m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": png_data_url()}}]}]}
    _says_not_downloaded(fresh.post("/v1/chat/completions", json=chat), "smolvlm-256m")


def test_status_says_what_to_download_and_how_big(fresh):
    rows = {m["id"]: m for m in fresh.get("/v1/status").json()["models"]}
    for m in rows.values():
        assert m["state"] == "not_downloaded" and m["download_hint"] == not_downloaded_message(m["id"])
    # 16-bit weights from the configs: SDXL ~6.9 GB (UNet 5.1 + bigG 1.4 + CLIP-L 0.25 + VAE 0.17), Moondream ~3.9 GB.
    assert 6.5e9 < rows["sdxl-realism"]["download_bytes"] < 7.2e9
    assert 3.5e9 < rows["moondream-2"]["download_bytes"] < 4.2e9


def test_a_request_without_a_model_uses_one_that_is_downloaded(tiny_settings, tiny_models_dir, tmp_path):
    """The default (sdxl-realism) is missing but the user dropped a checkpoint into the models folder."""
    from atelier.main import create_app

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir / "tiny" / "tiny-sdxl", models / "my-sdxl")
    settings = tiny_settings.model_copy(update={"models": "real", "models_dir": models})
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/generate", json={"prompt": "x", "width": 64, "height": 64, "steps": 1})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "my-sdxl"
