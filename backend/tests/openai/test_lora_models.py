"""GET /v1/models and /v1/status list the LoRA folder: type `lora`, size, base, triggers, bad files."""

import pytest
import torch
from safetensors.torch import save_file

from atelier.engine import tiny_lora


@pytest.fixture(scope="module")
def app_client(tiny_settings, tiny_models_dir, tmp_path_factory):
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    d = tmp_path_factory.mktemp("loras")
    tiny_lora.build(tiny_models_dir / "tiny" / "tiny-sdxl", d / "ink.safetensors", "kohya", seed=1)
    save_file({"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": torch.zeros(4, 768)},
              str(d / "sd15.safetensors"), metadata={"ss_base_model_version": "sd_v1"})
    (d / "broken.safetensors").write_bytes(b"\xff" * 12)
    (d / "old.pt").write_bytes(b"\x80\x04")
    with TestClient(create_app(tiny_settings.model_copy(update={"loras_dir": d}))) as c:
        yield c, d


def test_models_lists_loras_with_size_base_and_triggers(app_client):
    client, d = app_client
    r = client.get("/v1/models")
    assert r.status_code == 200
    rows = {m["id"]: m for m in r.json()["data"] if m["type"] == "lora"}
    ink = rows["ink"]
    assert ink["size_bytes"] == (d / "ink.safetensors").stat().st_size and ink["family"] == "lora"
    assert ink["lora"]["base"] == "sdxl" and ink["lora"]["compatible"] is True
    assert ink["lora"]["triggers"][:2] == ["inkwash", "monochrome"] and len(ink["lora"]["short_hash"]) == 12
    assert rows["sd15"]["lora"]["status"] == "incompatible" and rows["sd15"]["lora"]["base"] == "sd1"
    assert rows["broken"]["lora"]["status"] == "unreadable" and "header length" in rows["broken"]["lora"]["error"]
    assert rows["old"]["lora"]["status"] == "refused" and "pickle" in rows["old"]["lora"]["error"]
    # The catalog is still there: every type on the one list.
    assert {m["type"] for m in r.json()["data"]} == {"generation", "vision", "upscaler", "embeddings", "lora"}

    one = client.get("/v1/models/ink")
    assert one.status_code == 200 and one.json()["type"] == "lora"


def test_status_lists_loras(app_client):
    client, _ = app_client
    rows = {row["name"]: row for row in client.get("/v1/status").json()["loras"]}
    assert rows["ink"]["status"] == "ok" and rows["broken"]["status"] == "unreadable"
