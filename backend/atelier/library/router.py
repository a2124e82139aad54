"""/v1/library: HTTP only. The protocol (docs/API.md has it in full):

- `HEAD /blobs/{sha256}`: 200 with Content-Length when the blob is stored; else 404 with
  `Upload-Offset` (bytes of an unfinished upload to resume from).
- `PUT /blobs/{sha256}`: the bytes, whole or as a `Content-Range: bytes a-b/total` piece; idempotent
  (a stored blob answers 200 at once), verified (wrong hash: 400, nothing kept), limited (413, 415).
- `GET /blobs/{sha256}`: the bytes (immutable: they are their own name).
- `POST /blobs/batch`: up to 200 small blobs in one response, each as '<sha256> <size>\n' + bytes.
- `POST /blobs/upload`: up to 200 small blobs (thumbnails) stored in one request, framed the same
  way; all verified before any is kept (one wrong hash: 400, nothing kept).
- `POST /changes`: a batch of record changes with the client id and per-field HLC stamps.
- `GET /changes?since=&limit=`: the feed after a cursor, paged and streamed.
- `GET /`: epoch, counters, which database.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from atelier.api.deps import ServicesDep
from atelier.core.errors import InvalidParameter, PayloadTooLarge, UnsupportedMediaType
from atelier.library.blobs import check_sha256
from atelier.library.exceptions import BlobNotFound, HashMismatch
from atelier.library.schemas import (MAX_BATCH_BLOBS, BlobBatchRequest, BlobBatchStored, BlobStored, ChangesPage,
                                     LibrarySummary, PushRequest, PushResponse)
from atelier.library.service import MAX_PAGE, LibraryService

router = APIRouter(prefix="/library", tags=["library"])

BLOB_TYPES = ("application/octet-stream", "image/png", "image/jpeg", "image/webp", "image/gif", "image/avif",
              "image/heic", "image/heif", "image/tiff", "image/bmp", "image/jxl", "image/x-adobe-dng")
CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")
# bytes handed to the writer thread at a time, and how many may wait: memory per upload stays
# under (QUEUED + 2) x WRITE_CHUNK
WRITE_CHUNK = 1 << 20
QUEUED = 4


def get_library(services: ServicesDep) -> LibraryService:
    return services.library


LibraryDep = Annotated[LibraryService, Depends(get_library)]
Sha256 = Annotated[str, Path(description="SHA-256 of the blob's bytes, 64 lower-case hex digits")]


@router.head("/blobs/{sha256}", summary="Is a blob stored? (or how much of its upload)")
def head_blob(sha256: Sha256, library: LibraryDep) -> Response:
    check_sha256(sha256)
    size = library.blobs.size(sha256)
    if size is not None:
        return Response(status_code=200, headers={"Content-Length": str(size), "Upload-Offset": str(size)})
    return Response(status_code=404, headers={"Upload-Offset": str(library.blobs.offset(sha256))})


@router.get("/blobs/{sha256}", summary="A blob's bytes", response_class=FileResponse)
def get_blob(sha256: Sha256, library: LibraryDep) -> FileResponse:
    check_sha256(sha256)
    if library.blobs.size(sha256) is None:
        raise BlobNotFound(f"no blob {sha256} in the library (upload it with PUT first)", param="sha256")
    return FileResponse(library.blobs.path(sha256), media_type="application/octet-stream",
                        headers={"Cache-Control": "private, max-age=31536000, immutable"})


def _content_range(request: Request, max_bytes: int) -> tuple[int, int | None, int | None]:
    """(start, end exclusive or None, total or None) of this request's bytes."""
    raw = request.headers.get("content-range")
    if raw is None:
        n = request.headers.get("content-length")
        total = int(n) if n and n.isdigit() else None
        return 0, total, total
    m = CONTENT_RANGE.match(raw.strip())
    if not m:
        raise InvalidParameter(f"Content-Range must look like 'bytes 0-1048575/5000000', got {raw[:80]!r}",
                               param="Content-Range")
    a, b, total = (int(x) for x in m.groups())
    if not a <= b < total:
        raise InvalidParameter(f"Content-Range {raw!r} is not a range inside the file", param="Content-Range")
    return a, b + 1, total


