"""The first schema: records with their per-field stamps, tombstones, and the change counter.

Revision ID: 0001
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "library_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(state, [{"id": 1, "epoch": uuid.uuid4().hex, "seq": 0}])
    op.create_table(
        "library_records",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("stamps", sa.JSON, nullable=False),
        sa.Column("deleted", sa.String(96), nullable=True),
    )
    op.create_index("ix_library_records_seq", "library_records", ["seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_library_records_seq", "library_records")
    op.drop_table("library_records")
    op.drop_table("library_state")
