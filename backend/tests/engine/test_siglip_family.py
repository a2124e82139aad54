"""The SigLIP embeddings family through its production loader, on the tiny random-weight SigLIP
built by engine/tiny_embed.py (the catalog's siglip2-base loads through the same code), and its
place on the GPU beside SDXL and Moondream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.catalog import REAL_MODELS
from atelier.engine.families.siglip import FAMILY, Gone, count_tokens_for
from atelier.engine.vram import planner as vp
from tests.engine.test_vram_planner import CONTEXT, T1024, VISION, Card

GiB = vp.GiB
SIGLIP2 = next(s for s in REAL_MODELS if s.id == "siglip2-base")


@pytest.fixture(scope="module")
def spec(tiny_models_dir) -> ModelSpec:
    return ModelSpec(id="tiny-embed", kind="embeddings", family="siglip", source=str(tiny_models_dir / "tiny" / "tiny-embed"),
                     local=True)


@pytest.fixture(scope="module")
def model(spec):
    return FAMILY.load(spec, Placement())


IMAGES = [Image.new("RGB", (64, 48), c) for c in ((200, 0, 0), (0, 200, 0), (0, 0, 200), (90, 90, 90))]


def test_loads_the_real_siglip_classes(model):
    assert type(model.model).__name__ == "SiglipModel"
    assert type(model.image_processor).__name__ == "SiglipImageProcessor"
    assert (model.dim, model.max_tokens) == (32, 64)


def test_vectors_are_unit_length_of_the_configured_width(model, spec):
    img = model.embed_images(IMAGES)
    txt = model.embed_texts(["a dog", "a cat on a sofa"])
    assert img.shape == (4, FAMILY.dimension(spec)) and txt.shape == (2, 32)
    assert img.dtype == np.float32
    assert np.allclose(np.linalg.norm(img, axis=1), 1, atol=1e-6)
    assert np.allclose(np.linalg.norm(txt, axis=1), 1, atol=1e-6)


def test_vectors_do_not_depend_on_the_batch(model):
    batch = model.embed_images(IMAGES)
    alone = np.concatenate([model.embed_images([im]) for im in IMAGES])
    assert np.allclose(batch, alone, atol=1e-5)
    texts = ["a dog", "a much longer text about a cat on a sofa", "x"]
    assert np.allclose(model.embed_texts(texts), np.concatenate([model.embed_texts([t]) for t in texts]), atol=1e-5)


def test_text_is_counted_with_its_end_token_and_read_lowercased(model, spec):
    assert count_tokens_for(spec, ["abc", "A Dog"]) == [4, 6]
    assert np.allclose(model.embed_texts(["A Dog"]), model.embed_texts(["a dog"]))


def test_the_text_tower_never_leaves_the_cpu(spec):
    m = FAMILY.load(spec, Placement(device="cpu", dtype=torch.float16))
    assert next(m.model.vision_model.parameters()).dtype == torch.float16
    assert next(m.model.text_model.parameters()).dtype == torch.float32
    m.to("meta")  # the manager moving the model: only the image tower goes
    assert next(m.model.vision_model.parameters()).device.type == "meta"
    assert next(m.model.text_model.parameters()).device.type == "cpu"
    assert m.embed_texts(["still works"]).shape == (1, 32)
    m.close()
    with pytest.raises(Gone):
        m.embed_texts(["closed"])


def test_the_footprint_is_the_image_towers_bytes(model, spec):
    fp = FAMILY.footprint(spec)
    loaded = module_bytes_by_device({"vision": model.model.vision_model})
    # to 0.1%: the int64 position ids are counted in the model's dtype
    assert fp.total_bytes(torch.float32) == pytest.approx(sum(loaded.values()), rel=1e-3)
    assert FAMILY.footprint(spec, Placement(dtype=torch.float16)) == fp.total_bytes(torch.float16)
    both = sum(module_bytes_by_device(model.modules()).values())
    assert FAMILY.estimate_bytes(spec, Placement(dtype=torch.float32)) == pytest.approx(both, rel=2e-3)


def test_siglip2_base_is_sized_from_its_published_config_before_download():
    assert SIGLIP2.revision and len(SIGLIP2.revision) == 40
    fp = FAMILY.footprint(SIGLIP2)
    # ViT-B/16 at 224 plus the attention-pooling head: ~93 M parameters, ~0.19 GB in fp16
    assert 85e6 < fp.params < 100e6
    assert 0.15 * GiB < fp.total_bytes(torch.float16) < 0.2 * GiB
    # both towers (the Gemma vocabulary of 256k makes the text tower the big one): ~375 M, ~0.75 GB fp16
    full = FAMILY.estimate_bytes(SIGLIP2, Placement(dtype=torch.float16))
    assert 0.65 * GiB < full < 0.8 * GiB
    assert FAMILY.dimension(SIGLIP2) == 768 and FAMILY.max_tokens(SIGLIP2) == 64
    assert FAMILY.image_tokens(SIGLIP2) == 196


def test_balanced_keeps_siglip_resident_beside_sdxl_and_moondream_on_a_12gb_card():
    from atelier.engine.vram.footprint import moondream_footprint, sdxl_footprint

    card = Card(12 * GiB)
    limits = FAMILY.limits(SIGLIP2, card.device())
    card.request("moondream", "vision", moondream_footprint(), "auto", VISION)
    card.request("sdxl", "generation", sdxl_footprint(None), "auto", T1024)
    p = vp.plan(model_id="siglip2-base", kind="embeddings", footprint=FAMILY.footprint(SIGLIP2),
                task=vp.Task(kind="vision", batch=16), device=card.device(), mode="auto",
                residents=tuple(card.residents.values()), limits=limits)
    assert p.fits and p.mode == "balanced" and not p.evict_to_ram and not p.drop, p.log
    assert p.placement.dtype == torch.float16 and p.placement.quant == "none" and p.placement.offload == "none"
    # a batch of 16 thumbnails reserves 1 GiB, not the 12 GiB a VLM's 16 images would
    assert p.reserve_bytes == vp.BASE_RESERVE + 16 * 32 * vp.MiB
    card.residents["siglip2-base"] = vp.Resident("siglip2-base", "embeddings", "gpu", p.model_gpu_bytes, 0, 10,
                                                 p.placement)
    # ...and generating again moves nothing off the GPU
    p = card.request("sdxl", "generation", sdxl_footprint(None), "auto", T1024)
    assert card.on_gpu() == {"moondream", "sdxl", "siglip2-base"} and not p.evict_to_ram, p.log
    used = sum(r.gpu_bytes for r in card.residents.values())
    assert used + p.reserve_bytes <= 12 * GiB - CONTEXT