@router.put("/blobs/{sha256}", summary="Upload a blob, whole or in resumable pieces", response_model=BlobStored,
            openapi_extra={"requestBody": {"required": True, "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in BLOB_TYPES}}})
async def put_blob(sha256: Sha256, request: Request, library: LibraryDep) -> JSONResponse:
    check_sha256(sha256)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype not in BLOB_TYPES:
        raise UnsupportedMediaType(f"a blob is sent as application/octet-stream or its image type "
                                   f"({', '.join(BLOB_TYPES[1:])}), not {ctype or 'nothing'}", param="Content-Type")
    blobs = library.blobs
    size = await anyio.to_thread.run_sync(blobs.size, sha256)
    if size is not None:  # stored once: the bytes are not read again
        return JSONResponse(BlobStored(sha256=sha256, size=size, complete=True, offset=size).model_dump())
    start, end, total = _content_range(request, blobs.max_bytes)
    blobs.check_size(total)
    async with library.upload_lock(sha256):
        writer = await anyio.to_thread.run_sync(blobs.open_part, sha256, start, total)
        # Receiving, writing and hashing overlap: the event loop reads the next megabytes off the
        # socket while one thread writes the previous ones and another hashes them (both release
        # the GIL); at most QUEUED pieces wait.
        send, receive = anyio.create_memory_object_stream[bytearray](max_buffer_size=QUEUED)
        problem: Exception | None = None

        async def write_all() -> None:
            async with receive:
                async for data in receive:
                    async with anyio.create_task_group() as pair:
                        pair.start_soon(anyio.to_thread.run_sync, writer.write_bytes, data)
                        pair.start_soon(anyio.to_thread.run_sync, writer.hash, data)

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(write_all)
                async with send:
                    buf, seen = bytearray(), writer.offset
                    async for chunk in request.stream():
                        buf += chunk
                        seen += len(chunk)
                        if end is not None and seen > end:
                            problem = InvalidParameter("the body is longer than its Content-Range / Content-Length",
                                                       param="body")
                            break
                        if total is None and seen > blobs.max_bytes:
                            problem = PayloadTooLarge(f"the blob is more than {blobs.max_bytes:,} bytes, the library's "
                                                      "limit (ATELIER_LIBRARY_MAX_BLOB_MB)", param="body")
                            break
                        if len(buf) >= WRITE_CHUNK:
                            data, buf = buf, bytearray()  # handed over, not copied
                            await send.send(data)
                    if buf and problem is None:
                        await send.send(buf)
        finally:
            await anyio.to_thread.run_sync(writer.close)
        if problem is not None:
            raise problem
        if end is not None and writer.offset != end:
            raise InvalidParameter(f"the body ended at byte {writer.offset} of the range, before byte {end}",
                                   param="body")
        done = total if total is not None else writer.offset
        if writer.offset < done:
            blobs.keep_hash(sha256, writer)
            return JSONResponse(BlobStored(sha256=sha256, size=done, complete=False, offset=writer.offset).model_dump(),
                                status_code=202, headers={"Upload-Offset": str(writer.offset)})
        await anyio.to_thread.run_sync(blobs.finish, sha256, writer, done)
    return JSONResponse(BlobStored(sha256=sha256, size=done, complete=True, offset=done).model_dump(), status_code=201)


BATCH_MAX_BYTES = 1 << 20  # a blob larger than this is left out of a batch (fetch it alone)


@router.post("/blobs/batch", summary="Several small blobs (thumbnails) in one response",
             response_class=Response, responses={200: {"content": {"application/octet-stream": {}},
                                                       "description": "for each hash asked: a line "
                                                       "'<sha256> <size>\\n' and then its bytes; size -1: not stored "
                                                       "(or larger than 1 MiB: GET it alone)"}})
def get_blob_batch(body: BlobBatchRequest, library: LibraryDep) -> StreamingResponse:
    blobs = library.blobs

    def frames():
        for sha in body.sha256:
            size = blobs.size(sha)
            if size is None or size > BATCH_MAX_BYTES:
                yield f"{sha} -1\n".encode()
                continue
            data = blobs.path(sha).read_bytes()
            yield f"{sha} {len(data)}\n".encode() + data

    return StreamingResponse(frames(), media_type="application/octet-stream")


UPLOAD_BATCH_MAX_BYTES = 16 << 20  # a batch upload's body, frames included


def parse_frames(body: bytes) -> list[tuple[str, bytes]]:
    """'<sha256> <size>\\n' + bytes, repeated (the framing of POST /blobs/batch's response)."""
    items: list[tuple[str, bytes]] = []
    at = 0
    while at < len(body):
        nl = body.find(b"\n", at, at + 100)
        head = body[at:nl].decode("ascii", "replace").split(" ") if nl >= 0 else []
        if len(head) != 2 or not head[1].isdigit():
            raise InvalidParameter(f"frame {len(items) + 1} of the body (at byte {at}) is not '<sha256> <size>\\n' "
                                   "followed by that many bytes", param="body")
        sha, size = check_sha256(head[0]), int(head[1])
        if size > BATCH_MAX_BYTES:
            raise PayloadTooLarge(f"blob {sha} is {size:,} bytes; a batch takes blobs of at most "
                                  f"{BATCH_MAX_BYTES:,} (PUT /v1/library/blobs/{{sha256}} takes larger ones)",
                                  param="body")
        at = nl + 1
        if at + size > len(body):
            raise InvalidParameter(f"the body ends inside blob {sha}: {len(body) - at:,} of its {size:,} bytes came",
                                   param="body")
        items.append((sha, body[at:at + size]))
        at += size
        if len(items) > MAX_BATCH_BLOBS:
            raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH_BLOBS} blobs: split it", param="body")
    if not items:
        raise InvalidParameter("the body holds no blob", param="body")
    return items


def _verify(items: list[tuple[str, bytes]]) -> None:
    for sha, data in items:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha:
            raise HashMismatch(f"the bytes sent as {sha} hash to {digest}: nothing of this batch was kept; "
                               "send it again", param="body")


@router.post("/blobs/upload", summary="Store several small blobs (thumbnails) in one request",
             response_model=BlobBatchStored,
             openapi_extra={"requestBody": {"required": True, "description": "for each blob: a line "
                                            "'<sha256> <size>\\n' and then its bytes (at most 200 blobs of at most "
                                            "1 MiB, 16 MiB in all)",
                                            "content": {"application/octet-stream": {"schema": {
                                                "type": "string", "format": "binary"}}}}})
async def upload_blob_batch(request: Request, library: LibraryDep) -> BlobBatchStored:
    """The body frames each blob as a line '<sha256> <size>\\n' and then its bytes (the framing of
    `POST /v1/library/blobs/batch`'s response): at most 200 blobs of at most 1 MiB, 16 MiB in all.
    All or nothing: every hash is verified before any blob is kept (one wrong: 400, nothing kept).
    Idempotent: a blob the library has is not written again."""
    # A first sync uploads thousands of thumbnails: one request per batch instead of one per blob
    # spares the browser's main thread (the grid scrolls meanwhile) and this server the per-request
    # work. The body is held in memory: 16 MiB at most.
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/octet-stream":
        raise UnsupportedMediaType(f"a batch is sent as application/octet-stream, not {ctype or 'nothing'}",
                                   param="Content-Type")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > UPLOAD_BATCH_MAX_BYTES:
            raise PayloadTooLarge(f"a batch upload is at most {UPLOAD_BATCH_MAX_BYTES:,} bytes: split it", param="body")
    items = parse_frames(bytes(body))
    await anyio.to_thread.run_sync(_verify, items)
    new = await anyio.to_thread.run_sync(library.blobs.put_whole, items)
    return BlobBatchStored(data=[BlobStored(sha256=sha, size=len(data), complete=True, offset=len(data))
                                 for sha, data in items], new=new)


@router.post("/changes", summary="Push record changes (merged per field, last writer wins)",
             response_model=PushResponse)
def push_changes(body: PushRequest, library: LibraryDep) -> PushResponse:
    r = library.push(body.client_id, body.changes)
    return PushResponse(applied=r.applied, unchanged=r.unchanged, deleted=r.deleted)


@router.get("/changes", summary="Pull changes after a cursor (paged, streamed)", response_model=ChangesPage)
def pull_changes(library: LibraryDep,
                 since: Annotated[str | None, Query(max_length=64, description="`cursor` of the previous page; none: from the start")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000) -> StreamingResponse:
    epoch, after = library.parse_cursor(since)
    return StreamingResponse(library.changes_json(epoch, after, limit), media_type="application/json")


@router.get("", summary="The library's epoch and counters", response_model=LibrarySummary)
def summary(library: LibraryDep) -> LibrarySummary:
    return LibrarySummary(**library.summary())
