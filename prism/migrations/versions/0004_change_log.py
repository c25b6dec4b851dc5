"""Change capture: the per-device clock state and the change log (sync and audit).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock_states",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("last_hlc", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_clock_states")),
    )
    op.create_table(
        "changes",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.String(length=100), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "hlc", "device_id", name=op.f("pk_changes")),
    )
    op.create_index(
        op.f("ix_changes_owner_id_table_name_row_id"), "changes", ["owner_id", "table_name", "row_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_changes_owner_id_table_name_row_id"), table_name="changes")
    op.drop_table("changes")
    op.drop_table("clock_states")
