"""The library's tables (SQLAlchemy 2). The schema itself is made by the Alembic migrations in
./migrations: these classes describe it for queries and must match the newest migration (a test
compares the two).

A record is schema-free on the server: `fields` holds the browser's record as JSON (whatever
fields the app has, so a new field syncs without a server change) and `stamps` each field's
hybrid-logical-clock stamp (`$`: the creation stamp, for fields not written since). `seq` orders
the change feed: every change to a row takes the next number of `library_state.seq`, assigned
while that row is locked, so changes commit in `seq` order and a pull by cursor misses none.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class LibraryState(Base):
    """One row: the database's epoch (new for every new database: a cursor from another one is
    refused, and the client resyncs from scratch) and the last change number handed out."""

    __tablename__ = "library_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)


class Record(Base):
    __tablename__ = "library_records"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True, unique=True)
    fields: Mapped[dict] = mapped_column(JSON)
    stamps: Mapped[dict] = mapped_column(JSON)
    # the deletion's stamp: a tombstone (fields emptied) that no later edit brings back
    deleted: Mapped[str | None] = mapped_column(String(96), nullable=True)
    # migration 0002: the client whose change was applied last, and when (server clock, epoch ms)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
