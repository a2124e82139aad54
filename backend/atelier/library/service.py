"""The library's logic, free of HTTP: merge pushed changes per field (last writer wins by
hybrid-logical-clock stamp, as src/lib/db/fields.ts does in the browser), keep deletions as
tombstones, and serve the change feed by cursor in constant memory."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from atelier.core.errors import InvalidParameter
from atelier.library.blobs import BlobStore
from atelier.library.db import make_engine, migrate, sqlite_url
from atelier.library.exceptions import CursorReset
from atelier.library.models import LibraryState, Record
from atelier.library.schemas import CREATED, Change

log = logging.getLogger("atelier.library")

ZERO_STAMP = "000000000000000-000000-0"
# A stamp this far past the server's clock is a broken client clock: it would win every later
# edit for that long, so it is refused (the client's clock moves on from the server's stamps).
MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000
MAX_RECORD_BYTES = 256 * 1024
MAX_PAGE = 5000
RESYNC = ("do a full resync: pull GET /v1/library/changes without `since`, merge, "
          "and push your local changes again")


def _stamp_of(stamps: dict[str, str], name: str) -> str:
    return stamps.get(name) or stamps.get(CREATED) or ZERO_STAMP


def merge_fields(fields: dict[str, Any], stamps: dict[str, str], change: Change
                 ) -> tuple[dict[str, Any], dict[str, str], bool]:
    """Per field, the value with the later stamp (ties: what is stored). Returns the merged
    fields and stamps, and whether anything changed."""
    out_f = dict(fields)
    out_s = dict(stamps)
    if CREATED not in out_s and CREATED in change.stamps:
        out_s[CREATED] = change.stamps[CREATED]
    changed = False
    names = (set(fields) | set(stamps) | set(change.fields) | set(change.stamps)) - {CREATED}
    for name in names:
        mine, theirs = _stamp_of(stamps, name), _stamp_of(change.stamps, name)
        if theirs > mine:
            changed = True
            if theirs != out_s.get(CREATED):  # a field at the creation stamp needs none of its own
                out_s[name] = theirs
            else:
                out_s.pop(name, None)
            if name in change.fields:
                out_f[name] = change.fields[name]
            else:
                out_f.pop(name, None)
    return out_f, out_s, changed


@dataclass
class PushResult:
    applied: int = 0
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)


class LibraryService:
    def __init__(self, engine: Engine, blobs: BlobStore):
        self.engine = engine
        self.blobs = blobs
        self.dialect = "postgresql" if engine.dialect.name.startswith("postgres") else "sqlite"
        # one writer at a time in this process; across processes, the state row's lock (below)
        self._write = threading.Lock()
        self._uploads: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def upload_lock(self, sha: str) -> AsyncIterator[None]:
        """One request at a time appends to a blob's upload (a retry racing its original waits)."""
        lock, users = self._uploads.get(sha, (asyncio.Lock(), 0))
        self._uploads[sha] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._uploads[sha]
            if users == 1:
                del self._uploads[sha]
            else:
                self._uploads[sha] = (lock, users - 1)

    @classmethod
    def open(cls, data_dir: Path, database_url: str | None, max_blob_bytes: int) -> LibraryService:
        engine = make_engine(database_url or sqlite_url(data_dir))
        migrate(engine)
        return cls(engine, BlobStore(data_dir / "library", max_blob_bytes))

    def close(self) -> None:
        self.engine.dispose()

    # --- records -------------------------------------------------------------------------------

    def _check(self, i: int, change: Change, now_ms: int) -> None:
        for name, stamp in [*change.stamps.items(), *([("deleted", change.deleted)] if change.deleted else [])]:
            if int(stamp[:15]) > now_ms + MAX_CLOCK_SKEW_MS:
                raise InvalidParameter(f"stamp {stamp!r} is more than a day ahead of the server's clock: "
                                       "set this device's clock right", param=f"changes[{i}].stamps.{name}")
        if change.deleted is None:
            for name in change.fields:
                if name != CREATED and name not in change.stamps and CREATED not in change.stamps:
                    raise InvalidParameter(f"field {name!r} has no stamp (and there is no creation stamp '$')",
                                           param=f"changes[{i}].stamps")
        if len(json.dumps(change.fields, separators=(",", ":"))) > MAX_RECORD_BYTES:
            raise InvalidParameter(f"record {change.id!r} is larger than {MAX_RECORD_BYTES // 1024} KB",
                                   param=f"changes[{i}].fields")

    def push(self, client_id: str, changes: list[Change]) -> PushResult:
        now_ms = int(time.time() * 1000)
        for i, ch in enumerate(changes):
            self._check(i, ch, now_ms)
        result = PushResult()
        with self._write, self.engine.begin() as conn:
            # Locks the state row until commit (PostgreSQL; SQLite's single writer does it anyway):
            # change numbers are handed out and committed in the same order.
            state = conn.execute(select(LibraryState.seq).where(LibraryState.id == 1).with_for_update()).one()
            seq = state.seq
            rows = {r.id: r for r in conn.execute(
                select(Record.id, Record.fields, Record.stamps, Record.deleted)
                .where(Record.id.in_({c.id for c in changes})))}
            table = Record.__table__
            for ch in changes:
                row = rows.get(ch.id)
                if row is not None and row.deleted:
                    result.unchanged += 1
                    result.deleted.append(ch.id)
                    continue
                if ch.deleted:
                    values: dict[str, Any] = {"fields": {}, "stamps": {}, "deleted": ch.deleted}
                else:
                    fields, stamps, changed = merge_fields(row.fields if row else {}, row.stamps if row else {}, ch)
                    if not changed:
                        result.unchanged += 1
                        continue
                    values = {"fields": fields, "stamps": stamps, "deleted": None}
                seq += 1
                values |= {"seq": seq, "client_id": client_id, "updated_ms": now_ms}
                if row is None:
                    conn.execute(table.insert().values(id=ch.id, **values))
                else:
                    conn.execute(table.update().where(table.c.id == ch.id).values(**values))
                rows[ch.id] = _Row(ch.id, values["fields"], values["stamps"], values["deleted"])
                result.applied += 1
                if ch.deleted:
                    result.deleted.append(ch.id)
            if seq != state.seq:
                conn.execute(LibraryState.__table__.update().where(LibraryState.id == 1).values(seq=seq))
        return result

    # --- the change feed -----------------------------------------------------------------------

    def state(self) -> tuple[str, int]:
        with self.engine.connect() as conn:
            row = conn.execute(select(LibraryState.epoch, LibraryState.seq).where(LibraryState.id == 1)).one()
        return row.epoch, row.seq

    def parse_cursor(self, since: str | None) -> tuple[str, int]:
        """(epoch, seq) to pull after. A cursor of another database, or from its future, means the
        database was reset or restored: 410 with the remedy."""
        epoch, seq = self.state()
        if not since:
            return epoch, 0
        theirs, _, n = since.partition(".")
        if len(theirs) != 32 or not n.isdigit() or len(n) > 18:
            raise InvalidParameter(f"since must be a cursor from a previous page ('<epoch>.<n>'), got {since[:80]!r}",
                                   param="since")
        if theirs != epoch or int(n) > seq:
            raise CursorReset(f"this cursor belongs to another copy of the library (the server's database "
                              f"was reset or restored): {RESYNC}", param="since")
        return epoch, int(n)

    def changes_json(self, epoch: str, since: int, limit: int) -> Iterator[bytes]:
        """One page of the change feed as JSON text, produced row by row from a server-side cursor:
        memory stays flat however large the page or the library."""
        limit = max(1, min(limit, MAX_PAGE))
        last = since
        n = 0
        has_more = False
        buf: list[str] = ['{"object":"list","data":[']
        size = len(buf[0])
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=500).execute(
                select(Record.id, Record.seq, Record.fields, Record.stamps, Record.deleted)
                .where(Record.seq > since).order_by(Record.seq).limit(limit + 1))
            for row in result:
                if n == limit:
                    has_more = True
                    break
                item = json.dumps({"id": row.id, "seq": row.seq, "fields": row.fields, "stamps": row.stamps,
                                   "deleted": row.deleted}, separators=(",", ":"), ensure_ascii=False)
                piece = item if n == 0 else "," + item
                buf.append(piece)
                size += len(piece)
                n += 1
                last = row.seq
                if size > 64 * 1024:
                    yield "".join(buf).encode()
                    buf, size = [], 0
            result.close()
        buf.append(f'],"cursor":"{epoch}.{last}","has_more":{"true" if has_more else "false"}}}')
        yield "".join(buf).encode()

    def summary(self) -> dict[str, Any]:
        epoch, seq = self.state()
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(Record)).scalar_one()
            deleted = conn.execute(select(func.count()).select_from(Record).where(Record.deleted.is_not(None))).scalar_one()
        return {"epoch": epoch, "seq": seq, "records": total - deleted, "deleted": deleted, "database": self.dialect}


@dataclass
class _Row:
    id: str
    fields: dict[str, Any]
    stamps: dict[str, str]
    deleted: str | None
