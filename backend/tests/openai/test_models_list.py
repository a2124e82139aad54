"""GET /v1/models: OpenAI's list shape with every catalog model, plus Atelier's fields."""

from tests.engine.test_vram_manager import holding_load


def test_models_list_has_every_catalog_model_in_openai_shape(client):
    r = client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    ids = {m["id"] for m in body["data"]}
    assert ids == {s.id for s in client.app.state.services.catalog.all()}
    for m in body["data"]:
        assert m["object"] == "model" and isinstance(m["created"], int) and isinstance(m["owned_by"], str)
        assert m["type"] in ("vision", "generation", "upscaler", "embeddings")
        assert isinstance(m["downloaded"], bool) and isinstance(m["loaded"], bool)
        assert m["size_bytes"] is None or m["size_bytes"] > 0
    vlm = next(m for m in body["data"] if m["id"] == "tiny-vlm")
    assert vlm["type"] == "vision" and vlm["downloaded"] is True and vlm["size_bytes"] > 10_000


def test_loaded_flips_after_a_chat(client):
    client.post("/v1/chat/completions", json={"model": "tiny-vlm", "max_tokens": 1,
                                              "messages": [{"role": "user", "content": "hi"}]})
    r = client.get("/v1/models/tiny-vlm")
    assert r.status_code == 200 and r.json()["loaded"] is True and r.json()["id"] == "tiny-vlm"


def test_unknown_model_is_a_404_envelope(client):
    r = client.get("/v1/models/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_real_catalog_lists_vision_generation_upscaler_and_embeddings_models(tmp_path):
    from atelier.core.config import Settings
    from atelier.engine.catalog import build_catalog

    catalog = build_catalog(Settings(models="real", models_dir=tmp_path))
    kinds = {s.kind for s in catalog.all()}
    assert kinds == {"vision", "generation", "upscaler", "embeddings"}
    assert {"moondream-2", "smolvlm-256m", "realesrgan-x4plus", "siglip2-base"} <= {s.id for s in catalog.all()}


def test_models_are_never_sized_beside_a_load_and_never_wait_for_one(client):
    """Sizing imports model classes that a load imports too (lazy modules break when both run at
    once): while a load holds the manager's lock, sizes are unknown and the list answers at once."""
    with holding_load(client.app.state.services.manager):
        body = client.get("/v1/models").json()
        assert all(m["size_bytes"] is None for m in body["data"])
    vlm = next(m for m in client.get("/v1/models").json()["data"] if m["id"] == "tiny-vlm")
    assert vlm["size_bytes"] > 10_000
