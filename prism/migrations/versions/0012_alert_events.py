"""Alert events: what an alert rule found when prices arrived, once per rule and day.

Derived (from alert rules and the lake's prices), owner-scoped and never synced.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from prism.storage.types import ExactDecimal, UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("threshold", ExactDecimal(), nullable=False),
        sa.Column("observed", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "rule_id", "day", name=op.f("pk_alert_events")),
    )
    op.create_index(
        op.f("ix_alert_events_owner_id_created_at"), "alert_events", ["owner_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_events_owner_id_created_at"), table_name="alert_events")
    op.drop_table("alert_events")
