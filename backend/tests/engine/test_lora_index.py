"""The LoRA folder: headers read without tensors, A1111's short hash, bases, corrupt and pickle files."""

import hashlib
import io
import json

import pytest
import torch
from safetensors.torch import save, save_file

from atelier.core.errors import InvalidParameter, UnsafeModel
from atelier.engine import tiny_lora
from atelier.engine.catalog import Catalog
from atelier.engine.families.lora import LoraIndex, a1111_hashes, check_request, parse_prompt_tags


def kohya_addnet_hash(b: io.BytesIO) -> str:
    """kohya sd-scripts `train_util.addnet_hash_safetensors`, which A1111 calls for a LoRA's hash: a
    reference written from its published algorithm (read the 8-byte little-endian header length, hash
    every byte after the header in 1 MiB blocks)."""
    h = hashlib.sha256()
    b.seek(0)
    n = int.from_bytes(b.read(8), "little")
    b.seek(n + 8)
    for chunk in iter(lambda: b.read(1024 * 1024), b""):
        h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def tiny_dir(tiny_models_dir):
    return tiny_models_dir / "tiny" / "tiny-sdxl"


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory, tiny_dir):
    d = tmp_path_factory.mktemp("loras")
    tiny_lora.build(tiny_dir, d / "ink.safetensors", "kohya", seed=1,
                    metadata={"modelspec.trigger_phrase": "inkwash style, sumi-e"})
    tiny_lora.build(tiny_dir, d / "styles" / "peft.safetensors", "diffusers", seed=2)
    # SD 1.5 as kohya writes it: one text encoder (lora_te_), diffusers block names, no metadata.
    save_file({"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": torch.zeros(4, 768),
               "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 320)},
              str(d / "sd15-style.safetensors"))
    save_file({"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": torch.zeros(4, 64)},
              str(d / "flux-thing.safetensors"), metadata={"modelspec.architecture": "flux-1-dev/lora"})
    (d / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    good = (d / "ink.safetensors").read_bytes()
    (d / "truncated.safetensors").write_bytes(good[: len(good) // 2])
    (d / "old.ckpt").write_bytes(b"\x80\x04pickle")
    return d


def test_headers_give_base_dim_alpha_and_triggers_without_loading_tensors(lora_dir, monkeypatch):
    import safetensors.torch

    def no_tensors(*a, **k):
        raise AssertionError("the index must not load tensors")

    monkeypatch.setattr(safetensors.torch, "load_file", no_tensors)
    index = LoraIndex(lora_dir)
    ink = index.find("ink")
    assert ink.status == "ok" and ink.base == "sdxl" and ink.format == "kohya"
    assert (ink.network_dim, ink.network_alpha) == (4, 4.0)
    # trigger phrase first, then training tags by frequency
    assert ink.triggers == ("inkwash style", "sumi-e", "inkwash", "monochrome", "1girl")
    peft = index.find("styles/peft")
    assert peft.status == "ok" and peft.format == "diffusers" and peft.base == "sdxl" and peft.network_dim == 4
    assert index.find("peft") == peft  # by file name, without the folder


def test_short_hash_is_a1111s_addnet_hash_and_ignores_metadata(lora_dir, tmp_path):
    index = LoraIndex(lora_dir)
    ink = index.find("ink")
    data = (lora_dir / "ink.safetensors").read_bytes()
    assert ink.addnet_hash == kohya_addnet_hash(io.BytesIO(data))
    assert ink.sha256 == hashlib.sha256(data).hexdigest()
    assert ink.short_hash == ink.addnet_hash[:12]

    # A known file: kohya precomputes the hash from the tensors it saves and stores it as
    # sshs_model_hash; A1111 reads that value first. Ours must equal it.
    tensors = {"lora_unet_a.lora_down.weight": torch.arange(12, dtype=torch.float16).reshape(3, 4),
               "lora_unet_a.lora_up.weight": torch.ones(4, 3, dtype=torch.float16)}
    precomputed = kohya_addnet_hash(io.BytesIO(save(tensors, {"ss_network_dim": "3"})))
    (tmp_path / "k").mkdir()
    save_file(tensors, str(tmp_path / "k" / "a.safetensors"),
              metadata={"ss_network_dim": "3", "sshs_model_hash": precomputed, "ss_output_name": "renamed"})
    known = LoraIndex(tmp_path / "k").find("a")
    assert known.addnet_hash == precomputed and known.short_hash == precomputed[:12]
    # The same value written down: tensor bytes of fp16 arange(12) and ones(4, 3) under these names,
    # whatever the metadata (hashed once with the reference above).
    assert known.short_hash == "9de78b215b26"
    assert LoraIndex(tmp_path / "k").by_hash(precomputed[:12]).name == "a"
    assert LoraIndex(tmp_path / "k").find("renamed").name == "a"  # by kohya's output name, as A1111 names it


def test_incompatible_bases_are_listed_and_refused_with_a_400(lora_dir):
    index = LoraIndex(lora_dir)
    sd15, flux = index.find("sd15-style"), index.find("flux-thing")
    assert (sd15.status, sd15.base) == ("incompatible", "sd1")
    assert (flux.status, flux.base) == ("incompatible", "flux")
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [("sd15-style", 1.0)], [])
    assert e.value.status == 400 and "SD 1.5" in e.value.message and e.value.param == "loras[0].name"
    with pytest.raises(InvalidParameter, match="Flux"):
        check_request(index, [], [("flux-thing", "0.5")])


def test_a_corrupt_header_is_listed_as_unreadable_with_the_reason(lora_dir):
    index = LoraIndex(lora_dir)
    rows = {i.name: i for i in index.all()}  # the listing survives the bad files
    assert rows["broken"].status == "unreadable" and "JSON" in rows["broken"].error
    assert rows["truncated"].status == "unreadable" and "truncated" in rows["truncated"].error
    with pytest.raises(InvalidParameter, match="unreadable"):
        index.resolve("broken", "loras[0].name")


def test_pickles_are_refused_with_the_checkpoints_error(lora_dir):
    index = LoraIndex(lora_dir)
    assert index.find("old").status == "refused"
    with pytest.raises(UnsafeModel) as lora_err:
        index.resolve("old", "loras[0].name")
    with pytest.raises(UnsafeModel) as ckpt_err:
        Catalog([], refused={"old": "old.ckpt"}).resolve("old")
    assert lora_err.value.message == ckpt_err.value.message and lora_err.value.status == 400


def test_hashes_are_cached_by_path_size_and_mtime(lora_dir, tmp_path, monkeypatch):
    from atelier.engine.families import lora

    cache = tmp_path / "hashes.json"
    first = LoraIndex(lora_dir, cache).find("ink")
    assert json.loads(cache.read_text())
    monkeypatch.setattr(lora, "file_hashes", lambda *a: pytest.fail("hashed again"))
    assert LoraIndex(lora_dir, cache).find("ink").sha256 == first.sha256


def test_the_folder_lists_nothing_outside_it_hidden_or_too_deep(lora_dir, tmp_path):
    root = tmp_path / "loras"
    (root / "a" / "b" / "c" / "d").mkdir(parents=True)
    src = lora_dir / "ink.safetensors"
    for rel in ("top.safetensors", "a/b/c/deep.safetensors", "a/b/c/d/too-deep.safetensors", ".hidden.safetensors"):
        (root / rel).write_bytes(src.read_bytes())
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.safetensors").write_bytes(src.read_bytes())
    (root / "link.safetensors").symlink_to(outside / "secret.safetensors")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "alias.safetensors").symlink_to(root / "top.safetensors")
    names = sorted(i.name for i in LoraIndex(root).all())
    assert names == ["a/b/c/deep", "alias", "top"]


@pytest.mark.parametrize("prompt, text, tags", [
    ("a cat <lora:ink:0.8>, sunset", "a cat, sunset", [("ink", "0.8")]),
    ("<lora:ink> <LORA:styles/peft:-1.5:te=1> portrait", "portrait", [("ink", "1"), ("styles/peft", "-1.5")]),
    ("no tags here", "no tags here", []),
])
def test_prompt_tags_are_taken_out_of_the_text(prompt, text, tags):
    assert parse_prompt_tags(prompt) == (text, tags)


def test_request_bounds_name_the_field(lora_dir):
    index = LoraIndex(lora_dir)
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [("nope", 1.0)], [])
    assert e.value.param == "loras[0].name" and "'nope'" in e.value.message and "ink" in e.value.message
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [("ink", 1.0), ("peft", 9.0)], [])
    assert e.value.param == "loras[1].weight" and "between -4 and 4" in e.value.message
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [("ink", 1.0)], [("INK", "0.5")])
    assert e.value.param == "loras" and "twice" in e.value.message
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [], [("ink", "lots")])
    assert e.value.param == "prompt"
    with pytest.raises(InvalidParameter) as e:
        check_request(index, [("ink", 1.0)] * 9, [])
    assert e.value.param == "loras" and "at most 8" in e.value.message
    uses = check_request(index, [("ink", 0.7)], [("peft", "1")])
    assert a1111_hashes([(u.info.name, u.info.short_hash) for u in uses]) == f"ink: {uses[0].info.short_hash}, styles/peft: {uses[1].info.short_hash}"
