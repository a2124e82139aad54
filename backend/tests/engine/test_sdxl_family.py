"""The SDXL family: single-file loading offline, NF4, sizing from configs, model discovery."""

import os

import pytest
import torch

from atelier.engine.base import ModelSpec, Placement, module_bytes_by_device
from atelier.engine.catalog import Catalog, discover_user_models
from atelier.engine.families.sdxl import FAMILY, SDXLRequest


@pytest.fixture(scope="module")
def tiny_dir(tiny_models_dir):
    return tiny_models_dir / "tiny" / "tiny-sdxl"


@pytest.fixture(scope="module")
def single_file(tiny_models_dir, tiny_dir):
    """A user-dropped single-file checkpoint (A1111 layout) with its sidecar config folder."""
    from atelier.engine.tiny_sdxl import to_single_file

    return to_single_file(tiny_dir, tiny_models_dir / "dropped" / "my-finetune.safetensors")


def _spec(source: str) -> ModelSpec:
    return ModelSpec(id="t", kind="generation", family="sdxl", source=source, local=True)


def test_a_dropped_single_file_is_discovered_and_loads_offline_with_the_same_weights(single_file, tiny_dir,
                                                                                      tiny_models_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    specs, _ = discover_user_models(tiny_models_dir)
    spec = Catalog(specs).resolve("dropped/my-finetune")
    assert Catalog(specs).resolve("my-finetune.safetensors") is spec and FAMILY.is_downloaded(spec)
    single = FAMILY.load(spec, Placement())
    reference = FAMILY.load(_spec(str(tiny_dir)), Placement())
    for name, module in reference.modules().items():
        theirs = single.modules()[name].state_dict()
        for key, value in module.state_dict().items():
            assert torch.equal(value, theirs[key].reshape(value.shape)), f"{name}.{key}"
    out = single.generate(SDXLRequest(prompt="x", width=64, height=64, steps=2, seeds=[1]))
    assert out.images[0].size == (64, 64)


def test_nf4_placement_quantizes_the_unet_through_quantization_config_and_shrinks_it(tiny_dir, single_file):
    import bitsandbytes as bnb

    for source in (str(tiny_dir), str(single_file)):
        nf4 = FAMILY.load(_spec(source), Placement(quant="nf4"))
        linear4 = [m for m in nf4.pipe.unet.modules() if isinstance(m, bnb.nn.Linear4bit)]
        assert linear4 and getattr(nf4.pipe.unet, "is_loaded_in_4bit", False)
        unet32 = FAMILY.parts(_spec(source)).component_bytes(torch.float32)["unet"]  # == loaded fp32 bytes (next test)
        unet4 = module_bytes_by_device({"u": nf4.pipe.unet})["cpu"]
        assert unet4 < 0.75 * unet32
    assert nf4.generate(SDXLRequest(prompt="x", width=64, height=64, steps=2, seeds=[1])).images


@pytest.mark.parametrize("quant", ["none", "nf4"])
def test_float16_placement_stays_float16_in_every_part(tiny_dir, quant):
    """from_pipe() (img2img/inpaint entry points) must not cast the shared modules: its default
    torch_dtype is float32, which made a float16 SDXL float32 (2x its VRAM) and, with NF4, left a
    float32 VAE beside a float16 UNet."""
    model = FAMILY.load(_spec(str(tiny_dir)), Placement(dtype=torch.float16, quant=quant))
    for pipe in (model.pipe, model.img2img, model.inpaint):
        for name in ("vae", "text_encoder"):
            dtypes = {p.dtype for p in getattr(pipe, name).parameters()}
            assert dtypes == {torch.float16}, f"{name}: {dtypes}"
    floats = {p.dtype for p in model.pipe.unet.parameters() if p.dtype.is_floating_point}
    assert floats == {torch.float16}


def test_estimates_match_loaded_bytes_and_sdxl_published_sizes(tiny_dir):
    model = FAMILY.load(_spec(str(tiny_dir)), Placement())
    loaded = module_bytes_by_device(model.modules())["cpu"]
    assert abs(FAMILY.footprint(_spec(str(tiny_dir)), Placement()) - loaded) < 0.01 * loaded
    real = ModelSpec(id="r", kind="generation", family="sdxl", source="nobody/not-cached-sdxl")
    fp16 = FAMILY.parts(real).component_bytes(torch.float16)
    nf4 = FAMILY.parts(real).component_bytes(torch.float16, "nf4")
    gb = {k: v / 1e9 for k, v in fp16.items()}
    assert 5.0 < gb["unet"] < 5.3 and 1.3 < gb["text_encoder_2"] < 1.45 and 0.2 < gb["text_encoder"] < 0.3
    assert 1.8 < nf4["unet"] / 1e9 < 2.0 and nf4["vae"] == fp16["vae"]


def test_a_model_not_in_the_cache_says_not_downloaded_and_names_the_command():
    spec = ModelSpec(id="sdxl-realism", kind="generation", family="sdxl", source="nobody/not-cached-sdxl")
    assert not FAMILY.is_downloaded(spec)
    from atelier.core.errors import ModelNotDownloaded
    from atelier.engine.base import not_downloaded_message

    with pytest.raises(ModelNotDownloaded, match="make models MODELS=sdxl-realism") as e:
        FAMILY.load(spec, Placement())
    assert e.value.message == not_downloaded_message("sdxl-realism")  # the one wording (issue 15)


def test_discovery_skips_links_that_leave_the_models_folder(tmp_path, single_file):
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(single_file, models / "outside.safetensors")
    (models / "old.pt").write_bytes(b"x")
    specs, refused = discover_user_models(models)
    assert specs == [] and "old" in refused
