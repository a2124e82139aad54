"""The upscaler family (issue 21): a tiny random ESRGAN saved as safetensors, detected and loaded by
spandrel through the production loader, run in tiles that blend back into the whole-image output."""

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from atelier.core.errors import Cancelled
from atelier.engine import tiny_upscaler
from atelier.engine.base import ModelSpec, Placement
from atelier.engine.catalog import discover_user_models
from atelier.engine.families.upscaler import FAMILY, detect, whole
from atelier.engine.tiles import Canvas, feather, grid, to_array, work_ratio
from atelier.engine.vram import planner as vp


def _pattern(w: int, h: int) -> Image.Image:
    """Smooth gradients and a hard-edged stripe: what seams would show on."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([(np.sin(x / 5) + 1) / 2, (np.cos(y / 7) + 1) / 2, ((x + y) % 17) / 17], -1)
    return Image.fromarray((rgb * 255).astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return tiny_upscaler.build(tmp_path_factory.mktemp("up") / "tiny-upscaler.safetensors")


@pytest.fixture(scope="module")
def spec(tiny_file):
    return ModelSpec(id="tiny-upscaler", kind="upscaler", family="upscaler", source=str(tiny_file), local=True)


@pytest.fixture(scope="module")
def model(spec):
    return FAMILY.load(spec, Placement(device="cpu", dtype=torch.float32))


# --------------------------------------------------------------------------- tiles

@pytest.mark.parametrize("w,h,tile,overlap", [(64, 48, 32, 8), (100, 37, 40, 12), (512, 512, 512, 16),
                                              (1000, 300, 256, 16), (4096, 4096, 1024, 192)])
def test_grid_covers_the_image_with_tiles_no_larger_than_asked_and_the_overlap_kept(w, h, tile, overlap):
    tiles = grid(w, h, tile, overlap)
    covered = np.zeros((h, w), dtype=np.int32)
    for t in tiles:
        assert 0 <= t.x0 < t.x1 <= w and 0 <= t.y0 < t.y1 <= h
        assert t.width <= tile and t.height <= tile
        covered[t.y0:t.y1, t.x0:t.x1] += 1
    assert covered.min() >= 1
    xs = sorted({(t.x0, t.x1) for t in tiles})
    for (a0, a1), (b0, _) in zip(xs, xs[1:]):
        assert a1 - b0 >= overlap  # neighbours share at least the overlap
    # Evenly spread: the extra work is the overlaps, not a sliver tile at the edge.
    nx = len(xs)
    ny = len({(t.y0, t.y1) for t in tiles})
    assert work_ratio(w, h, tiles) <= (1 + (nx - 1) * (overlap + 1) / w) * (1 + (ny - 1) * (overlap + 1) / h) + 1e-9


def test_canvas_returns_exactly_what_every_tile_agrees_on():
    img = to_array(_pattern(70, 50))
    canvas = Canvas(70, 50)
    for t in grid(70, 50, 32, 10):
        canvas.add(t, img[t.y0:t.y1, t.x0:t.x1], 10)
    assert np.abs(canvas.pixels() - img).max() < 1e-6


def test_feather_ramps_only_the_sides_that_border_another_tile():
    left, right = grid(64, 32, 40, 16)[:2]
    wl, wr = feather(left, 16), feather(right, 16)
    assert wl[:, 0].min() == 1.0 and wl[:, -1].max() < 0.05  # image edge kept, inner edge fades
    assert wr[:, -1].min() == 1.0 and wr[:, 0].max() < 0.05


# --------------------------------------------------------------------------- the family

def test_tiny_esrgan_loads_through_spandrel_as_a_4x_esrgan(model, spec, tiny_file):
    assert detect(tiny_file) == "ESRGAN"
    assert model.architecture == "ESRGAN" and model.scale == 4
    params = sum(p.numel() for p in model.descriptor.model.parameters())
    assert FAMILY.footprint(spec).params == params  # sized from the header without loading
    assert FAMILY.estimate_bytes(spec, Placement(dtype=torch.float16)) == params * 2
    assert FAMILY.is_downloaded(spec)


def test_a_file_that_is_no_upscaler_is_not_detected_and_a_pickle_is_never_loaded(tmp_path):
    from safetensors.torch import save_file

    save_file({"text_model.weight": torch.zeros(4, 4)}, str(tmp_path / "lora.safetensors"))
    assert detect(tmp_path / "lora.safetensors") is None
    (tmp_path / "x.pth").write_bytes(b"not loaded")
    spec = ModelSpec(id="x", kind="upscaler", family="upscaler", source=str(tmp_path / "x.pth"), local=True)
    with pytest.raises(Exception, match="safetensors only"):
        FAMILY.load(spec, Placement())


def test_an_upscaler_dropped_into_the_models_folder_is_listed(tmp_path, tiny_file):
    (tmp_path / "upscale_models").mkdir()
    shutil.copy(tiny_file, tmp_path / "upscale_models" / "4x-mine.safetensors")
    specs, refused = discover_user_models(tmp_path)
    [s] = specs
    assert (s.id, s.kind, s.family) == ("upscale_models/4x-mine", "upscaler", "upscaler")
    assert "4x-mine.safetensors" in s.aliases and "ESRGAN" in s.description


def test_tiled_output_equals_the_whole_image_output_within_a_tolerance(model):
    img = _pattern(64, 48)
    ref = np.asarray(whole(model, img), dtype=np.float32) / 255
    r = model.upscale(img, tile=32, overlap=8)
    out = np.asarray(r.image, dtype=np.float32) / 255
    assert r.image.size == (256, 192) and r.tiles == 6
    diff = np.abs(out - ref)
    assert diff.mean() < 1e-3 and diff.max() <= 4 / 255
    # Without an overlap the tile edges show (what the blend is for): the same check fails.
    hard = np.asarray(model.upscale(img, tile=32, overlap=0).image, dtype=np.float32) / 255
    assert np.abs(hard - ref).max() > 4 / 255


class _Ctx:
    """The part of engine/worker.py's JobContext that model code uses; cancels on the n-th tile."""

    def __init__(self, cancel_at_tile: int):
        self.cancel_at_tile, self.events, self.cancelled = cancel_at_tile, [], False

    def emit(self, type, **data):
        self.events.append((type, data))
        if type == "tile" and data["tile"] == self.cancel_at_tile:
            self.cancelled = True

    def raise_if_cancelled(self):
        if self.cancelled:
            raise Cancelled("cancelled")


