"""The relational schema, as SQLAlchemy Core tables (one ``MetaData``).

Rules (``docs/architecture.md``): ids are made on the device (no autoincrement);
every user table carries ``owner_id``, and every key and foreign key includes it;
synced tables are soft-deleted through ``deleted_at``; foreign keys are deferred to
commit so merged rows may arrive in any order within one transaction. Alembic
revisions in ``prism.migrations`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from prism.storage.types import ExactDecimal, Id, UTCDateTime

__all__ = [
    "SYNCED_TABLES",
    "accounts",
    "alert_events",
    "alert_rules",
    "api_tokens",
    "asset_states",
    "assets",
    "cash_balances",
    "changes",
    "clock_states",
    "fx_rates",
    "maintenance_tasks",
    "metadata",
    "notes",
    "portfolios",
    "positions",
    "rate_limits",
    "relay_devices",
    "relay_envelopes",
    "relay_keyrings",
    "relay_sets",
    "relay_snapshot_chunks",
    "relay_snapshots",
    "settings",
    "sync_conflicts",
    "sync_held_changes",
    "sync_held_sets",
    "sync_links",
    "sync_outbox",
    "sync_peers",
    "sync_pending",
    "taggings",
    "tags",
    "transactions",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _owned(name: str, *, refers_to: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["owner_id", name],
        [f"{refers_to}.owner_id", f"{refers_to}.id"],
        deferrable=True,
        initially="DEFERRED",
    )


def _owner() -> Column[object]:
    return Column("owner_id", Id, nullable=False, primary_key=True)


def _stamps() -> list[Column[object]]:
    return [
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("deleted_at", UTCDateTime, nullable=True),
    ]


def _owner_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["owner_id"], ["accounts.id"], deferrable=True, initially="DEFERRED")


accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    _owner(),
    Column("key", String(100), primary_key=True),
    Column("value_type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    *_stamps(),
    _owner_fk(),
)

assets = Table(
    "assets",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("isin", String(12), nullable=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("ticker", String(40), nullable=True),
    Column("exchange", String(40), nullable=True),
    Column("metadata", JSON, nullable=False),
    *_stamps(),
    _owner_fk(),
    Index(None, "owner_id", "isin", unique=True),
)

portfolios = Table(
    "portfolios",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("base_currency", String(3), nullable=False),
    *_stamps(),
    _owner_fk(),
)

transactions = Table(
    "transactions",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("portfolio_id", Id, nullable=False),
    Column("type", String(16), nullable=False),
    Column("date", Date, nullable=False),
    Column("entry_order", BigInteger, nullable=False),
    Column("asset_id", Id, nullable=True),
    Column("quantity", ExactDecimal, nullable=True),
    Column("price", ExactDecimal, nullable=True),
    Column("amount", ExactDecimal, nullable=True),
    Column("fee", ExactDecimal, nullable=False),
    Column("tax", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("fx_rate", ExactDecimal, nullable=True),
    Column("ratio", ExactDecimal, nullable=True),
    Column("target_portfolio_id", Id, nullable=True),
    Column("source", String(100), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("note", Text, nullable=True),
    *_stamps(),
    _owner_fk(),
    _owned("portfolio_id", refers_to="portfolios"),
    _owned("target_portfolio_id", refers_to="portfolios"),
    _owned("asset_id", refers_to="assets"),
    Index(None, "owner_id", "asset_id", "date", "entry_order"),
    Index(None, "owner_id", "portfolio_id", "date", "entry_order"),
    Index(None, "owner_id", "source", "external_id"),
)

notes = Table(
    "notes",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("entity_type", String(16), nullable=True),
    Column("entity_id", Id, nullable=True),
    Column("title", String(300), nullable=True),
    Column("body", Text, nullable=False),
    *_stamps(),
    _owner_fk(),
    Index(None, "owner_id", "entity_type", "entity_id"),
)

tags = Table(
    "tags",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("color", String(16), nullable=True),
    *_stamps(),
    _owner_fk(),
)

taggings = Table(
    "taggings",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("tag_id", Id, nullable=False),
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", Id, nullable=False),
    *_stamps(),
    _owner_fk(),
    _owned("tag_id", refers_to="tags"),
    Index(None, "owner_id", "entity_type", "entity_id"),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("asset_id", Id, nullable=True),
    Column("portfolio_id", Id, nullable=True),
    Column("condition", String(32), nullable=False),
    Column("threshold", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("note", Text, nullable=True),
    *_stamps(),
    _owner_fk(),
    _owned("asset_id", refers_to="assets"),
    _owned("portfolio_id", refers_to="portfolios"),
)

# --- the positions projection: derived, rebuildable, never synced ---------------

positions = Table(
    "positions",
    metadata,
    _owner(),
    Column("portfolio_id", Id, primary_key=True),
    Column("asset_id", Id, primary_key=True),
    Column("quantity", ExactDecimal, nullable=False),
    Column("lots", JSON, nullable=False),
    Column("fifo_cost", ExactDecimal, nullable=False),
    Column("average_cost", ExactDecimal, nullable=False),
    Column("realized_fifo", ExactDecimal, nullable=False),
    Column("realized_average", ExactDecimal, nullable=False),
    Column("dividends", ExactDecimal, nullable=False),
    Column("overdrafts", JSON, nullable=False),
    Column("consistent", Boolean, nullable=False),
    Column("last_date", Date, nullable=True),
    Column("last_order", BigInteger, nullable=True),
    Column("last_id", String(36), nullable=True),
    Index(None, "owner_id", "asset_id"),
    sqlite_with_rowid=False,
)

cash_balances = Table(
    "cash_balances",
    metadata,
    _owner(),
    Column("portfolio_id", Id, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("balance", ExactDecimal, nullable=False),
    sqlite_with_rowid=False,
)

asset_states = Table(
    "asset_states",
    metadata,
    _owner(),
    Column("asset_id", Id, primary_key=True),
    Column("last_date", Date, nullable=False),
    Column("last_order", BigInteger, nullable=False),
    Column("last_id", String(36), nullable=False),
    Column("price", ExactDecimal, nullable=True),
    Column("price_currency", String(3), nullable=True),
    Column("price_date", Date, nullable=True),
    sqlite_with_rowid=False,
)

fx_rates = Table(
    "fx_rates",
    metadata,
    _owner(),
    Column("source", String(3), primary_key=True),
    Column("target", String(3), primary_key=True),
    Column("rate", ExactDecimal, nullable=False),
    Column("last_date", Date, nullable=False),
    Column("last_order", BigInteger, nullable=False),
    Column("last_id", String(36), nullable=False),
    sqlite_with_rowid=False,
)

# --- change capture: the sync log and audit trail (docs/sync-protocol.md) ---------

clock_states = Table(
    "clock_states",
    metadata,
    Column("owner_id", Id, primary_key=True),
    Column("device_id", String(16), nullable=False),
    Column("last_hlc", BigInteger, nullable=False),
)

changes = Table(
    "changes",
    metadata,
    _owner(),
    Column("hlc", BigInteger, primary_key=True),
    Column("device_id", String(16), primary_key=True),
    Column("table_name", String(32), nullable=False),
    Column("row_id", String(100), nullable=False),
    Column("op", String(8), nullable=False),
    Column("columns", JSON, nullable=False),
    Index(None, "owner_id", "table_name", "row_id"),
)

sync_conflicts = Table(
    "sync_conflicts",
    metadata,
    _owner(),
    Column("id", Id, primary_key=True),
    Column("table_name", String(32), nullable=False),
    Column("row_id", String(100), nullable=False),
    Column("column_name", String(64), nullable=False),
    Column("value", JSON, nullable=True),
    Column("hlc", BigInteger, nullable=False),
    Column("device_id", String(16), nullable=False),
    Column("winner_hlc", BigInteger, nullable=False),
    Column("winner_device_id", String(16), nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
)

#: Logged rows a merge could not bring in yet (a required column or a referenced row
#: is missing): retried when what they wait for arrives, so no merge scans the log.
sync_pending = Table(
    "sync_pending",
    metadata,
    _owner(),
    Column("table_name", String(32), primary_key=True),
    Column("row_id", String(100), primary_key=True),
)

# --- the blind relay: device keys and opaque change sets per account ---------------

relay_devices = Table(
    "relay_devices",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("device_id", String(16), primary_key=True),
    Column("verify_key", String(64), nullable=False),
    Column("card", LargeBinary, nullable=True),  # sealed under the data key: the relay cannot forge one
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

relay_keyrings = Table(
    "relay_keyrings",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("kdf", JSON, nullable=False),  # public Argon2id parameters and salt
    Column("join_verifier", String(64), nullable=False),  # SHA-256 of the passphrase's join token
    Column("recovery_verifier", String(64), nullable=True),  # SHA-256 of the recovery key's join token
    Column("account_card", LargeBinary, nullable=False),  # recipients' public keys, sealed under the data key
    Column("updated_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

relay_envelopes = Table(
    "relay_envelopes",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("recipient", String(40), primary_key=True),  # "passphrase", "recovery", "device:<id>"
    Column("key_id", String(32), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),  # a sealed box only the recipient can open
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

relay_sets = Table(
    "relay_sets",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("set_id", Id, nullable=False),
    Column("device_id", String(16), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index(None, "account_id", "set_id", unique=True),
)

relay_snapshots = Table(
    "relay_snapshots",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("snapshot_id", Id, primary_key=True),
    Column("device_id", String(16), nullable=False),  # the device uploading it
    Column("covers_seq", BigInteger, nullable=True),  # set on completion: relay sets up to here are inside
    Column("chunks", BigInteger, nullable=True),  # set on completion
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),  # None while the upload is unfinished
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
)

relay_snapshot_chunks = Table(
    "relay_snapshot_chunks",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("snapshot_id", Id, primary_key=True),
    Column("chunk", BigInteger, primary_key=True),
    Column("body", LargeBinary, nullable=False),  # sealed like a change set, under a snapshot header
    ForeignKeyConstraint(["account_id", "snapshot_id"], ["relay_snapshots.account_id", "relay_snapshots.snapshot_id"]),
)

# --- a device's link to its relay (never synced: per device) ------------------------

sync_links = Table(
    "sync_links",
    metadata,
    _owner(),
    Column("relay_url", String(400), nullable=False),
    Column("account_id", Id, nullable=False),
    Column("pushed_hlc", BigInteger, nullable=False),  # own changes up to here are sealed in the outbox
    Column("device_seq", BigInteger, nullable=False),  # the last sequence this device sealed
    Column("relay_cursor", BigInteger, nullable=False),  # relay sets up to here are processed
    ForeignKeyConstraint(["owner_id"], ["accounts.id"]),
)

sync_outbox = Table(
    "sync_outbox",
    metadata,
    _owner(),
    Column("device_seq", BigInteger, primary_key=True),
    Column("set_id", Id, nullable=False),
    Column("changes", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

sync_peers = Table(
    "sync_peers",
    metadata,
    _owner(),
    Column("device_id", String(16), primary_key=True),
    Column("verify_key", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),  # the last change set applied from this device
)

sync_held_changes = Table(
    "sync_held_changes",
    metadata,
    _owner(),
    Column("hlc", BigInteger, primary_key=True),
    Column("device_id", String(16), primary_key=True),
    Column("table_name", String(64), nullable=False),
    Column("row_id", String(100), nullable=False),
    Column("op", String(16), nullable=False),
    Column("columns", JSON, nullable=False),
    Column("schema_version", String(32), nullable=False),  # the sender's
)

sync_held_sets = Table(
    "sync_held_sets",
    metadata,
    _owner(),
    Column("device_id", String(16), primary_key=True),
    Column("device_seq", BigInteger, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)

# --- hosted mode: sign-in identities, API tokens, shared rate-limit counters ------

users = Table(
    "users",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"]),
    Index(None, "email", unique=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("owner_id", Id, nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("scopes", JSON, nullable=True),  # None: every scope (sign-in tokens); see prism/api/scopes.py
    Column("portfolio_id", Id, nullable=True),  # the one portfolio a limited token may touch
    ForeignKeyConstraint(["owner_id"], ["accounts.id"]),
    Index(None, "token_hash", unique=True),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

maintenance_tasks = Table(
    "maintenance_tasks",
    metadata,
    Column("task", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Tables whose rows travel between devices (the sync issue captures their writes).
SYNCED_TABLES = (
    settings,
    assets,
    portfolios,
    transactions,
    notes,
    tags,
    taggings,
    alert_rules,
)

# --- alert events: derived from alert rules and market prices, never synced ----------

#: What an alert rule found, at most once per rule and day (``prism.analytics.alerts``).
alert_events = Table(
    "alert_events",
    metadata,
    _owner(),
    Column("rule_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("condition", String(32), nullable=False),
    Column("threshold", ExactDecimal, nullable=False),
    Column("observed", ExactDecimal, nullable=False),  # the price, value or daily change in percent
    Column("currency", String(3), nullable=True),  # of the observed price or value
    Column("asset_id", Id, nullable=True),
    Column("portfolio_id", Id, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "owner_id", "created_at"),
)
