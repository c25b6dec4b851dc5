"""Sync: the conflicts log of concurrent edits that lost a last-writer-wins merge.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_conflicts",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.String(length=100), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("winner_hlc", sa.BigInteger(), nullable=False),
        sa.Column("winner_device_id", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_sync_conflicts")),
    )


def downgrade() -> None:
    op.drop_table("sync_conflicts")