def test_cancel_between_tiles_stops_before_the_next_tile(model):
    finished = []
    handle = model.descriptor.model.register_forward_hook(lambda m, a, out: finished.append(1))
    try:
        ctx = _Ctx(cancel_at_tile=2)
        with pytest.raises(Cancelled):
            model.upscale(_pattern(64, 48), tile=32, overlap=8, ctx=ctx)
    finally:
        handle.remove()
    assert [d["tile"] for t, d in ctx.events if t == "tile"] == [0, 1, 2]
    assert len(finished) == 2  # tiles 0 and 1 ran; tile 2 stopped at its first convolution


def test_the_planner_sizes_the_tile_to_the_memory_left():
    per_tile = lambda side: vp.upscale_reserve(side, side, 4, 2)  # noqa: E731
    assert vp.upscale_tile(per_tile(512) + 10, 4, 2) == 512
    assert vp.upscale_tile(per_tile(256) + 10, 4, 2) == 256
    assert vp.upscale_tile(per_tile(300), 4, 2) == 288  # a multiple of 32, never more than fits
    assert vp.upscale_tile(0, 4, 2) == vp.UPSCALE_TILE_MIN
    assert vp.upscale_tile(per_tile(256) + 10, 4, 4) < 256  # float32 needs twice the room


def test_plan_for_an_upscaler_on_a_12gb_card_keeps_it_beside_sdxl_and_leaves_room_for_tiles():
    fp = FAMILY.footprint(ModelSpec(id="r", kind="upscaler", family="upscaler", source="x/y",
                                    defaults={"file": "f.safetensors", "params": 16_697_987}))
    dev = vp.DeviceInfo("cuda", "RTX 3060", 12 * vp.GiB, int(11.6 * vp.GiB))
    sdxl = vp.Resident("sdxl", "generation", "gpu", int(2.63 * vp.GiB), 0, 1.0, Placement(device="cuda"))
    task = vp.Task(kind="upscaler", width=512, height=512, scale=4)
    p = vp.plan(model_id="r", kind="upscaler", footprint=fp, task=task, device=dev, mode="balanced",
                residents=(sdxl,), limits=FAMILY.limits(None, dev))
    assert p.fits and p.evict_to_ram == [] and p.placement.dtype == torch.float16
    assert p.model_gpu_bytes == 16_697_987 * 2
    assert vp.upscale_tile(vp.room_for_work(p), 4, 2) == 512
