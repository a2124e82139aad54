"""LoRA adapters for SDXL: finding, reading, hashing, naming and attaching them.

Everything Atelier knows about LoRAs lives here:

- the index of `ATELIER_LORAS_DIR` (`LoraIndex`): `.safetensors` only (pickles are refused with
  the checkpoints' error, `catalog.pickle_refusal`), each file's header read without loading a
  tensor (base model, network dim/alpha, trigger words), each file hashed once (cached by path, size and mtime) by SHA-256 and by
  A1111's short hash, so a LoRA named in an imported image's `Lora hashes` is found by hash;
- the request side (`parse_prompt_tags`, `check_request`): `<lora:name:weight>` taken out of the
  prompt, bounds on weights and counts;
- the model side (`LoraAdapters`): adapters attached to a loaded pipeline with diffusers'
  `load_lora_weights` (which converts kohya keys and calls `load_lora_adapter` on the UNet) and
  selected per job with `set_adapters`, never fused: fusing into a 4-bit UNet re-quantises the
  weights and moves outputs (docs/ARCHITECTURE.md, "LoRA"). Attached adapters are kept keyed by
  hash and dropped least-recently-used past ATELIER_LORA_CACHE_MB.

A1111's short hash ("addnet" hash, kohya sd-scripts `train_util.addnet_hash_safetensors`, read by
A1111's `hashes.sha256(..., use_addnet_hash=True)`): SHA-256 of the bytes after the safetensors
header, so editing the metadata keeps it; A1111 writes its first 12 hex digits into `Lora hashes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
import threading
import time
import warnings
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from atelier.core.errors import InvalidParameter
from atelier.core.folders import walk_inside
from atelier.engine.catalog import PICKLE_SUFFIXES, pickle_refusal

log = logging.getLogger("atelier.lora")

# --- request bounds (docs/API.md, "LoRA")
MAX_LORAS = 8  # adapters in one request; each costs a little step time (bench_gpu.py measures two)
MIN_WEIGHT, MAX_WEIGHT = -4.0, 4.0  # negative weights serve "slider" LoRAs; past +-4 images break down
SHORT_HASH_LEN = 12  # A1111's `shorthash`: the first 12 hex digits of the addnet hash

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the JSON header
_SCAN_DEPTH = 4
_TRIGGER_TAGS = 10  # the most frequent training tags offered as trigger words
_CHUNK = 2**20

Base = Literal["sdxl", "sd1", "sd2", "flux", "sd3", "unknown"]
Status = Literal["ok", "incompatible", "unreadable", "refused"]
BASE_NAMES = {"sdxl": "SDXL", "sd1": "SD 1.5", "sd2": "SD 2", "flux": "Flux", "sd3": "SD 3", "unknown": "unknown"}


@dataclass(frozen=True)
class LoraInfo:
    """One file of the LoRA folder, as listed by /v1/models and /v1/status."""

    name: str  # path inside the folder without the suffix, "/"-separated: what `<lora:name:w>` names
    path: str
    size_bytes: int
    status: Status
    base: Base = "unknown"
    format: Literal["kohya", "diffusers", "unknown"] = "unknown"
    network_dim: int | None = None
    network_alpha: float | None = None
    triggers: tuple[str, ...] = ()
    sha256: str | None = None
    addnet_hash: str | None = None  # full; `short_hash` is what A1111 writes
    error: str | None = None  # why it is unreadable, incompatible or refused
    alias: str | None = None  # kohya's ss_output_name, which A1111 may write instead of the file name
    modified: int = 0

    @property
    def short_hash(self) -> str | None:
        return self.addnet_hash[:SHORT_HASH_LEN] if self.addnet_hash else None

    @property
    def key(self) -> str:
        """The adapter name on a pipeline: the content hash (peft names may not contain dots)."""
        assert self.sha256 is not None
        return "lora_" + self.sha256[:16]

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("path")
        out["triggers"] = list(self.triggers)
        out["short_hash"] = self.short_hash
        out["compatible"] = self.status == "ok"
        return out


# --------------------------------------------------------------------------- reading a file

class UnreadableLora(ValueError):
    pass


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header of a safetensors file and its length, checked against the file's size."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise UnreadableLora(f"file is {size} bytes: too short for a safetensors header")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER_BYTES or n + 8 > size:
            raise UnreadableLora(f"header length {n} does not fit a {size}-byte file (truncated or not safetensors)")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableLora(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise UnreadableLora("header is not a JSON object")
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict):
                raise UnreadableLora("__metadata__ is not an object")
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise UnreadableLora(f"tensor {key!r} has no valid data_offsets")
        end = max(end, offsets[1])
    if 8 + n + end > size:
        raise UnreadableLora(f"tensors need {8 + n + end} bytes but the file has {size} (truncated)")
    return header, n


def file_hashes(path: Path, header_len: int) -> tuple[str, str]:
    """(SHA-256 of the file, addnet hash: SHA-256 of the bytes after the header), in one read."""
    full, addnet = hashlib.sha256(), hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(8 + header_len)
        full.update(head)
        while chunk := f.read(_CHUNK):
            full.update(chunk)
            addnet.update(chunk)
    return full.hexdigest(), addnet.hexdigest()


def _base(meta: dict[str, str], keys: list[str]) -> Base:
    """The base model a LoRA was trained for: kohya's and modelspec's metadata first, then key names."""
    version = str(meta.get("ss_base_model_version", "")).lower()
    arch = str(meta.get("modelspec.architecture", "")).lower()
    for text in (version, arch):
        if text.startswith(("sdxl", "stable-diffusion-xl")):
            return "sdxl"
        if text.startswith(("flux", "flux-1")):
            return "flux"
        if text.startswith(("sd3", "stable-diffusion-3")):
            return "sd3"
        if text.startswith(("sd_v2", "sd_2", "stable-diffusion-v2")):
            return "sd2"
        if text.startswith(("sd_v1", "sd_1", "stable-diffusion-v1")):
            return "sd1"
    if str(meta.get("ss_v2", "")).lower() == "true":
        return "sd2"
    joined = "\n".join(keys)
    if re.search(r"(^|\n)(lora_te2_|text_encoder_2\.|te2\.)", joined):
        return "sdxl"
    if re.search(r"double_blocks|single_blocks|(^|\n)transformer\.|lora_transformer_", joined):
        return "flux"
    if re.search(r"(^|\n)(lora_unet_input_blocks|lora_unet_output_blocks|lora_unet_middle_block)", joined):
        return "sdxl"  # kohya writes SDXL UNet keys in the original (SGM) layout
    if re.search(r"(^|\n)(lora_te_|lora_unet_down_blocks)", joined):
        return "sd1"  # kohya SD 1.x/2.x: one text encoder, diffusers block names
    return "unknown"


def _format(keys: list[str]) -> Literal["kohya", "diffusers", "unknown"]:
    if any(k.startswith(("lora_unet_", "lora_te")) for k in keys):
        return "kohya"
    if any(".lora_A." in k or ".lora.down." in k or ".lora_linear_layer." in k for k in keys):
        return "diffusers"
    return "unknown"


def _triggers(meta: dict[str, str]) -> tuple[str, ...]:
    """modelspec.trigger_phrase, then the most frequent tags of kohya's ss_tag_frequency."""
    out: list[str] = []
    phrase = meta.get("modelspec.trigger_phrase")
    if isinstance(phrase, str):
        out += [p.strip() for p in phrase.split(",") if p.strip()]
    raw = meta.get("ss_tag_frequency")
    if isinstance(raw, str):
        try:
            datasets = json.loads(raw)
        except ValueError:
            datasets = {}
        counts: Counter[str] = Counter()
        if isinstance(datasets, dict):
            for tags in datasets.values():
                if isinstance(tags, dict):
                    for tag, n in tags.items():
                        if isinstance(n, (int, float)) and str(tag).strip():
                            counts[str(tag).strip()] += int(n)
        out += [t for t, _ in counts.most_common(_TRIGGER_TAGS)]
    seen: set[str] = set()
    return tuple(t for t in out if not (t.lower() in seen or seen.add(t.lower())))


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def describe(path: Path, name: str, hashes: tuple[str, str] | None = None) -> LoraInfo:
    """Reads one file's header (never its tensors) and hashes it unless `hashes` are given."""
    st = path.stat()
    common = dict(name=name, path=str(path), size_bytes=st.st_size, modified=int(st.st_mtime))
    try:
        header, n = read_header(path)
    except (UnreadableLora, OSError) as exc:
        return LoraInfo(**common, status="unreadable", error=str(exc))
    meta = {k: v for k, v in (header.get("__metadata__") or {}).items() if isinstance(v, str)}
    keys = [k for k in header if k != "__metadata__"]
    if not keys:
        return LoraInfo(**common, status="unreadable", error="the file holds no tensors")
    dim = _number(meta.get("ss_network_dim"))
    if dim is None:  # rank from the shapes: lora_down / lora_A are (rank, in_features)
        ranks = [header[k].get("shape", [None])[0] for k in keys if k.endswith(("lora_down.weight", "lora_A.weight"))]
        dim = float(ranks[0]) if ranks and isinstance(ranks[0], int) else None
    sha, addnet = hashes or file_hashes(path, n)
    base = _base(meta, keys)
    info = LoraInfo(
        **common, status="ok", base=base, format=_format(keys), network_dim=int(dim) if dim else None,
        network_alpha=_number(meta.get("ss_network_alpha")), triggers=_triggers(meta), sha256=sha,
        addnet_hash=addnet, alias=meta.get("ss_output_name") or None,
    )
    if base not in ("sdxl", "unknown"):
        return LoraInfo(**{**asdict(info), "status": "incompatible", "triggers": info.triggers,
                           "error": f"a LoRA for {BASE_NAMES[base]}, not for SDXL: Atelier runs SDXL models"})
    return info


