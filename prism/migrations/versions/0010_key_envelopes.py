"""Sync keys: data keys as envelopes sealed to each recipient; the keyring keeps only
public parameters, join verifiers and the sealed account card.

Revision ID: 0010
Revises: 0009

Keyrings written by 0007's passphrase wrap cannot be converted without the passphrase
(the relay never had it): they are dropped, and their accounts' devices, which hold the
data key, set a new passphrase (``prism sync passphrase``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keyring(*columns: sa.Column[object]) -> None:
    op.create_table(
        "relay_keyrings",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kdf", sa.JSON(), nullable=False),
        sa.Column("join_verifier", sa.String(length=64), nullable=False),
        *columns,
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_keyrings_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_relay_keyrings")),
    )


def upgrade() -> None:
    op.drop_table("relay_keyrings")
    _keyring(
        sa.Column("recovery_verifier", sa.String(length=64), nullable=True),
        sa.Column("account_card", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "relay_envelopes",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_relay_envelopes_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "recipient", "key_id", name=op.f("pk_relay_envelopes")),
    )


def downgrade() -> None:
    op.drop_table("relay_envelopes")
    op.drop_table("relay_keyrings")
    _keyring(
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
    )
