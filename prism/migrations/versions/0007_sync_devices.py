"""Sync devices: the relay's wrapped keys and device cards; a device's link, outbox,
peers and held change sets.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from prism.storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner_key(table: str, *columns: str) -> list[SchemaItem]:
    return [
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", *columns, name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    with op.batch_alter_table("relay_devices") as batch:
        batch.add_column(sa.Column("card", sa.LargeBinary(), nullable=True))
    op.create_table(
        "relay_keyrings",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("kdf", sa.JSON(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("join_verifier", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_keyrings_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_relay_keyrings")),
    )
    op.create_table(
        "sync_links",
        sa.Column("relay_url", sa.String(length=400), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("pushed_hlc", sa.BigInteger(), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("relay_cursor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["accounts.id"], name=op.f("fk_sync_links_owner_id_accounts")),
        *_owner_key("sync_links"),
    )
    op.create_table(
        "sync_outbox",
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("set_id", sa.Uuid(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        *_owner_key("sync_outbox", "device_seq"),
    )
    op.create_table(
        "sync_peers",
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        *_owner_key("sync_peers", "device_id"),
    )
    op.create_table(
        "sync_held_sets",
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        *_owner_key("sync_held_sets", "device_id", "device_seq"),
    )


def downgrade() -> None:
    for table in ("sync_held_sets", "sync_peers", "sync_outbox", "sync_links", "relay_keyrings"):
        op.drop_table(table)
    with op.batch_alter_table("relay_devices") as batch:
        batch.drop_column("card")