# --------------------------------------------------------------------------- the index

class LoraIndex:
    """The LoRA folder: rescanned on use (a stat per file), each file read and hashed once.

    Hashes are cached in `<data_dir>/lora-hashes.json` by path, size and mtime: a folder of 300
    LoRAs (45 GB) is hashed once, not at every start."""

    def __init__(self, root: Path, cache_file: Path | None = None):
        self.root = Path(root)
        self.cache_file = cache_file
        self._lock = threading.Lock()
        self._items: dict[str, LoraInfo] = {}
        self._stamp: dict[str, tuple[int, int]] = {}
        self._hash_cache: dict[str, dict[str, Any]] = self._read_cache()

    def _read_cache(self) -> dict[str, dict[str, Any]]:
        if self.cache_file is None:
            return {}
        try:
            data = json.loads(self.cache_file.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_cache(self) -> None:
        if self.cache_file is None:
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._hash_cache))
            tmp.replace(self.cache_file)
        except OSError as exc:
            log.warning("could not save LoRA hashes to %s: %s", self.cache_file, exc)

    def _files(self) -> list[tuple[str, Path]]:
        return [(f.rel.with_suffix("").as_posix(), f.real)
                for f in walk_inside(self.root, max_depth=_SCAN_DEPTH, what="LoRA folder")
                if not f.path.is_dir() and f.path.suffix.lower() in (".safetensors", *PICKLE_SUFFIXES)]

    def refresh(self) -> None:
        with self._lock:
            seen: set[str] = set()
            changed = False
            for name, path in self._files():
                if name in seen:
                    continue  # "x.safetensors" beside "x.ckpt": the safe one was listed first
                seen.add(name)
                st = path.stat()
                stamp = (st.st_size, st.st_mtime_ns)
                if self._stamp.get(name) == stamp:
                    continue
                self._stamp[name] = stamp
                if path.suffix.lower() in PICKLE_SUFFIXES:
                    rel = path.relative_to(self.root.resolve()).as_posix()
                    self._items[name] = LoraInfo(name=name, path=str(path), size_bytes=st.st_size, status="refused",
                                                 error=pickle_refusal(rel, "loras").message,
                                                 modified=int(st.st_mtime))
                    continue
                cached = self._hash_cache.get(str(path))
                hashes = None
                if cached and (cached.get("size"), cached.get("mtime_ns")) == stamp:
                    hashes = (cached["sha256"], cached["addnet"])
                t0 = time.perf_counter()
                info = describe(path, name, hashes)
                if hashes is None and info.sha256:
                    log.info("hashed LoRA %s (%.0f MB) in %.0f ms", name, st.st_size / 2**20,
                             (time.perf_counter() - t0) * 1000)
                    self._hash_cache[str(path)] = {"size": stamp[0], "mtime_ns": stamp[1], "sha256": info.sha256,
                                                   "addnet": info.addnet_hash}
                    changed = True
                elif info.status == "unreadable":
                    log.warning("LoRA %s is unreadable: %s", name, info.error)
                self._items[name] = info
            for gone in set(self._items) - seen:
                self._items.pop(gone, None)
                self._stamp.pop(gone, None)
            if changed:
                self._write_cache()

    def all(self) -> list[LoraInfo]:
        self.refresh()
        return sorted(self._items.values(), key=lambda i: i.name.lower())

    def find(self, name: str) -> LoraInfo | None:
        """By name (case-insensitive), by file name without folders, or by kohya's output name."""
        items = self.all()
        low = name.strip().lower()
        for match in (lambda i: i.name.lower() == low, lambda i: i.name.rsplit("/", 1)[-1].lower() == low,
                      lambda i: (i.alias or "").lower() == low):
            found = [i for i in items if match(i)]
            if found:
                return found[0]
        return None

    def by_hash(self, digest: str) -> LoraInfo | None:
        """By A1111's short hash (or any prefix of 10+ digits of the addnet hash), or by SHA-256."""
        d = digest.strip().lower()
        if len(d) < 10 or not re.fullmatch(r"[0-9a-f]+", d):
            return None
        for i in self.all():
            if i.status == "ok" and ((i.addnet_hash or "").startswith(d) or (i.sha256 or "").startswith(d)):
                return i
        return None

    def resolve(self, name: str, param: str) -> LoraInfo:
        """The LoRA a request names, ready to attach; a 400 naming it otherwise."""
        info = self.find(name)
        if info is None:
            known = [i.name for i in self.all() if i.status == "ok"]
            hint = f"; installed: {', '.join(known[:20])}" if known else f"; none are installed in {self.root}"
            raise InvalidParameter(f"unknown LoRA {name!r}{hint}", param=param)
        if info.status == "refused":
            raise pickle_refusal(Path(info.path).name, param)
        if info.status == "incompatible":
            raise InvalidParameter(f"LoRA {info.name!r} is incompatible: {info.error}", param=param)
        if info.status == "unreadable":
            raise InvalidParameter(f"LoRA {info.name!r} is unreadable: {info.error}", param=param)
        return info


