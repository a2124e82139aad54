#!/usr/bin/env python
"""Lay out an offline Hugging Face cache of Moondream 2 with its REAL code and tiny random weights.

Atelier runs `vikhyatk/moondream2` through the model's own remote code. Its weights (3.9 GB) cannot
be downloaded here, but its code is public (github.com/vikhyat/moondream, Apache-2.0): this script
takes that code from a checkout (or bare git dir) at a commit and writes, under `--out`, what
`huggingface-cli download` would have left in a cache, so `python -m atelier` loads it unchanged:

    <out>/hub/models--vikhyatk--moondream2/
        blobs/<git blob id | sha256>                  the files' bytes
        snapshots/<commit>/<file> -> ../../blobs/...    relative symlinks, as the hub cache makes
        refs/2025-06-21                                 the catalog's revision -> <commit>
    <out>/hub/models--moondream--starmie-v1/
        snapshots/<pinned commit>/tokenizer.json        a stand-in tokenizer (no refs/main:
                                                        Atelier downloads it by commit)

The model repo gets, as the hub repo lays them out (all at the top level, importing each other
relatively): `hf_moondream.py` and every module it imports from `moondream/torch/`; a `config.json`
with the real `auto_map`; and `model.safetensors` saved from the real classes with random weights.
The real `HfConfig` discards config.json's `config` dict, so the model is shrunk by rewriting the
defaults of `config.py`'s dataclasses (dims the code hard-codes stay: 27x27 patches of 14 px on
378 px crops, so 27 vision layers; a 2048-token context; text heads of 64; vocab 51200; 1024 size
bins). The tokenizer is byte-level BPE over 51200 ids, specials 0-9 as Moondream's config uses them.

Nothing of the upstream code is stored in Atelier: it is read from the checkout at run time.

    .venv/bin/python scripts/moondream_rig.py --code /path/to/moondream[.git] --commit 44146f1 --out /tmp/md-rig
    HF_HOME=/tmp/md-rig .venv/bin/python -m atelier           # serves moondream-2 from the rig
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"
CODE_DIR = "moondream/torch"  # where the remote code lives in the GitHub repository
ENTRY = "hf_moondream.py"  # the module config.json's auto_map names
AUTO_MAP = {"AutoConfig": "hf_moondream.HfConfig", "AutoModelForCausalLM": "hf_moondream.HfMoondream"}

# config.py defaults to rewrite, per dataclass. Every other default stays as upstream wrote it.
TINY = {
    "TextConfig": {"dim": 64, "ff_dim": 128, "n_layers": 2, "n_heads": 1, "n_kv_heads": 1},
    "VisionConfig": {"enc_dim": 32, "enc_ff_dim": 64, "enc_n_heads": 2, "proj_inner_dim": 64, "proj_out_dim": 64},
    "RegionConfig": {"dim": 64, "coord_feat_dim": 32, "size_feat_dim": 32, "inner_dim": 64},
}
VOCAB = 51200
N_SPECIAL = 10  # ids 0-9: bos/eos 0, answer 3, thinking 4, coord 5, size 6, grounding 7 and 9


# ---------------------------------------------------------------------------- reading the code
def _git(code: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(code), *args], check=True, capture_output=True).stdout


def read_code(code: Path, commit: str) -> tuple[str, dict[str, bytes]]:
    """(full commit id, {file name: bytes}) of `moondream/torch/*.py` at `commit`."""
    full = _git(code, "rev-parse", "--verify", f"{commit}^{{commit}}").decode().strip()
    names = _git(code, "ls-tree", "--name-only", f"{full}:{CODE_DIR}").decode().split()
    files = {n: _git(code, "show", f"{full}:{CODE_DIR}/{n}") for n in names if n.endswith(".py")}
    return full, files


def imported_closure(files: dict[str, bytes], entry: str = ENTRY) -> list[str]:
    """`entry` and every module it imports relatively (`from .x import ...`), transitively: the
    files transformers copies when it loads the remote code, as they sit in the hub repo."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in files:
            raise SystemExit(f"{CODE_DIR}/{name} is imported but missing at this commit")
        seen.append(name)
        for node in ast.walk(ast.parse(files[name])):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                todo.append(node.module.split(".")[0] + ".py")
    return sorted(seen)


def shrink_config(source: bytes, tiny: dict[str, dict[str, int]] = TINY) -> bytes:
    """config.py with the defaults named in `tiny` rewritten (by position in the syntax tree)."""
    text = source.decode()
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (line, col start, col end, new text)
    found: set[tuple[str, str]] = set()
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef) or node.name not in tiny:
            continue
        for stmt in node.body:
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and stmt.target.id in tiny[node.name] and stmt.value is not None):
                v = stmt.value
                if v.lineno != v.end_lineno:
                    raise SystemExit(f"{node.name}.{stmt.target.id}: multi-line default, cannot rewrite")
                edits.append((v.lineno - 1, v.col_offset, v.end_col_offset, repr(tiny[node.name][stmt.target.id])))
                found.add((node.name, stmt.target.id))
    missing = {(c, f) for c, fields in tiny.items() for f in fields} - found
    if missing:
        raise SystemExit(f"config.py has no default for {sorted(missing)}: the code changed, update TINY")
    for line, start, end, new in sorted(edits, reverse=True):
        raw = lines[line].encode()
        lines[line] = (raw[:start] + new.encode() + raw[end:]).decode()
    return "".join(lines).encode()


