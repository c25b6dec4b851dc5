"""The blind relay: sealed snapshots of an account's synced state, for compaction and
fast bootstrap (docs/sync-protocol.md §10).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_snapshots",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("covers_seq", sa.BigInteger(), nullable=True),
        sa.Column("chunks", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_snapshots_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "snapshot_id", name=op.f("pk_relay_snapshots")),
    )
    op.create_table(
        "relay_snapshot_chunks",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("chunk", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "snapshot_id"],
            ["relay_snapshots.account_id", "relay_snapshots.snapshot_id"],
            name=op.f("fk_relay_snapshot_chunks_account_id_relay_snapshots"),
        ),
        sa.PrimaryKeyConstraint("account_id", "snapshot_id", "chunk", name=op.f("pk_relay_snapshot_chunks")),
    )


def downgrade() -> None:
    op.drop_table("relay_snapshot_chunks")
    op.drop_table("relay_snapshots")