# --------------------------------------------------------------------------- requests

_TAG = re.compile(r"<lora:([^:<>]+)(?::([^:<>]*))?(?::[^<>]*)?>", re.IGNORECASE)


def parse_prompt_tags(prompt: str) -> tuple[str, list[tuple[str, str]]]:
    """A1111's `<lora:name:weight>` tags taken out of `prompt`: (the text the model sees, [(name, weight
    text)]). A missing weight means 1, as in A1111; A1111's extra fields (te/unet weights) are ignored."""
    tags = [(m.group(1).strip(), (m.group(2) or "1").strip()) for m in _TAG.finditer(prompt)]
    text = _TAG.sub("", prompt)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;])", r"\1", text)
    text = re.sub(r",\s*,+", ",", text).strip().strip(",").strip()
    return text, tags


@dataclass(frozen=True)
class LoraUse:
    info: LoraInfo
    weight: float
    param: str


def check_request(index: LoraIndex, listed: Sequence[tuple[str, float]], tagged: Sequence[tuple[str, str]]) -> list[LoraUse]:
    """The LoRAs of one request (`loras` entries, then prompt tags), resolved and bounded.

    Errors name the field: `loras[1].weight`, `loras[0].name`, `prompt` for a tag, `loras` for the count."""
    entries: list[tuple[str, Any, str, str]] = [
        (name, weight, f"loras[{i}].name", f"loras[{i}].weight") for i, (name, weight) in enumerate(listed)]
    entries += [(name, weight, "prompt", "prompt") for name, weight in tagged]
    if len(entries) > MAX_LORAS:
        raise InvalidParameter(f"at most {MAX_LORAS} LoRAs per request, got {len(entries)}", param="loras")
    out: list[LoraUse] = []
    seen: dict[str, str] = {}
    for name, raw_weight, name_param, weight_param in entries:
        try:
            weight = float(raw_weight)
        except (TypeError, ValueError):
            raise InvalidParameter(f"LoRA {name!r}: weight must be a number, got {raw_weight!r}",
                                   param=weight_param) from None
        if not (math.isfinite(weight) and MIN_WEIGHT <= weight <= MAX_WEIGHT):
            raise InvalidParameter(
                f"LoRA {name!r}: weight must be between {MIN_WEIGHT:g} and {MAX_WEIGHT:g}, got {raw_weight}",
                param=weight_param)
        if not name.strip():
            raise InvalidParameter("a LoRA name is empty", param=name_param)
        info = index.resolve(name, name_param)
        if info.name in seen:
            raise InvalidParameter(f"LoRA {info.name!r} is named twice ({seen[info.name]} and {name_param}): "
                                   "give it once, with the weight you want", param="loras")
        seen[info.name] = name_param
        out.append(LoraUse(info, weight, name_param))
    return out


