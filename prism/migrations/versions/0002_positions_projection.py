"""The positions projection: holdings read in time proportional to the holdings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import ExactDecimal, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("fifo_cost", ExactDecimal(), nullable=False),
        sa.Column("average_cost", ExactDecimal(), nullable=False),
        sa.Column("realized_fifo", ExactDecimal(), nullable=False),
        sa.Column("realized_average", ExactDecimal(), nullable=False),
        sa.Column("dividends", ExactDecimal(), nullable=False),
        sa.Column("overdrafts", sa.JSON(), nullable=False),
        sa.Column("consistent", sa.Boolean(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.Column("last_order", sa.BigInteger(), nullable=True),
        sa.Column("last_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("owner_id", "portfolio_id", "asset_id", name=op.f("pk_positions")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_positions_owner_id_asset_id"),
        "positions",
        ["owner_id", "asset_id"],
        unique=False,
    )
    op.create_table(
        "cash_balances",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", ExactDecimal(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "portfolio_id", "currency", name=op.f("pk_cash_balances")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "asset_states",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("last_order", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.String(length=36), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=True),
        sa.Column("price_currency", sa.String(length=3), nullable=True),
        sa.Column("price_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("owner_id", "asset_id", name=op.f("pk_asset_states")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "fx_rates",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("target", sa.String(length=3), nullable=False),
        sa.Column("rate", ExactDecimal(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("last_order", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "source", "target", name=op.f("pk_fx_rates")),
        sqlite_with_rowid=False,
    )
    # The projection is derived data: ask prism.migrations to rebuild it from the ledger.
    maintenance = sa.table(
        "maintenance_tasks",
        sa.column("task", sa.String),
        sa.column("created_at", UTCDateTime()),
    )
    op.bulk_insert(
        maintenance,
        [{"task": "rebuild_positions", "created_at": dt.datetime.now(dt.UTC)}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM maintenance_tasks WHERE task = 'rebuild_positions'")
    op.drop_table("fx_rates")
    op.drop_table("asset_states")
    op.drop_table("cash_balances")
    op.drop_index(op.f("ix_positions_owner_id_asset_id"), table_name="positions")
    op.drop_table("positions")
