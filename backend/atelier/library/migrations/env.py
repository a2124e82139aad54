"""Alembic's entry point, run by atelier.library.db.migrate() with a live connection (never by a
config file: the app owns the URL)."""

from __future__ import annotations

from alembic import context

from atelier.library.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