def a1111_hashes(pairs: Sequence[tuple[str, str | None]]) -> str:
    """The `Lora hashes` value A1111 writes from (name, short hash): `name: shorthash, ...`, names
    without ':' or ',' (A1111's own cleaning)."""
    return ", ".join(f"{name.replace(':', '').replace(',', '')}: {h}" for name, h in pairs)


# --------------------------------------------------------------------------- on a loaded pipeline

@dataclass(frozen=True)
class AdapterRef:
    """What the GPU worker needs to attach one LoRA: no index, no settings."""

    key: str
    name: str
    path: str
    weight: float
    size_bytes: int


@dataclass(frozen=True)
class LoraSet:
    adapters: tuple[AdapterRef, ...] = ()
    keep_bytes: int = 2**30  # ATELIER_LORA_CACHE_MB


def lora_set(uses: Sequence[LoraUse], keep_bytes: int) -> LoraSet:
    return LoraSet(tuple(AdapterRef(u.info.key, u.info.name, u.info.path, u.weight, u.info.size_bytes) for u in uses),
                   keep_bytes)


def _param_bytes(pipe) -> int:
    n = 0
    for name in ("unet", "text_encoder", "text_encoder_2"):
        module = getattr(pipe, name, None)
        if module is not None:
            n += sum(p.numel() * p.element_size() for p in module.parameters())
    return n


