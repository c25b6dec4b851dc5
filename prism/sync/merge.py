"""Merging changes from other devices (docs/sync-protocol.md §5).

A row's state is a function of its logged changes: per column, the value of the change
with the greatest ``(hlc, device_id)``. Applying remote changes therefore means adding
them to the log (duplicates are ignored by the log's key) and re-deriving the rows they
touch, which makes apply idempotent and commutative: devices that hold the same log
hold the same rows, whatever the order, duplication or delay of delivery.

A row whose required columns or referenced rows have not arrived yet stays pending in
the log and appears once they do. Merged changes are never refused by local-write
rules; the positions projection is rebuilt and flags what is inconsistent. A change
that loses a column to another device's value is kept in the conflicts log.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, Update, and_, bindparam, select, update

from prism.domain.hlc import hlc_receive, hlc_time
from prism.domain.ids import new_id
from prism.errors import ValidationError
from prism.storage.changes import new_device_id
from prism.storage.projection import rebuild_owner
from prism.storage.tables import (
    SYNCED_TABLES,
    assets,
    changes,
    clock_states,
    portfolios,
    sync_conflicts,
    tags,
)
from prism.storage.types import ExactDecimal, Id, UTCDateTime
from prism.sync.codec import WireChange

__all__ = ["ApplyReport", "apply_changes", "changes_since", "decode_column", "row_clause"]

_TABLES: dict[str, Table] = {table.name: table for table in SYNCED_TABLES}
_OPS = frozenset({"insert", "update", "delete"})
#: Tables other rows refer to: their arrival can unblock pending rows.
_REFERENCED = frozenset({"portfolios", "assets", "tags"})
_STAMPS = frozenset({"owner_id", "id", "key", "created_at", "updated_at"})
#: Columns that must name an existing row before a row can appear.
_REFERENCES: dict[str, list[tuple[str, Table]]] = {
    "transactions": [("portfolio_id", portfolios), ("target_portfolio_id", portfolios), ("asset_id", assets)],
    "taggings": [("tag_id", tags)],
    "alert_rules": [("asset_id", assets), ("portfolio_id", portfolios)],
}


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did."""

    applied: int
    duplicates: int
    conflicts: int
    pending: int


def changes_since(connection: Connection, owner_id: uuid.UUID, after: int = -1) -> list[WireChange]:
    """Every logged change (any device) with an HLC greater than ``after``, in HLC order."""
    c = changes.c
    rows = connection.execute(
        select(c.hlc, c.device_id, c.table_name, c.row_id, c.op, c.columns)
        .where(c.owner_id == owner_id, c.hlc > after)
        .order_by(c.hlc, c.device_id)
    )
    return [WireChange(r.hlc, r.device_id, r.table_name, r.row_id, r.op, dict(r.columns)) for r in rows]


