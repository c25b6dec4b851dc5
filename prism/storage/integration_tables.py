"""Webhooks and their deliveries, declared on the one shared ``MetaData`` (docs/tokens-and-webhooks.md).

* ``webhooks``: a registered URL, the scopes whose changes it receives, its signing
  secret, where in the change feed it has got to, and its run of failed attempts
  (the hook is disabled when the run reaches the limit);
* ``webhook_deliveries``: one batch of changes to send to one hook; pending rows are
  claimed with a lease (``lease_until``), so any replica may deliver and a replica
  that dies mid-delivery leaves the row to another once the lease runs out;
* ``webhook_attempts``: every HTTP attempt of a delivery, with its outcome.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKeyConstraint, Index, Integer, String, Table, Text

from prism.storage.tables import metadata
from prism.storage.types import Id, UTCDateTime

__all__ = ["INTEGRATION_TABLES", "webhook_attempts", "webhook_deliveries", "webhooks"]

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("owner_id", Id, nullable=False),
    Column("url", String(2000), nullable=False),
    Column("scopes", JSON, nullable=False),
    # Kept as is, not hashed: the server signs with it on every delivery.
    Column("secret", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("failures", Integer, nullable=False),  # consecutive failed attempts
    Column("after_hlc", BigInteger, nullable=False),  # the change feed position already queued
    Column("after_device", String(16), nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["owner_id"], ["accounts.id"]),
    Index(None, "owner_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("webhook_id", Id, nullable=False),
    Column("owner_id", Id, nullable=False),
    Column("payload", Text, nullable=False),  # the exact JSON body that is signed and sent
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["webhook_id"], ["webhooks.id"]),
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", Id, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no HTTP answer at all
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"]),
)

INTEGRATION_TABLES = (webhooks, webhook_deliveries, webhook_attempts)
