"""The community hive: claims by per-epoch pseudonym, the old hive's tables as consensus,
the rotating pseudonym secret, the version counter, and a device's mirror and cache.

Nothing here has a column for an account, device, token, e-mail or address (docs/hive.md).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The hive's tables join the shared metadata Prism's schema test compares with.
import prism.storage.hive_tables  # noqa: F401
from prism.storage.types import ExactDecimal, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hive_aliases",
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("isin", sa.String(length=12), nullable=False),
        sa.Column("alias_type", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("confidence", ExactDecimal(), nullable=False),
        sa.Column("contributor_hash", sa.String(length=64), nullable=True),
        sa.Column("contributor_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alias", "isin", name=op.f("pk_hive_aliases")),
    )
    op.create_index(op.f("ix_hive_aliases_isin"), "hive_aliases", ["isin"], unique=False)
    op.create_index(op.f("ix_hive_aliases_version"), "hive_aliases", ["version"], unique=False)
    op.create_table(
        "hive_assets",
        sa.Column("isin", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("wkn", sa.String(length=12), nullable=True),
        sa.Column("asset_class", sa.String(length=8), nullable=True),
        sa.Column("base_currency", sa.String(length=3), nullable=True),
        sa.Column("sector", sa.String(length=50), nullable=True),
        sa.Column("geography", sa.String(length=50), nullable=True),
        sa.Column("enrichment_status", sa.String(length=8), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=False),
        sa.Column("consensus", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("isin", name=op.f("pk_hive_assets")),
    )
    op.create_index(op.f("ix_hive_assets_version"), "hive_assets", ["version"], unique=False)
    op.create_index(op.f("ix_hive_assets_wkn"), "hive_assets", ["wkn"], unique=False)
    op.create_table(
        "hive_cache",
        sa.Column("isin", sa.String(length=12), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("isin", name=op.f("pk_hive_cache")),
    )
    op.create_table(
        "hive_claims",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("confidence", ExactDecimal(), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "field", "pseudonym", name=op.f("pk_hive_claims")),
    )
    op.create_table(
        "hive_composition_claims",
        sa.Column("etf_isin", sa.String(length=12), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("holdings", sa.JSON(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("etf_isin", "pseudonym", name=op.f("pk_hive_composition_claims")),
    )
    op.create_table(
        "hive_contributions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("target_table", sa.String(length=30), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hive_contributions")),
    )
    op.create_table(
        "hive_epochs",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("epoch", name=op.f("pk_hive_epochs")),
    )
    op.create_table(
        "hive_etf_holdings",
        sa.Column("etf_isin", sa.String(length=12), nullable=False),
        sa.Column("holding_key", sa.String(length=200), nullable=False),
        sa.Column("holding_isin", sa.String(length=12), nullable=True),
        sa.Column("holding_name", sa.String(length=200), nullable=True),
        sa.Column("weight", ExactDecimal(), nullable=False),
        sa.Column("confidence_score", ExactDecimal(), nullable=False),
        sa.Column("last_updated", sa.Date(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("sector", sa.String(length=50), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("asset_class", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("etf_isin", "holding_key", name=op.f("pk_hive_etf_holdings")),
    )
    op.create_index(op.f("ix_hive_etf_holdings_holding_isin"), "hive_etf_holdings", ["holding_isin"], unique=False)
    op.create_table(
        "hive_funds",
        sa.Column("etf_isin", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("holdings_count", sa.Integer(), nullable=False),
        sa.Column("confidence", ExactDecimal(), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("etf_isin", name=op.f("pk_hive_funds")),
    )
    op.create_index(op.f("ix_hive_funds_version"), "hive_funds", ["version"], unique=False)
    op.create_table(
        "hive_listings",
        sa.Column("ticker", sa.String(length=30), nullable=False),
        sa.Column("exchange", sa.String(length=10), nullable=False),
        sa.Column("isin", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("confidence", ExactDecimal(), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ticker", "exchange", name=op.f("pk_hive_listings")),
    )
    op.create_index(op.f("ix_hive_listings_isin"), "hive_listings", ["isin"], unique=False)
    op.create_index(op.f("ix_hive_listings_version"), "hive_listings", ["version"], unique=False)
    op.create_table(
        "hive_mirror",
        sa.Column("hive", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hive", name=op.f("pk_hive_mirror")),
    )
    op.create_table(
        "hive_provider_mappings",
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("provider_id", sa.String(length=50), nullable=False),
        sa.Column("isin", sa.String(length=12), nullable=False),
        sa.Column("confidence", ExactDecimal(), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "provider_id", name=op.f("pk_hive_provider_mappings")),
    )
    op.create_index(op.f("ix_hive_provider_mappings_isin"), "hive_provider_mappings", ["isin"], unique=False)
    op.create_index(op.f("ix_hive_provider_mappings_version"), "hive_provider_mappings", ["version"], unique=False)
    op.create_table(
        "hive_versions",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_hive_versions")),
    )


def downgrade() -> None:
    op.drop_table("hive_versions")
    op.drop_index(op.f("ix_hive_provider_mappings_version"), table_name="hive_provider_mappings")
    op.drop_index(op.f("ix_hive_provider_mappings_isin"), table_name="hive_provider_mappings")
    op.drop_table("hive_provider_mappings")
    op.drop_table("hive_mirror")
    op.drop_index(op.f("ix_hive_listings_version"), table_name="hive_listings")
    op.drop_index(op.f("ix_hive_listings_isin"), table_name="hive_listings")
    op.drop_table("hive_listings")
    op.drop_index(op.f("ix_hive_funds_version"), table_name="hive_funds")
    op.drop_table("hive_funds")
    op.drop_index(op.f("ix_hive_etf_holdings_holding_isin"), table_name="hive_etf_holdings")
    op.drop_table("hive_etf_holdings")
    op.drop_table("hive_epochs")
    op.drop_table("hive_contributions")
    op.drop_table("hive_composition_claims")
    op.drop_table("hive_claims")
    op.drop_table("hive_cache")
    op.drop_index(op.f("ix_hive_assets_wkn"), table_name="hive_assets")
    op.drop_index(op.f("ix_hive_assets_version"), table_name="hive_assets")
    op.drop_table("hive_assets")
    op.drop_index(op.f("ix_hive_aliases_version"), table_name="hive_aliases")
    op.drop_index(op.f("ix_hive_aliases_isin"), table_name="hive_aliases")
    op.drop_table("hive_aliases")
