"""Generation parameters written where other tools read them.

PNG: a `parameters` text chunk in AUTOMATIC1111's format (read by A1111, Forge, ComfyUI loaders,
civitai, Invoke's importer). JPEG/WebP: the same text in EXIF UserComment (Unicode, as A1111
writes it) and ImageDescription.

The EXIF block is written here rather than by Pillow: Pillow types a bytes value BYTE, while the
EXIF spec (and A1111 through piexif) types UserComment UNDEFINED with an 8-byte character code
prefix; piexif then reads a tuple of numbers instead of bytes, sd-prompt-reader fails, and
`exiftool -validate` warns. It also carries the tags the spec requires of a JPEG's EXIF.
"""

from __future__ import annotations

import io
import re
import struct
from typing import Any

from PIL import Image, PngImagePlugin

EXIF_IMAGE_DESCRIPTION = 0x010E
EXIF_IFD = 0x8769
EXIF_USER_COMMENT = 0x9286
_UNICODE = b"UNICODE\x00"

# TIFF field types and their sizes.
_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 2, 3, 4, 5, 7
_TYPE_SIZE = {_ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}


def _ifd(entries: list[tuple[int, int, bytes]], offset: int) -> bytes:
    """One big-endian IFD placed at `offset` of the TIFF data: entries, no next IFD, then the values
    that do not fit in an entry's 4 bytes (each at an even offset)."""
    entries = sorted(entries)
    data_at = offset + 2 + 12 * len(entries) + 4
    head, data = [struct.pack(">H", len(entries))], b""
    for tag, typ, value in entries:
        count = len(value) // _TYPE_SIZE[typ]
        if len(value) <= 4:
            field = value.ljust(4, b"\0")
        else:
            field = struct.pack(">I", data_at + len(data))
            data += value + b"\0" * (len(value) % 2)
        head.append(struct.pack(">HHI", tag, typ, count) + field)
    return b"".join(head) + b"\0\0\0\0" + data


def exif_block(parameters: str, width: int, height: int) -> bytes:
    """APP1 EXIF data (big-endian TIFF, as piexif writes it) carrying `parameters`."""
    rational72 = struct.pack(">II", 72, 1)
    ifd0 = [
        # ImageDescription is ASCII by the spec: non-ASCII prompts are kept in full in UserComment.
        (EXIF_IMAGE_DESCRIPTION, _ASCII, parameters.encode("ascii", "replace") + b"\0"),
        (0x011A, _RATIONAL, rational72),  # XResolution
        (0x011B, _RATIONAL, rational72),  # YResolution
        (0x0128, _SHORT, struct.pack(">H", 2)),  # ResolutionUnit: inches
        (0x0131, _ASCII, b"Atelier\0"),  # Software
        (0x0213, _SHORT, struct.pack(">H", 1)),  # YCbCrPositioning: centred
    ]
    exif = [
        (0x9000, _UNDEFINED, b"0232"),  # ExifVersion 2.32
        (0x9101, _UNDEFINED, b"\x01\x02\x03\x00"),  # ComponentsConfiguration: Y Cb Cr
        (EXIF_USER_COMMENT, _UNDEFINED, _UNICODE + parameters.encode("utf-16-be")),
        (0xA000, _UNDEFINED, b"0100"),  # FlashpixVersion
        (0xA001, _SHORT, struct.pack(">H", 1)),  # ColorSpace: sRGB
        (0xA002, _LONG, struct.pack(">I", width)),  # PixelXDimension
        (0xA003, _LONG, struct.pack(">I", height)),  # PixelYDimension
    ]
    # IFD0 holds a pointer to the EXIF IFD, which follows it: size IFD0 with a placeholder first.
    size0 = len(_ifd([*ifd0, (EXIF_IFD, _LONG, b"\0\0\0\0")], 8))
    first = _ifd([*ifd0, (EXIF_IFD, _LONG, struct.pack(">I", 8 + size0))], 8)
    return b"Exif\0\0" + b"MM\0*" + struct.pack(">I", 8) + first + _ifd(exif, 8 + size0)


def a1111_parameters(p: dict[str, Any]) -> str:
    """prompt, then `Negative prompt: ...`, then one line of `Key: value` pairs."""
    fields = [
        ("Steps", p["steps"]),
        ("Sampler", p["sampler"]),
        ("CFG scale", _num(p["guidance_scale"])),
        ("Seed", p["seed"]),
        ("Size", f"{p['width']}x{p['height']}"),
        ("Model", p["model"]),
    ]
    if p.get("strength") is not None:
        fields.append(("Denoising strength", _num(p["strength"])))
    if p.get("lora_hashes"):
        fields.append(("Lora hashes", p["lora_hashes"]))
    fields.append(("Version", "Atelier"))
    lines = [p["prompt"]]
    if p.get("negative_prompt"):
        lines.append(f"Negative prompt: {p['negative_prompt']}")
    lines.append(", ".join(f"{k}: {_quote(str(v))}" for k, v in fields))
    return "\n".join(lines)


def parse_a1111(text: str) -> dict[str, Any]:
    """The inverse of a1111_parameters (and a reader for A1111's own output)."""
    *head, last = text.rstrip("\n").split("\n")
    if not re.search(r"\bSteps: \d+", last):
        head, last = [*head, last], ""
    prompt_lines, negative_lines, in_negative = [], [], False
    for line in head:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].lstrip()
        (negative_lines if in_negative else prompt_lines).append(line)
    out: dict[str, Any] = {"prompt": "\n".join(prompt_lines), "negative_prompt": "\n".join(negative_lines)}
    for key, value in re.findall(r'\s*([\w][\w \-/]*?): ("(?:\\.|[^"\\])*"|[^,]*)(?:,|$)', last):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key] = value
    return out


def encode(img: Image.Image, fmt: str, parameters: str, *, quality: int = 92) -> bytes:
    """`img` in `fmt` (png, jpeg or webp) carrying `parameters`."""
    buf = io.BytesIO()
    fmt = fmt.lower()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", parameters)
        # Level 4: within a few % of the size of level 6 at about half the time (the GPU queue waits).
        img.save(buf, format="PNG", pnginfo=info, compress_level=4)
    elif fmt in ("jpeg", "jpg", "webp"):
        img.convert("RGB").save(buf, format="JPEG" if fmt != "webp" else "WEBP", quality=quality,
                                exif=exif_block(parameters, *img.size))
    else:
        raise ValueError(f"unsupported output format {fmt!r}")
    return buf.getvalue()


def read_parameters(data: bytes) -> str | None:
    """The parameters text of an image written by encode() (or by A1111), if any."""
    img = Image.open(io.BytesIO(data))
    if "parameters" in img.info:
        return img.info["parameters"]
    exif = img.getexif()
    comment = exif.get_ifd(EXIF_IFD).get(EXIF_USER_COMMENT)
    if isinstance(comment, bytes):
        if comment.startswith(_UNICODE):
            return comment[len(_UNICODE):].decode("utf-16-be", "replace")
        if comment.startswith(b"ASCII\x00\x00\x00"):
            return comment[8:].decode("ascii", "replace")
    desc = exif.get(EXIF_IMAGE_DESCRIPTION)
    return desc if isinstance(desc, str) else None


def _num(v: float) -> str:
    return f"{float(v):g}"


def _quote(v: str) -> str:
    # A1111 quotes values that contain its separators.
    if any(c in v for c in ',:\n"'):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return v
