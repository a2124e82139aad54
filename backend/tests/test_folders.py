"""core/folders.walk_inside: the one walk of the folders users fill (models, LoRAs)."""

from pathlib import Path

from atelier.core.folders import walk_inside


def _tree(root: Path) -> None:
    for rel in ("m.safetensors", "sub/x.safetensors", "sub/deeper/y.safetensors", "sub/deeper/deepest/z.safetensors",
                ".cache/h.safetensors", "pipe/model_index.json", "pipe/unet/w.safetensors", "skipme/s.safetensors"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")


def test_walks_sorted_to_the_depth_skipping_hidden_and_what_it_is_told(tmp_path):
    _tree(tmp_path)
    found = walk_inside(tmp_path, max_depth=3, what="test folder",
                        skip=lambda p, depth: depth == 0 and p.name == "skipme",
                        descend=lambda p: not (p / "model_index.json").is_file())
    rels = [(f.rel.as_posix(), f.depth) for f in found]
    assert rels == [("m.safetensors", 0), ("pipe", 0), ("sub", 0), ("sub/deeper", 1),
                    ("sub/deeper/deepest", 2), ("sub/deeper/y.safetensors", 2), ("sub/x.safetensors", 1)]


def test_links_out_of_the_folder_are_skipped_and_links_inside_kept(tmp_path, caplog):
    root = tmp_path / "models"
    root.mkdir()
    (root / "real.safetensors").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.safetensors").write_text("x")
    (root / "out.safetensors").symlink_to(outside / "secret.safetensors")
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "in.safetensors").symlink_to(root / "real.safetensors")
    found = {f.rel.as_posix(): f.real for f in walk_inside(root, max_depth=2, what="test folder")}
    assert found == {"in.safetensors": (root / "real.safetensors").resolve(), "real.safetensors": (root / "real.safetensors").resolve()}
    assert "links outside the test folder" in caplog.text


def test_a_missing_folder_is_empty(tmp_path):
    assert list(walk_inside(tmp_path / "nope", max_depth=3, what="test folder")) == []
