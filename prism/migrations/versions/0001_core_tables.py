"""Core tables: accounts, the ledger and what annotates it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import ExactDecimal, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "maintenance_tasks",
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("task", name=op.f("pk_maintenance_tasks")),
    )
    op.create_table(
        "assets",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("isin", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ticker", sa.String(length=40), nullable=True),
        sa.Column("exchange", sa.String(length=40), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_assets_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_assets")),
    )
    op.create_index(op.f("ix_assets_owner_id_isin"), "assets", ["owner_id", "isin"], unique=True)
    op.create_table(
        "portfolios",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_portfolios_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_portfolios")),
    )
    op.create_table(
        "settings",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_settings_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "key", name=op.f("pk_settings")),
    )
    op.create_table(
        "notes",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=True),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_notes_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_notes")),
    )
    op.create_index(
        op.f("ix_notes_owner_id_entity_type_entity_id"),
        "notes",
        ["owner_id", "entity_type", "entity_id"],
        unique=False,
    )
    op.create_table(
        "tags",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_tags_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_tags")),
    )
    op.create_table(
        "alert_rules",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("threshold", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id", "asset_id"],
            ["assets.owner_id", "assets.id"],
            name=op.f("fk_alert_rules_owner_id_asset_id_assets"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "portfolio_id"],
            ["portfolios.owner_id", "portfolios.id"],
            name=op.f("fk_alert_rules_owner_id_portfolio_id_portfolios"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_alert_rules_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_alert_rules")),
    )
    op.create_table(
        "taggings",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id", "tag_id"],
            ["tags.owner_id", "tags.id"],
            name=op.f("fk_taggings_owner_id_tag_id_tags"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_taggings_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_taggings")),
    )
    op.create_index(
        op.f("ix_taggings_owner_id_entity_type_entity_id"),
        "taggings",
        ["owner_id", "entity_type", "entity_id"],
        unique=False,
    )
    op.create_table(
        "transactions",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("entry_order", sa.BigInteger(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("quantity", ExactDecimal(), nullable=True),
        sa.Column("price", ExactDecimal(), nullable=True),
        sa.Column("amount", ExactDecimal(), nullable=True),
        sa.Column("fee", ExactDecimal(), nullable=False),
        sa.Column("tax", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fx_rate", ExactDecimal(), nullable=True),
        sa.Column("ratio", ExactDecimal(), nullable=True),
        sa.Column("target_portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id", "asset_id"],
            ["assets.owner_id", "assets.id"],
            name=op.f("fk_transactions_owner_id_asset_id_assets"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "portfolio_id"],
            ["portfolios.owner_id", "portfolios.id"],
            name=op.f("fk_transactions_owner_id_portfolio_id_portfolios"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "target_portfolio_id"],
            ["portfolios.owner_id", "portfolios.id"],
            name=op.f("fk_transactions_owner_id_target_portfolio_id_portfolios"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_transactions_owner_id_accounts"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("owner_id", "id", name=op.f("pk_transactions")),
    )
    op.create_index(
        op.f("ix_transactions_owner_id_asset_id_date_entry_order"),
        "transactions",
        ["owner_id", "asset_id", "date", "entry_order"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transactions_owner_id_portfolio_id_date_entry_order"),
        "transactions",
        ["owner_id", "portfolio_id", "date", "entry_order"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transactions_owner_id_source_external_id"),
        "transactions",
        ["owner_id", "source", "external_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_transactions_owner_id_asset_id_date_entry_order"),
        table_name="transactions",
    )
    op.drop_index(
        op.f("ix_transactions_owner_id_portfolio_id_date_entry_order"),
        table_name="transactions",
    )
    op.drop_index(op.f("ix_transactions_owner_id_source_external_id"), table_name="transactions")
    op.drop_table("transactions")
    op.drop_index(op.f("ix_taggings_owner_id_entity_type_entity_id"), table_name="taggings")
    op.drop_table("taggings")
    op.drop_table("alert_rules")
    op.drop_table("tags")
    op.drop_index(op.f("ix_notes_owner_id_entity_type_entity_id"), table_name="notes")
    op.drop_table("notes")
    op.drop_table("settings")
    op.drop_table("portfolios")
    op.drop_index(op.f("ix_assets_owner_id_isin"), table_name="assets")
    op.drop_table("assets")
    op.drop_table("maintenance_tasks")
    op.drop_table("accounts")
