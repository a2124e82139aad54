"""The schema is versioned: a database made by the first migration upgrades with its data, and
the newest migration matches the models the code queries with."""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from atelier.library.blobs import BlobStore
from atelier.library.db import current_revision, head_revision, make_engine, migrate, sqlite_url
from atelier.library.models import Base
from atelier.library.schemas import Change
from atelier.library.service import LibraryService

NOW = int(time.time() * 1000)


def engine_for(database_url, tmp_path):
    return make_engine(database_url or sqlite_url(tmp_path / "data"))


def test_a_database_of_the_first_version_upgrades_with_its_records(database_url, tmp_path):
    engine = engine_for(database_url, tmp_path)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:  # a record as version 0001 wrote it
        conn.execute(sa.text("INSERT INTO library_records (id, seq, fields, stamps, deleted) VALUES "
                             "('old', 1, :f, :s, NULL)"),
                     {"f": '{"name": "old.png", "rating": 2}', "s": f'{{"$": "{NOW:015d}-000000-c1"}}'})
        conn.execute(sa.text("UPDATE library_state SET seq = 1"))
        epoch = conn.execute(sa.text("SELECT epoch FROM library_state")).scalar_one()
    migrate(engine)
    assert current_revision(engine) == head_revision() != "0001"
    lib = LibraryService(engine, BlobStore(tmp_path / "blobs", 1 << 20))
    assert lib.state() == (epoch, 1)  # cursors handed out before the upgrade stay valid
    r = lib.push("c2", [Change(id="old", fields={"rating": 5}, stamps={"rating": f"{NOW + 1:015d}-000000-c2"})])
    assert r.applied == 1
    page = __import__("json").loads(b"".join(lib.changes_json(epoch, 0, 10)))
    assert page["data"][0]["fields"] == {"name": "old.png", "rating": 5}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT client_id FROM library_records")).scalar_one() == "c2"
    engine.dispose()


def test_the_newest_migration_matches_the_models(database_url, tmp_path):
    engine = engine_for(database_url, tmp_path)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()
