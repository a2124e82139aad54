"""Decoding images that clients send (base64, data URLs, uploads) and encoding results.

Every decode enforces the pixel limit (decompression bombs) and turns any failure into an
`invalid_image` error that names the parameter.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from atelier.core.errors import InvalidImage

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


def open_image(data: bytes, *, max_pixels: int, param: str = "image") -> Image.Image:
    """A decoded RGB image, EXIF orientation applied; refuses bombs and non-images."""
    if not data:
        raise InvalidImage("image is empty", param=param)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise InvalidImage(
                    f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} (ATELIER_MAX_IMAGE_PIXELS)",
                    param=param,
                )
            img.load()
    except InvalidImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"could not decode the image: {exc}", param=param) from exc
    img = ImageOps.exif_transpose(img)
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            bg = Image.new("RGB", rgba.size, (255, 255, 255))
            bg.paste(rgba, mask=rgba.getchannel("A"))
            img = bg
        else:
            img = img.convert("RGB")
    return img


def decode_image(value: str, *, max_pixels: int, param: str = "image") -> Image.Image:
    return open_image(b64_to_bytes(value, param=param), max_pixels=max_pixels, param=param)


def encode_image(img: Image.Image, fmt: str = "png", **save_kwargs) -> bytes:
    buf = io.BytesIO()
    pil_fmt = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}[fmt.lower()]
    img.save(buf, format=pil_fmt, **save_kwargs)
    return buf.getvalue()


def to_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
