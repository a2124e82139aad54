"""Originals and thumbnails as content-addressed files: `blobs/<first 2 hex>/<sha256>`.

A blob becomes visible only complete and verified: bytes go to `uploads/<sha256>.part`, and the
upload's last byte triggers the check (the SHA-256 of the whole file must be its name), an fsync,
a rename into `blobs/` (atomic on one file system) and an fsync of the directory. A crash at any
point leaves either no blob or the whole one; a half-received `.part` stays for the client to
resume from (`offset()`), and one the client never finishes is removed after a week. Stored once:
a blob that exists is never written again. Plain blocking file code: the router runs it in
threads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

from atelier.core.errors import InvalidParameter, PayloadTooLarge
from atelier.library.exceptions import HashMismatch, UploadOffsetMismatch

log = logging.getLogger("atelier.library")

SHA256 = re.compile(r"^[0-9a-f]{64}$")
STALE_UPLOAD_S = 7 * 24 * 3600
KEPT_HASHES = 256  # running hashes of unfinished uploads kept between their pieces (tiny each)


def check_sha256(sha: str) -> str:
    if not SHA256.match(sha):
        raise InvalidParameter(f"sha256 must be 64 lower-case hex digits, got {sha[:80]!r}", param="sha256")
    return sha


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartWriter:
    """Appends one request's bytes to an upload. Hashes as it goes: from byte 0, or from where the
    previous piece's hash stopped when this process received that piece (BlobStore keeps it), so an
    upload received whole by one process is never read back. `hashed_to`: the bytes the hash covers."""

    def __init__(self, fh: BinaryIO, start: int, hasher: Any | None = None):
        self.fh = fh
        self.offset = start
        self.hasher = hashlib.sha256() if start == 0 else hasher
        self.hashed_to = start if self.hasher is not None else 0

    def write(self, data: bytes | bytearray) -> None:
        self.write_bytes(data)
        self.hash(data)

    def write_bytes(self, data: bytes | bytearray) -> None:
        self.fh.write(data)
        self.offset += len(data)

    def hash(self, data: bytes | bytearray) -> None:
        """Both this and write_bytes release the GIL on large buffers: the router runs them side by
        side in two threads, so verifying costs no time beside the disk write."""
        if self.hasher is not None:
            self.hasher.update(data)
            self.hashed_to += len(data)

    def close(self) -> None:
        self.fh.flush()
        self.fh.close()


class BlobStore:
    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        self.blobs = root / "blobs"
        self.uploads = root / "uploads"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._drop_stale_uploads()
        # sha -> (bytes hashed, the hash so far) of unfinished uploads whose pieces this process
        # received, so that the next piece goes on hashing instead of the last one reading the whole
        # file back. A restart forgets them (the file is then read back once, as before). Callers
        # hold the upload's lock (LibraryService.upload_lock), one request per blob at a time.
        self._hashes: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def path(self, sha: str) -> Path:
        return self.blobs / sha[:2] / sha

    def _part(self, sha: str) -> Path:
        return self.uploads / f"{sha}.part"

    def size(self, sha: str) -> int | None:
        """The blob's size, or None when it is not (completely) stored."""
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            return None

    def offset(self, sha: str) -> int:
        """Bytes received so far of an unfinished upload (0: none)."""
        try:
            return self._part(sha).stat().st_size
        except FileNotFoundError:
            return 0

    def check_size(self, total: int | None) -> None:
        if total is not None and total > self.max_bytes:
            raise PayloadTooLarge(f"the blob is {total:,} bytes; the library takes at most {self.max_bytes:,} "
                                  f"(ATELIER_LIBRARY_MAX_BLOB_MB={self.max_bytes / 1024 / 1024:.4g})", param="body")

    def open_part(self, sha: str, start: int, total: int | None) -> PartWriter:
        """Opens the upload at byte `start`: 0 starts over, anything else must be where the bytes
        received so far end (the client asks HEAD for it)."""
        self.check_size(total)
        part = self._part(sha)
        if start == 0:
            return PartWriter(open(part, "wb"), 0)
        have = self.offset(sha)
        if start != have:
            raise UploadOffsetMismatch(f"this upload has {have:,} bytes so far; send from byte {have} "
                                       f"(Content-Range: bytes {have}-...), not {start}", offset=have)
        kept = self._hashes.pop(sha, None)
        return PartWriter(open(part, "ab"), start, kept[1] if kept is not None and kept[0] == start else None)

    def keep_hash(self, sha: str, writer: PartWriter) -> None:
        """After a piece that left the upload unfinished: keep its running hash for the next piece,
        when it covers every byte received so far."""
        if writer.hasher is not None and writer.hashed_to == writer.offset:
            self._hashes[sha] = (writer.offset, writer.hasher)
            self._hashes.move_to_end(sha)
            while len(self._hashes) > KEPT_HASHES:
                self._hashes.popitem(last=False)

    def finish(self, sha: str, writer: PartWriter | None, total: int) -> None:
        """Verifies the whole upload against its name and moves it into place (see the module doc)."""
        part = self._part(sha)
        size = part.stat().st_size
        if size != total:
            raise UploadOffsetMismatch(f"the upload ended at {size:,} bytes but Content-Range announced {total:,}",
                                       offset=size)
        self._hashes.pop(sha, None)
        if writer is not None and writer.hasher is not None and writer.hashed_to == writer.offset == total:
            digest = writer.hasher.hexdigest()
        else:
            h = hashlib.sha256()
            with open(part, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digest = h.hexdigest()
        if digest != sha:
            part.unlink(missing_ok=True)
            raise HashMismatch(f"the bytes received hash to {digest}, not {sha}: nothing was kept; "
                               "send the file again", param="sha256")
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        dest = self.path(sha)
        dest.parent.mkdir(exist_ok=True)
        os.replace(part, dest)
        _fsync_dir(dest.parent)

    def put_whole(self, items: list[tuple[str, bytes]]) -> int:
        """Stores small blobs received whole and already verified (a batch of thumbnails): each
        written to a temp file of its own (an upload of the same blob under way keeps its part),
        fsynced and renamed into place; the directories are fsynced once at the end. Returns how
        many were new."""
        dirs: set[Path] = set()
        new = 0
        for sha, data in items:
            dest = self.path(sha)
            if dest.exists():
                continue
            tmp = self.uploads / f"{sha}.{os.urandom(6).hex()}.part"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                dest.parent.mkdir(exist_ok=True)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            dirs.add(dest.parent)
            new += 1
        for d in dirs:
            _fsync_dir(d)
        return new

    def discard(self, sha: str) -> None:
        self._hashes.pop(sha, None)
        self._part(sha).unlink(missing_ok=True)

    def _drop_stale_uploads(self) -> None:
        cutoff = time.time() - STALE_UPLOAD_S
        for p in self.uploads.glob("*.part"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    log.info("removed an upload nobody finished in a week: %s", p.name)
            except FileNotFoundError:
                pass
