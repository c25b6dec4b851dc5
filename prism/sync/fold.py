"""The change log side of a merge: which incoming changes are new, adding them to the
log, and folding each touched row's changes into its per-column winners.

Everything here works on whole batches (one query per chunk of keys, one
``executemany`` per statement), because a merge may carry a million changes and a
round trip per change is what made it slow.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection, bindparam, func, select

from prism.domain.ids import new_id
from prism.storage.tables import changes, sync_conflicts
from prism.storage.types import Id
from prism.sync.codec import WireChange
from prism.sync.encode import sqlite_insert, stored

__all__ = [
    "CHUNK",
    "Bounds",
    "Folded",
    "Logged",
    "RowKey",
    "chunks",
    "conflict_rows",
    "fold",
    "known_keys",
    "log_bounds",
    "log_changes",
    "log_row",
    "prior_changes",
    "record_conflicts",
    "unique_changes",
]

#: ``(table_name, row_id)``: one synced row as the log names it.
RowKey = tuple[str, str]
#: Per column: the winning value, its HLC and its device.
Folded = dict[str, tuple[Any, int, str]]
#: One log entry of a row: ``(hlc, device_id, columns)``.
Logged = tuple[int, str, Mapping[str, Any]]
#: The smallest and greatest HLC in an owner's log.
Bounds = tuple[int, int]

#: Keys per query: far below both databases' bound-parameter limits (32,766).
CHUNK = 2000
T = TypeVar("T")
_json = msgspec.json.Encoder()

_LOG_ORDER = ("owner_id", "hlc", "device_id", "table_name", "row_id", "op", "columns")
_owner = bindparam("owner_id", type_=Id())
_BOUNDS = select(func.min(changes.c.hlc), func.max(changes.c.hlc)).where(changes.c.owner_id == _owner)
_KNOWN = select(changes.c.hlc, changes.c.device_id).where(
    changes.c.owner_id == _owner, changes.c.hlc.in_(bindparam("hlcs", expanding=True))
)
_PRIOR = select(changes.c.row_id, changes.c.hlc, changes.c.device_id, changes.c.columns).where(
    changes.c.owner_id == _owner,
    changes.c.table_name == bindparam("table_name"),
    changes.c.row_id.in_(bindparam("row_ids", expanding=True)),
)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unique_changes(incoming: Iterable[WireChange]) -> dict[tuple[int, str], WireChange]:
    """The first change of each ``(hlc, device_id)``: a change is named by its key alone."""
    unique: dict[tuple[int, str], WireChange] = {}
    for change in incoming:
        unique.setdefault((change.hlc, change.device_id), change)
    return unique


def log_bounds(connection: Connection, owner_id: uuid.UUID) -> Bounds | None:
    """The HLC range of the owner's log, or None while it is empty."""
    low, high = connection.execute(_BOUNDS, {"owner_id": owner_id}).one()
    return None if low is None else (low, high)


def known_keys(
    connection: Connection, owner_id: uuid.UUID, keys: Iterable[tuple[int, str]], bounds: Bounds | None
) -> set[tuple[int, str]]:
    """Those of ``keys`` already in the log."""
    if bounds is None:
        return set()
    low, high = bounds
    # Keys outside the log's range cannot be in it: a device catching up asks for nothing.
    hlcs = sorted({hlc for hlc, _ in keys if low <= hlc <= high})
    found: set[tuple[int, str]] = set()
    for chunk in chunks(hlcs):
        found.update((hlc, device) for hlc, device in connection.execute(_KNOWN, {"owner_id": owner_id, "hlcs": chunk}))
    return found


def log_row(owner_id: uuid.UUID, change: WireChange) -> dict[str, Any]:
    """The change-log row of one change (also the shape of a held change)."""
    return {
        "owner_id": owner_id,
        "hlc": change.hlc,
        "device_id": change.device_id,
        "table_name": change.table,
        "row_id": change.row_id,
        "op": change.op,
        "columns": change.columns,
    }


def log_changes(connection: Connection, owner_id: uuid.UUID, fresh: Sequence[WireChange]) -> None:
    """Add ``fresh`` (none of them logged yet) to the log."""
    if not fresh:
        return
    if connection.dialect.name == "sqlite":
        # The cursor's executemany with values encoded once: see prism.sync.encode.
        sql, order = sqlite_insert(connection, changes)
        assert order == _LOG_ORDER, order  # the tuples below are in the table's column order
        owner = stored(connection, changes.c.owner_id)(owner_id)
        # msgspec writes the same JSON values as the column's json.dumps, several times
        # faster (compact, UTF-8 as is); every reader parses the text, none compares it.
        encode = _json.encode
        rows = [(owner, c.hlc, c.device_id, c.table, c.row_id, c.op, encode(c.columns).decode()) for c in fresh]
        connection.exec_driver_sql(sql, rows)
        return
    values = [log_row(owner_id, change) for change in fresh]
    connection.execute(changes.insert(), values)


def prior_changes(connection: Connection, owner_id: uuid.UUID, rows: Iterable[RowKey]) -> dict[RowKey, list[Logged]]:
    """The logged changes of ``rows`` (call before logging new ones to get only older ones)."""
    found: dict[RowKey, list[Logged]] = defaultdict(list)
    by_table: dict[str, list[str]] = defaultdict(list)
    for table_name, row_id in rows:
        by_table[table_name].append(row_id)
    for table_name, row_ids in by_table.items():
        for chunk in chunks(row_ids):
            params = {"owner_id": owner_id, "table_name": table_name, "row_ids": chunk}
            for row_id, hlc, device, columns in connection.execute(_PRIOR, params):
                found[(table_name, row_id)].append((hlc, device, columns))
    return found


def _order(entry: Logged) -> tuple[int, str]:
    return entry[0], entry[1]


def fold(entries: list[Logged]) -> Folded:
    """Per column, the value, HLC and device of the greatest ``(hlc, device_id)`` that wrote it."""
    if len(entries) == 1:  # most rows of a large merge: one insert, nothing to order
        hlc, device, columns = entries[0]
        return {name: (value, hlc, device) for name, value in columns.items()}
    entries.sort(key=_order)
    state: Folded = {}
    for hlc, device, columns in entries:
        for name, value in columns.items():
            state[name] = (value, hlc, device)
    return state


def conflict_rows(
    owner_id: uuid.UUID, fresh: Iterable[WireChange], folds: Mapping[RowKey, Folded]
) -> list[dict[str, Any]]:
    """A conflicts-log row for each column a new change lost to another device's different value."""
    rows = []
    for change in fresh:
        state = folds[(change.table, change.row_id)]
        for name, value in change.columns.items():
            winner, winner_hlc, winner_device = state[name]
            if winner_device == change.device_id or winner == value:
                continue  # a device's own later write, or the same value: nothing was lost
            rows.append(
                {
                    "owner_id": owner_id,
                    "id": new_id(),
                    "table_name": change.table,
                    "row_id": change.row_id,
                    "column_name": name,
                    "value": value,
                    "hlc": change.hlc,
                    "device_id": change.device_id,
                    "winner_hlc": winner_hlc,
                    "winner_device_id": winner_device,
                }
            )
    return rows


def record_conflicts(
    connection: Connection, owner_id: uuid.UUID, fresh: Iterable[WireChange], folds: Mapping[RowKey, Folded]
) -> int:
    """Log the lost columns of ``fresh``; the number logged."""
    rows = conflict_rows(owner_id, fresh, folds)
    if rows:
        connection.execute(sync_conflicts.insert(), rows)
    return len(rows)