@contextlib.contextmanager
def _base_untouched(pipe):
    """Attaching a LoRA must leave the base model as it was. Two things in diffusers 0.38 do not:

    - it ends a text encoder's LoRA load with `text_encoder.to(device, dtype)`, which transformers
      refuses for a bitsandbytes model ("You cannot cast a bitsandbytes model in a new dtype") although
      the dtype is the model's own: an NF4 text_encoder_2 would take no LoRA. For the load only, such a
      model's `to` drops the (unchanged) dtype and keeps the device move;
    - casting a 4-bit module rewrites the dtype its weights dequantise to (`quant_state.dtype`): on
      a CPU, where they dequantise to bfloat16, every 4-bit layer, LoRA or not, would change its
      outputs after the first attach. Those dtypes are put back.
    """
    quant_states = [(m, m.weight.quant_state.dtype)
                    for name in ("unet", "text_encoder", "text_encoder_2") if getattr(pipe, name, None) is not None
                    for m in getattr(pipe, name).modules()
                    if getattr(getattr(m, "weight", None), "quant_state", None) is not None]
    patched = []
    for name in ("text_encoder", "text_encoder_2"):
        te = getattr(pipe, name, None)
        if te is None or not (getattr(te, "is_loaded_in_4bit", False) or getattr(te, "is_loaded_in_8bit", False)):
            continue
        original = te.to

        def to(*args, _original=original, _te=te, **kwargs):
            if kwargs.get("dtype") in (None, _te.dtype):
                kwargs.pop("dtype", None)
            return _original(*args, **kwargs)

        te.to = to
        patched.append((te, original))
    try:
        yield
    finally:
        for te, _ in patched:
            del te.to  # the instance attribute: the class's method shows through again
        for module, dtype in quant_states:  # the module: a cast may have given it new Params4bit
            module.weight.quant_state.dtype = dtype


