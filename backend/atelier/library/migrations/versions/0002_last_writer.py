"""Who wrote a record last, and when (server clock): for support and for the status page.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("library_records") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("updated_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("library_records") as batch:
        batch.drop_column("updated_ms")
        batch.drop_column("client_id")