def decode_column(column: Column[Any], value: Any) -> Any:
    """A column value from its wire encoding (docs/sync-protocol.md §2.1)."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return Decimal(value)
    if isinstance(kind, UTCDateTime):
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if isinstance(kind, Id):
        return uuid.UUID(str(value))
    if column.name == "date":
        return dt.date.fromisoformat(str(value))
    return value


def _check(incoming: Sequence[WireChange]) -> None:
    for change in incoming:
        if change.table not in _TABLES:
            raise ValidationError(f"unknown table {change.table!r}", field="table")
        if change.op not in _OPS:
            raise ValidationError(f"unknown operation {change.op!r}", field="op")


def _advance_clock(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> None:
    now_ms = time.time_ns() // 1_000_000
    c = clock_states.c
    row = connection.execute(select(c.last_hlc).where(c.owner_id == owner_id)).first()
    last = row.last_hlc if row is not None else 0
    for change in incoming:
        last = hlc_receive(last, change.hlc, now_ms)  # refuses an implausible clock: nothing applies
    if row is None:
        connection.execute(clock_states.insert().values(owner_id=owner_id, device_id=new_device_id(), last_hlc=last))
    else:
        connection.execute(update(clock_states).where(c.owner_id == owner_id).values(last_hlc=last))


def _log_new(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> list[WireChange]:
    fresh = []
    seen: set[tuple[int, str]] = set()
    for change in incoming:
        key = (change.hlc, change.device_id)
        if key in seen:
            continue
        seen.add(key)
        exists = connection.scalar(_IN_LOG, {"owner_id": owner_id, "hlc": change.hlc, "device_id": change.device_id})
        if exists is None:
            connection.execute(
                changes.insert().values(
                    owner_id=owner_id,
                    hlc=change.hlc,
                    device_id=change.device_id,
                    table_name=change.table,
                    row_id=change.row_id,
                    op=change.op,
                    columns=change.columns,
                )
            )
            fresh.append(change)
    return fresh


Folded = dict[str, tuple[Any, int, str]]
# Built once: statement construction costs more than running these small queries.
_FOLD = (
    select(changes.c.hlc, changes.c.device_id, changes.c.columns)
    .where(
        changes.c.owner_id == bindparam("owner_id", type_=Id()),
        changes.c.table_name == bindparam("table_name"),
        changes.c.row_id == bindparam("row_id"),
    )
    .order_by(changes.c.hlc, changes.c.device_id)
)
_IN_LOG = select(changes.c.hlc).where(
    changes.c.owner_id == bindparam("owner_id", type_=Id()),
    changes.c.hlc == bindparam("hlc"),
    changes.c.device_id == bindparam("device_id"),
)


def _fold(connection: Connection, owner_id: uuid.UUID, table: str, row_id: str) -> Folded:
    """Per column, the value, HLC and device of the winning change of one row."""
    state: Folded = {}
    rows = connection.execute(_FOLD, {"owner_id": owner_id, "table_name": table, "row_id": row_id})
    for hlc, device, columns in rows:
        for name, value in dict(columns).items():
            state[name] = (value, hlc, device)
    return state


def row_clause(table: Table, owner_id: uuid.UUID, row_id: str) -> Any:
    """The WHERE clause that finds a synced row by its log id (a key for settings)."""
    if table.name == "settings":
        return and_(table.c.owner_id == owner_id, table.c.key == row_id)
    return and_(table.c.owner_id == owner_id, table.c.id == uuid.UUID(row_id))


def _identity(table: Table) -> tuple[str, Any]:
    return ("key", table.c.key) if table.name == "settings" else ("id", table.c.id)


@cache
def _exists_statement(table: Table) -> Select[Any]:
    # Built once per table: statement construction would cost more than the query.
    _name, column = _identity(table)
    return select(table.c.owner_id).where(
        table.c.owner_id == bindparam("w_owner", type_=Id()), column == bindparam("w_row", type_=column.type)
    )


@cache
def _update_statement(table: Table, columns: tuple[str, ...]) -> Update:
    _name, column = _identity(table)
    return (
        update(table)
        .where(table.c.owner_id == bindparam("w_owner", type_=Id()), column == bindparam("w_row", type_=column.type))
        .values({c: bindparam(c, type_=table.c[c].type) for c in (*columns, "updated_at")})
    )


@cache
def _required(table: Table) -> frozenset[str]:
    return frozenset(
        c.name
        for c in table.columns
        if not c.nullable and c.name not in _STAMPS and c.default is None and c.server_default is None
    )


def _references_ready(connection: Connection, owner_id: uuid.UUID, table: str, values: dict[str, Any]) -> bool:
    for name, target in _REFERENCES.get(table, []):
        ident = values.get(name)
        if (
            ident is not None
            and connection.scalar(_exists_statement(target), {"w_owner": owner_id, "w_row": ident}) is None
        ):
            return False
    return True


def _materialize(
    connection: Connection, owner_id: uuid.UUID, table_name: str, row_id: str, folds: dict[tuple[str, str], Folded]
) -> bool:
    """Bring one row in line with its log; False while it must stay pending."""
    table = _TABLES[table_name]
    key = (table_name, row_id)
    state = folds[key] if key in folds else folds.setdefault(key, _fold(connection, owner_id, table_name, row_id))
    values = {
        name: decode_column(table.c[name], value)
        for name, (value, _, _) in state.items()
        if name in table.c and name not in _STAMPS
    }
    stamps = [hlc for _, hlc, _ in state.values()]
    identity_name, _column = _identity(table)
    identity = row_id if table_name == "settings" else uuid.UUID(row_id)
    where = {"w_owner": owner_id, "w_row": identity}
    if connection.scalar(_exists_statement(table), where) is not None:
        columns = tuple(sorted(values))
        connection.execute(_update_statement(table, columns), {**where, **values, "updated_at": hlc_time(max(stamps))})
        return True
    if not _required(table) <= values.keys() or not _references_ready(connection, owner_id, table_name, values):
        return False
    row = {
        "owner_id": owner_id,
        identity_name: identity,
        "created_at": hlc_time(min(stamps)),
        "updated_at": hlc_time(max(stamps)),
        **values,
    }
    connection.execute(table.insert(), [row])
    return True


def _record_conflicts(
    connection: Connection, owner_id: uuid.UUID, fresh: Iterable[WireChange], folds: dict[tuple[str, str], Folded]
) -> int:
    count = 0
    for change in fresh:
        key = (change.table, change.row_id)
        state = folds[key] if key in folds else folds.setdefault(key, _fold(connection, owner_id, *key))
        for name, value in change.columns.items():
            winner, winner_hlc, winner_device = state[name]
            if (winner_hlc, winner_device) == (change.hlc, change.device_id):
                continue
            if winner_device == change.device_id or winner == value:
                continue
            connection.execute(
                sync_conflicts.insert().values(
                    owner_id=owner_id,
                    id=new_id(),
                    table_name=change.table,
                    row_id=change.row_id,
                    column_name=name,
                    value=value,
                    hlc=change.hlc,
                    device_id=change.device_id,
                    winner_hlc=winner_hlc,
                    winner_device_id=winner_device,
                )
            )
            count += 1
    return count


def _pending(connection: Connection, owner_id: uuid.UUID) -> list[tuple[str, str]]:
    """Logged rows that have not appeared in their tables yet."""
    c = changes.c
    logged = connection.execute(select(c.table_name, c.row_id).where(c.owner_id == owner_id).distinct()).all()
    missing = []
    for table_name, row_id in logged:
        table = _TABLES.get(table_name)
        if (
            table is not None
            and connection.scalar(select(table.c.owner_id).where(row_clause(table, owner_id, row_id))) is None
        ):
            missing.append((table_name, row_id))
    return missing


def apply_changes(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> ApplyReport:
    """Merge changes from other devices into this one, in the caller's transaction."""
    _check(incoming)
    _advance_clock(connection, owner_id, incoming)
    fresh = _log_new(connection, owner_id, incoming)
    touched = sorted({(change.table, change.row_id) for change in fresh})
    folds: dict[tuple[str, str], Folded] = {}
    waiting = [key for key in touched if not _materialize(connection, owner_id, *key, folds)]
    if waiting or any(table in _REFERENCED for table, _ in touched):
        # Rows held back for a missing reference (now or in an earlier apply) may be complete now.
        progress = True
        while progress:
            progress = False
            for key in _pending(connection, owner_id):
                if _materialize(connection, owner_id, *key, folds):
                    progress = True
    conflicts = _record_conflicts(connection, owner_id, fresh, folds)
    if any(table in {"transactions", "portfolios"} for table, _ in touched):
        rebuild_owner(connection, owner_id)
    return ApplyReport(len(fresh), len(incoming) - len(fresh), conflicts, len(_pending(connection, owner_id)))
