"""The library's typed errors: each carries its status and code; core/errors.py translates."""

from __future__ import annotations

from atelier.core.errors import AtelierError


class HashMismatch(AtelierError):
    code = "hash_mismatch"


class UploadOffsetMismatch(AtelierError):
    status = 409
    code = "upload_offset_mismatch"

    def __init__(self, message: str, *, offset: int):
        super().__init__(message, param="Content-Range", headers={"Upload-Offset": str(offset)})
        self.offset = offset


class CursorReset(AtelierError):
    """The cursor belongs to another database (reset, restored, replaced): resync from nothing."""

    status = 410
    code = "cursor_reset"


class BlobNotFound(AtelierError):
    status = 404
    code = "blob_not_found"
