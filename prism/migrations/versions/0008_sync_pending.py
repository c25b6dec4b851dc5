"""Sync: rows a merge holds back, so a merge no longer scans the whole log to find them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SYNCED = ("settings", "assets", "portfolios", "transactions", "notes", "tags", "taggings", "alert_rules")


def _stored(connection: sa.Connection, name: str) -> set[tuple[uuid.UUID, str]]:
    key = "key" if name == "settings" else "id"
    table = sa.table(name, sa.column("owner_id", sa.Uuid()), sa.column(key, sa.String() if key == "key" else sa.Uuid()))
    return {(owner, str(ident)) for owner, ident in connection.execute(sa.select(table.c.owner_id, table.c[key]))}


def upgrade() -> None:
    pending = op.create_table(
        "sync_pending",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "table_name", "row_id", name=op.f("pk_sync_pending")),
    )
    # Rows already held back sit in the log with no row in their table: record them.
    connection = op.get_bind()
    log = sa.table(
        "changes",
        sa.column("owner_id", sa.Uuid()),
        sa.column("table_name", sa.String()),
        sa.column("row_id", sa.String()),
    )
    logged = connection.execute(sa.select(log.c.owner_id, log.c.table_name, log.c.row_id).distinct()).all()
    stored = {name: _stored(connection, name) for name in _SYNCED}
    rows = [
        {"owner_id": owner, "table_name": name, "row_id": row_id}
        for owner, name, row_id in logged
        if name in stored and (owner, row_id) not in stored[name]
    ]
    if rows:
        op.bulk_insert(pending, rows)


def downgrade() -> None:
    op.drop_table("sync_pending")
