"""Sync: changes for tables, columns or operations this schema does not know yet,
kept whole until an upgrade can apply them.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_held_changes",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=100), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("schema_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "hlc", "device_id", name=op.f("pk_sync_held_changes")),
    )


def downgrade() -> None:
    op.drop_table("sync_held_changes")