# ---------------------------------------------------------------------------- the stand-in tokenizer
def build_tokenizer_json() -> bytes:
    """Byte-level BPE with exactly VOCAB ids: specials, the 256 byte symbols, then merges that
    build lower-case pseudo-words (with and without a leading space), so random ids decode to
    words and streamed text has spaces to cut at."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    specials = ["<|endoftext|>"] + [f"<|md_reserved_{i}|>" for i in range(1, N_SPECIAL)]
    vocab: dict[str, int] = {t: i for i, t in enumerate(specials)}
    for sym in bytes_to_unicode().values():
        vocab[sym] = len(vocab)
    merges: list[tuple[str, str]] = []

    def merge(a: str, b: str) -> None:
        if len(vocab) < VOCAB and a + b not in vocab:
            vocab[a + b] = len(vocab)
            merges.append((a, b))

    space, letters = "Ġ", "abcdefghijklmnopqrstuvwxyz"
    for a in letters:
        merge(space, a)
    for a in letters:
        for b in letters:
            merge(a, b)
    for a in letters:
        for b in letters:
            merge(space + a, b)
    for a in letters:
        for b in letters:
            for c in letters:
                merge(space + a + b, c)
    pairs = [a + b for a in letters for b in letters]
    for ab in pairs:
        for cd in pairs:
            merge(ab, cd)
    assert len(vocab) == VOCAB, len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True) for t in specials])
    return tok.to_str().encode()


# ---------------------------------------------------------------------------- the hub cache layout
def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_repo(hub: Path, repo: str, commit: str, files: dict[str, bytes], ref: str | None) -> Path:
    """Write `files` as the hub cache stores one snapshot: blobs, relative symlinks, a ref."""
    root = hub / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / commit
    shutil.rmtree(snap, ignore_errors=True)
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snap.mkdir(parents=True)
    for name, data in files.items():
        # The hub names LFS files (weights) by sha256 and the others by their git blob id.
        blob = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else git_blob_id(data)
        (root / "blobs" / blob).write_bytes(data)
        (snap / name).symlink_to(Path("..", "..", "blobs", blob))
    if ref is not None:
        (root / "refs").mkdir(exist_ok=True)
        (root / "refs" / ref).write_text(commit)
    return snap


def random_weights(hub_repo: str, revision: str, pins: dict[str, str], seed: int) -> bytes:
    """model.safetensors saved from the real classes: the remote code imported as transformers
    imports it, `HfMoondream(HfConfig())` built, every tensor filled from a seeded generator."""
    import torch
    from safetensors.torch import save

    from atelier.engine.families.moondream import pinned_hub_files
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    cls = get_class_from_dynamic_module("hf_moondream.HfMoondream", hub_repo, revision=revision,
                                        local_files_only=True)
    with pinned_hub_files(pins):
        model = cls(cls.config_class())
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if isinstance(_owner(model, name), torch.nn.LayerNorm):
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    return save(tensors, metadata={"format": "pt"})


def _owner(model, param_name: str):
    mod = model
    for part in param_name.split(".")[:-1]:
        mod = getattr(mod, part)
    return mod


def build(code: Path, commit: str, out: Path, seed: int = 0) -> dict[str, str]:
    """Lay out the rig under `out` (HF_HOME); returns what was written. Environment variables
    must point the hub libraries at `out` before they are imported: call `main` or run the script."""
    from atelier.engine.catalog import REAL_MODELS

    spec = next(s for s in REAL_MODELS if s.family == "moondream")
    pins = dict(spec.extra_repos)
    full, upstream = read_code(code, commit)
    names = imported_closure(upstream)
    files = {n: (shrink_config(upstream[n]) if n == "config.py" else upstream[n]) for n in names}
    config = {"architectures": ["HfMoondream"], "auto_map": AUTO_MAP, "config": {}, "model_type": "moondream1",
              "torch_dtype": "bfloat16", "transformers_version": "4.44.0"}
    files["config.json"] = (json.dumps(config, indent=2) + "\n").encode()
    hub = out / "hub"
    (tok_repo, tok_rev), = pins.items()
    write_repo(hub, tok_repo, tok_rev, {"tokenizer.json": build_tokenizer_json()}, ref=None)
    # A commit id of our own, from what the snapshot holds: a rebuild from other code or another seed
    # never reuses transformers' module cache of an earlier one (it is keyed by the commit).
    digest = hashlib.sha1(json.dumps([full, seed, sorted((n, git_blob_id(d)) for n, d in files.items())])
                          .encode()).hexdigest()
    write_repo(hub, spec.source, digest, files, ref=spec.revision)  # code first: the classes import from it
    files["model.safetensors"] = random_weights(spec.source, spec.revision, pins, seed)
    snap = write_repo(hub, spec.source, digest, files, ref=spec.revision)
    info = {"hf_home": str(out), "hub": str(hub), "snapshot": str(snap), "upstream_commit": full,
            "revision": spec.revision, "commit": digest, "tokenizer": f"{tok_repo}@{tok_rev}",
            "files": ", ".join(sorted(files))}
    (out / "RIG.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", required=True, type=Path,
                    help="a checkout or git dir of github.com/vikhyat/moondream")
    ap.add_argument("--commit", default="44146f1", help="the upstream commit (default: 44146f1, 2025-06-19)")
    ap.add_argument("--out", required=True, type=Path, help="the directory to use as HF_HOME")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Before huggingface_hub / transformers are imported: they read these once.
    os.environ.update(HF_HOME=str(out), HF_HUB_CACHE=str(out / "hub"), HF_HUB_OFFLINE="1")
    os.environ.pop("HF_MODULES_CACHE", None)
    sys.path.insert(0, str(BACKEND))
    import atelier  # noqa: F401 - before transformers imports torchvision (atelier/core/torchvision_compat.py)
    info = build(args.code.resolve(), args.commit, out, args.seed)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
