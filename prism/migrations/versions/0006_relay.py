"""The blind relay: registered device keys and the opaque change sets of each account.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_devices",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_devices_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "device_id", name=op.f("pk_relay_devices")),
    )
    op.create_table(
        "relay_sets",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("set_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_sets_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_relay_sets")),
    )
    op.create_index(op.f("ix_relay_sets_account_id_set_id"), "relay_sets", ["account_id", "set_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_relay_sets_account_id_set_id"), table_name="relay_sets")
    op.drop_table("relay_sets")
    op.drop_table("relay_devices")
