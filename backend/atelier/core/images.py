"""Decoding images that clients send (base64, data URLs, uploads) and encoding results.

Every decode enforces the pixel limit (decompression bombs) and turns any failure into an
`invalid_image` error that names the parameter.

Requests do not decode: they check (`probe`) and keep the compressed bytes in a `PendingImage`,
which the job decodes when it runs, on the worker. A 3.5 MB batch of 16 x 40 MP PNGs queued
behind another job used to sit decoded in memory (1.9 GB) for as long as it waited (issue 16);
now it holds its 3.5 MB, and `cost()` tells the worker's memory budget what it will take.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from atelier.core.errors import InvalidImage

# Vision models and the NSFW detector resize far below this (Moondream's crops cover ~1.5k px, the
# generic VLMs' processors 2k at most, NudeNet 320 px): images for them are decoded to at most this.
WORK_SIDE = 2048
_ORIENTATION = 0x0112
_SWAPPED = (5, 6, 7, 8)  # EXIF orientations that turn the image a quarter
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)?(;[\w=.-]+)*;base64,(?P<data>.*)$", re.S)


def b64_to_bytes(value: str, *, param: str = "image") -> bytes:
    """Bytes from plain base64 or a `data:image/...;base64,` URL."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidImage("image is empty: send base64 or a data URL (data:image/png;base64,...)", param=param)
    value = value.strip()
    if value.startswith("data:"):
        m = _DATA_URL.match(value)
        if m is None:
            raise InvalidImage("malformed data URL: expected data:image/<type>;base64,<data>", param=param)
        value = m.group("data")
    elif value.startswith(("http://", "https://")):
        raise InvalidImage("expected base64 image data here, got a URL", param=param)
    try:
        return base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage(f"image is not valid base64: {exc}", param=param) from exc


def _opened(data: bytes, max_pixels: int, param: str) -> Image.Image:
    """The image's header, read and checked against the pixel limit (nothing decoded yet)."""
    if not data:
        raise InvalidImage("image is empty", param=param)
    img = Image.open(io.BytesIO(data))
    w, h = img.size
    if w * h > max_pixels:
        raise InvalidImage(
            f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} (ATELIER_MAX_IMAGE_PIXELS)",
            param=param,
        )
    return img


_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                  Image.DecompressionBombWarning)


def open_image(data: bytes, *, max_pixels: int, param: str = "image", max_side: int | None = None) -> Image.Image:
    """A decoded RGB image, EXIF orientation applied; refuses bombs and non-images. With `max_side`,
    scaled down to fit it (JPEGs are decoded at the reduced scale directly)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = _opened(data, max_pixels, param)
            if max_side is not None and img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))
            img.load()
    except InvalidImage:
        raise
    except _DECODE_ERRORS as exc:
        raise InvalidImage(f"could not decode the image: {exc}", param=param) from exc
    ImageOps.exif_transpose(img, in_place=True)  # not a copy: that would double a 40 MP image
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            bg = Image.new("RGB", rgba.size, (255, 255, 255))
            bg.paste(rgba, mask=rgba.getchannel("A"))
            img = bg
        else:
            img = img.convert("RGB")
    if max_side is not None and max(img.size) > max_side:
        # reducing_gap=1: a box reduction by an integer factor first, then Lanczos (2-4x faster on
        # camera frames; the vision models resize far below this anyway).
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=1.0)
    return img


def _orientation(data: bytes) -> int | None:
    """The EXIF orientation, read without decoding (PIL's PNG getexif() decodes the whole image to
    look for an eXIf chunk after the pixels; one before them is in `info`)."""
    img = Image.open(io.BytesIO(data))
    if img.format == "PNG":
        raw = img.info.get("exif")
        if not raw:
            return None
        exif = Image.Exif()
        exif.load(raw)
        return exif.get(_ORIENTATION)
    return img.getexif().get(_ORIENTATION)


def _scaled(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    w, h = size
    if max_side is None or max(w, h) <= max_side:
        return w, h
    f = max_side / max(w, h)
    return max(1, round(w * f)), max(1, round(h * f))


@dataclass(frozen=True)
class PendingImage:
    """An image as the client sent it, checked but not decoded: what a queued job holds."""

    data: bytes
    size: tuple[int, int]  # as displayed: EXIF orientation applied
    param: str
    max_pixels: int

    @classmethod
    def probe(cls, data: bytes, *, max_pixels: int, param: str = "image") -> PendingImage:
        """Checks what can be checked without decoding: a known format, the pixel limit, and (for
        PNG and others that support it) the structure and checksums. Cheap; runs in the request."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = _opened(data, max_pixels, param)
                w, h = img.size
                img.verify()  # must come first: it consumes the file
                if _orientation(data) in _SWAPPED:
                    w, h = h, w
        except InvalidImage:
            raise
        except _DECODE_ERRORS as exc:
            raise InvalidImage(f"could not decode the image: {exc}", param=param) from exc
        return cls(data, (w, h), param, max_pixels)

    def decode(self, max_side: int | None = None) -> Image.Image:
        return open_image(self.data, max_pixels=self.max_pixels, param=self.param, max_side=max_side)

    def decoded_bytes(self, max_side: int | None = None) -> int:
        """Memory of the decoded image: RGBA while it converts at full size, RGB once scaled."""
        w, h = _scaled(self.size, max_side)
        return w * h * (4 if (w, h) == self.size else 3)


def decoding_cost(images: list[PendingImage], max_side: int | None = None) -> int:
    """Bytes a job holds for `images` when it decodes them one at a time, keeping each scaled to
    `max_side`: their compressed bytes, the largest one at full size, and the scaled ones."""
    if not images:
        return 0
    full = max(i.size[0] * i.size[1] * 4 for i in images)
    return sum(len(i.data) + i.decoded_bytes(max_side) for i in images) + (full if max_side is not None else 0)


def decode_image(value: str, *, max_pixels: int, param: str = "image") -> Image.Image:
    return open_image(b64_to_bytes(value, param=param), max_pixels=max_pixels, param=param)


def pending_image(value: str, *, max_pixels: int, param: str = "image") -> PendingImage:
    return PendingImage.probe(b64_to_bytes(value, param=param), max_pixels=max_pixels, param=param)


def encode_image(img: Image.Image, fmt: str = "png", **save_kwargs) -> bytes:
    buf = io.BytesIO()
    pil_fmt = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}[fmt.lower()]
    img.save(buf, format=pil_fmt, **save_kwargs)
    return buf.getvalue()


def to_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