@dataclass
class LoraAdapters:
    """The adapters attached to one loaded SDXL pipeline (shared by its img2img/inpaint views)."""

    pipe: Any
    resident: OrderedDict[str, int] = field(default_factory=OrderedDict)  # key -> bytes, least recent first
    names: dict[str, str] = field(default_factory=dict)
    active: tuple[tuple[str, float], ...] = ()
    last_load_ms: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(self.resident.values())

    def apply(self, loras: LoraSet | None) -> None:
        """Attach what `loras` needs (once), select it with its weights, drop the least recently used
        past the budget. An empty set disables every adapter: the job runs on the bare model."""
        refs = loras.adapters if loras is not None else ()
        wanted = tuple((r.key, r.weight) for r in refs)
        if not refs:
            if self.resident and self.active:
                self.pipe.disable_lora()
            self.active = ()
            return
        self.last_load_ms = 0.0
        for ref in refs:
            if ref.key in self.resident:
                self.resident.move_to_end(ref.key)
            else:
                self._attach(ref)
        if wanted != self.active:
            if not self.active:
                self.pipe.enable_lora()
            self.pipe.set_adapters([k for k, _ in wanted], adapter_weights=[w for _, w in wanted])
            self.active = wanted
        self._evict(keep={k for k, _ in wanted}, budget=loras.keep_bytes if loras else 0)

    def _attach(self, ref: AdapterRef) -> None:
        from safetensors.torch import load_file

        t0 = time.perf_counter()
        before = _param_bytes(self.pipe)
        try:
            state = load_file(ref.path)  # safetensors: no code runs; kohya keys are converted by diffusers
            with _base_untouched(self.pipe), warnings.catch_warnings():
                # Several adapters on one model is the point here, not a mistake.
                warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                self.pipe.load_lora_weights(state, adapter_name=ref.key)
        except Exception as exc:
            self._forget(ref.key)
            log.warning("LoRA %s does not fit this model: %s", ref.name, exc)
            raise InvalidParameter(
                f"LoRA {ref.name!r} does not fit this model ({type(exc).__name__}: {str(exc)[:300]}); "
                "is it an SDXL LoRA?", param="loras") from exc
        self.resident[ref.key] = max(0, _param_bytes(self.pipe) - before)
        self.names[ref.key] = ref.name
        self.last_load_ms += (time.perf_counter() - t0) * 1000
        # A fresh adapter is active at weight 1 until set_adapters: mark the selection stale.
        self.active = (("", 0.0),)
        log.info("attached LoRA %s (%s, %.1f MB) in %.0f ms", ref.name, ref.key, self.resident[ref.key] / 2**20,
                 (time.perf_counter() - t0) * 1000)

    def _forget(self, key: str) -> None:
        try:
            if key in self._pipe_adapters():
                self.pipe.delete_adapters(key)
        except Exception as exc:  # noqa: BLE001 - cleaning up after a failed load
            log.warning("could not remove LoRA adapter %s: %s", key, exc)
        self.resident.pop(key, None)
        self.names.pop(key, None)

    def _pipe_adapters(self) -> set[str]:
        return {a for names in self.pipe.get_list_adapters().values() for a in names}

    def _evict(self, keep: set[str], budget: int) -> None:
        for key in list(self.resident):
            if self.bytes <= budget:
                break
            if key in keep:
                continue
            log.info("detach LoRA %s: least recently used past ATELIER_LORA_CACHE_MB", self.names.get(key, key))
            self._forget(key)

    def status(self) -> list[dict[str, Any]]:
        weights = dict(self.active)
        return [{"key": k, "name": self.names.get(k, k), "bytes": b, "active": k in weights,
                 "weight": weights.get(k)} for k, b in self.resident.items()]
