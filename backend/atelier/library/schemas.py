"""Wire shapes of /v1/library. Strict: unknown keys and wrong types are a 400 naming the field."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# fixed width, so that later = greater as plain strings (src/lib/db/hlc.ts makes them)
STAMP_PATTERN = r"^\d{15}-\d{6}-[A-Za-z0-9_-]{1,64}$"
STAMP = re.compile(STAMP_PATTERN)
CREATED = "$"

Stamp = Annotated[str, StringConstraints(pattern=STAMP_PATTERN)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^(\$|[A-Za-z_][A-Za-z0-9_]{0,63})$")]

MAX_CHANGES = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Change(_Strict):
    """One record's change: the fields written, each field's stamp (a stamped field missing from
    `fields` was removed at that stamp; `$` stamps every field not stamped on its own), or a
    deletion (`deleted`: its stamp), which is final."""

    id: RecordId
    fields: dict[FieldName, Any] = Field(default_factory=dict)
    stamps: dict[FieldName, Stamp] = Field(default_factory=dict)
    deleted: Stamp | None = None


class PushRequest(_Strict):
    client_id: ClientId
    changes: list[Change] = Field(max_length=MAX_CHANGES)


class PushResponse(BaseModel):
    object: Literal["library.push"] = "library.push"
    applied: int = Field(description="changes that altered the server's copy")
    unchanged: int = Field(description="changes the server already had, or lost to later writes")
    deleted: list[str] = Field(description="ids pushed that are deleted on the server: delete them locally")


class ChangeOut(BaseModel):
    """One entry of GET /v1/library/changes (the record as the server has it now)."""

    id: str
    seq: int
    fields: dict[str, Any]
    stamps: dict[str, str]
    deleted: str | None


class ChangesPage(BaseModel):
    object: Literal["list"] = "list"
    data: list[ChangeOut]
    cursor: str = Field(description="pass as `since` for the next page; empty library: the epoch with 0")
    has_more: bool


class LibrarySummary(BaseModel):
    object: Literal["library"] = "library"
    epoch: str
    seq: int
    records: int
    deleted: int
    database: Literal["sqlite", "postgresql"]


class BlobStored(BaseModel):
    object: Literal["library.blob"] = "library.blob"
    sha256: str
    size: int
    complete: bool
    offset: int = Field(description="bytes received so far (== size when complete)")


MAX_BATCH_BLOBS = 200


class BlobBatchRequest(_Strict):
    """Several small blobs (thumbnails) in one response: a fresh browser's grid fills at once."""

    sha256: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(min_length=1, max_length=MAX_BATCH_BLOBS)


class BlobBatchStored(BaseModel):
    """What a batch upload stored: every blob of the request, each complete."""

    object: Literal["list"] = "list"
    data: list[BlobStored]
    new: int = Field(description="how many of them the library did not have before")
