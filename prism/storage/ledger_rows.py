"""Inserting many new ledger rows and their change-log entries at once.

Each row is logged as :func:`~prism.storage.changes.capture_inserts` logs it (every
column but the stamps, consecutive HLCs of this device). On SQLite the rows and the
log go through the DB-API cursor's ``executemany`` with values in their stored form
(:mod:`prism.storage.stored_rows`): the columns' own bind processors, memoized for
columns whose values repeat, and the log's JSON written by msgspec in one pass. That
is the same stored bytes as a Core insert at a fraction of SQLAlchemy's per-row,
per-parameter cost. PostgreSQL (asyncpg) takes the Core path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Connection

from prism.domain.ledger import LedgerEntry
from prism.domain.money import canonical
from prism.storage.changes import NOT_CHANGES, capture_inserts, read_clock
from prism.storage.entries import entry_values
from prism.storage.ledger import EntryDetails
from prism.storage.stored_rows import Convert, Memo, sqlite_insert, stored
from prism.storage.tables import changes, transactions

__all__ = ["LedgerRows"]

#: Columns whose values are (nearly) unique per row: converted, never memoized.
_UNIQUE = frozenset({"id", "entry_order", "external_id", "note"})
_json = msgspec.json.Encoder()
Row = tuple[LedgerEntry, EntryDetails]
_LOGGED = (
    *("id", "portfolio_id", "type", "date", "entry_order", "currency", "asset_id", "quantity", "price", "amount"),
    *("fee", "tax", "fx_rate", "ratio", "target_portfolio_id", "owner_id", "source", "external_id", "note"),
)


def _values(owner_id: uuid.UUID, now: dt.datetime, entry: LedgerEntry, details: EntryDetails) -> dict[str, Any]:
    return {
        **entry_values(entry),
        "owner_id": owner_id,
        "source": details.source,
        "external_id": details.external_id,
        "note": details.note,
        "created_at": now,
        "updated_at": now,
    }


class LedgerRows:
    """Inserts of one bulk recording: new ledger rows, each logged as an insert."""

    def __init__(self, connection: Connection) -> None:
        self._sqlite = _SqliteWriter(connection) if connection.dialect.name == "sqlite" else None

    def insert(self, connection: Connection, owner_id: uuid.UUID, now: dt.datetime, rows: Sequence[Row]) -> None:
        """Insert ``rows`` (new entries) and log each, in the caller's transaction."""
        if not rows:
            return
        if self._sqlite is not None:
            self._sqlite.write(connection, owner_id, now, rows)
            return
        values = [_values(owner_id, now, entry, details) for entry, details in rows]
        connection.execute(transactions.insert(), values)
        capture_inserts(connection, owner_id, "transactions", [(row["id"], row) for row in values])


def _wire(value: Any) -> Any:
    """:func:`~prism.storage.changes.wire_value` for the types a ledger row holds."""
    if isinstance(value, Decimal):
        return canonical(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _SqliteWriter:
    """Stored-form conversions of one connection's ledger inserts (memoized per column)."""

    def __init__(self, connection: Connection) -> None:
        self.sql, self.order = sqlite_insert(connection, transactions)
        self.log_sql, log_order = sqlite_insert(connection, changes)
        assert log_order == ("owner_id", "hlc", "device_id", "table_name", "row_id", "op", "columns"), log_order
        self.store: list[Convert] = []
        for name in self.order:
            convert = stored(connection, transactions.c[name])
            self.store.append(convert if name in _UNIQUE else Memo(convert).__getitem__)
        #: The logged columns: a row's values but the stamps, in :func:`_values`'s order.
        self.logged = [name for name in _LOGGED if name not in NOT_CHANGES]
        self.wire: dict[str, Callable[[Any], Any]] = {
            name: _wire if name in _UNIQUE else Memo(_wire).__getitem__ for name in self.logged
        }
        self.owner = stored(connection, changes.c.owner_id)

    def write(self, connection: Connection, owner_id: uuid.UUID, now: dt.datetime, rows: Sequence[Row]) -> None:
        order, store, logged, wire = self.order, self.store, self.logged, self.wire
        clock = read_clock(connection, owner_id)
        owner = self.owner(owner_id)
        table_rows: list[tuple[Any, ...]] = []
        log_rows: list[tuple[Any, ...]] = []
        encode = _json.encode
        for entry, details in rows:
            values = _values(owner_id, now, entry, details)
            table_rows.append(tuple([convert(values.get(name)) for name, convert in zip(order, store, strict=True)]))
            columns = {name: wire[name](values[name]) for name in logged}
            log_rows.append(
                (
                    owner,
                    clock.tick(),
                    clock.device_id,
                    "transactions",
                    str(entry.id),
                    "insert",
                    encode(columns).decode(),
                )
            )
        connection.exec_driver_sql(self.sql, table_rows)
        connection.exec_driver_sql(self.log_sql, log_rows)
        clock.save(connection)
