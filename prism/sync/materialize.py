"""The table side of a merge: bringing synced rows in line with their folded log.

Rows are handled a table at a time, referenced tables (portfolios, assets, tags)
before the tables that refer to them, so one pass settles every row: a row appears
once its required columns are known and every row it refers to exists, whether that
row was stored before or appears in the same merge (foreign keys are deferred).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, Update, and_, bindparam, select, update

from prism.domain.hlc import hlc_time
from prism.storage.tables import SYNCED_TABLES, assets, portfolios, tags
from prism.storage.types import ExactDecimal, Id, UTCDateTime
from prism.sync.fold import Folded, chunks

__all__ = ["DEPENDENT", "REFERENCED", "TABLES", "Presence", "decode_column", "materialize", "row_clause"]

TABLES: dict[str, Table] = {table.name: table for table in SYNCED_TABLES}
_STAMPS = frozenset({"owner_id", "id", "key", "created_at", "updated_at"})
#: Columns that must name an existing row before a row can appear.
_REFERENCES: dict[str, list[tuple[str, Table]]] = {
    "transactions": [("portfolio_id", portfolios), ("target_portfolio_id", portfolios), ("asset_id", assets)],
    "taggings": [("tag_id", tags)],
    "alert_rules": [("asset_id", assets), ("portfolio_id", portfolios)],
}
#: Tables whose rows may wait for others, and the rest, in the order a merge settles them.
DEPENDENT = tuple(_REFERENCES)
REFERENCED = tuple(name for name in TABLES if name not in _REFERENCES)


def _same(value: Any) -> Any:
    return value


def _timestamp(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value))


@cache
def _parser(column: Column[Any]) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return Decimal
    if isinstance(kind, UTCDateTime):
        return _timestamp
    if isinstance(kind, Id):
        return _uuid
    if column.name == "date":
        return _date
    return _same


def decode_column(column: Column[Any], value: Any) -> Any:
    """A column value from its wire encoding (docs/sync-protocol.md §2.1)."""
    return None if value is None else _parser(column)(value)


@cache
def _parsers(table: Table) -> dict[str, Callable[[Any], Any]]:
    return {column.name: _parser(column) for column in table.columns if column.name not in _STAMPS}


def row_clause(table: Table, owner_id: uuid.UUID, row_id: str) -> Any:
    """The WHERE clause that finds a synced row by its log id (a key for settings)."""
    if table.name == "settings":
        return and_(table.c.owner_id == owner_id, table.c.key == row_id)
    return and_(table.c.owner_id == owner_id, table.c.id == uuid.UUID(row_id))


def _identity(table: Table) -> Column[Any]:
    return table.c.key if table.name == "settings" else table.c.id


def _ident(table: Table, row_id: str) -> Any:
    return row_id if table.name == "settings" else uuid.UUID(row_id)


# Statements are built once per shape: building one costs more than running it.
@cache
def _present_statement(table: Table) -> Select[Any]:
    column = _identity(table)
    return select(column).where(
        table.c.owner_id == bindparam("w_owner", type_=Id()), column.in_(bindparam("w_rows", expanding=True))
    )


@cache
def _any_statement(table: Table) -> Select[Any]:
    return select(table.c.owner_id).where(table.c.owner_id == bindparam("w_owner", type_=Id())).limit(1)


@cache
def _update_statement(table: Table, columns: tuple[str, ...]) -> Update:
    column = _identity(table)
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


class Presence:
    """Which rows exist, per table, asked in bulk and remembered for one merge."""

    def __init__(self, connection: Connection, owner_id: uuid.UUID) -> None:
        self._connection = connection
        self._owner_id = owner_id
        self._present: dict[str, set[Any]] = defaultdict(set)
        self._checked: dict[str, set[Any]] = defaultdict(set)
        self._empty: dict[str, bool] = {}

    def find(self, table: Table, idents: Iterable[Any]) -> set[Any]:
        """Those of ``idents`` that have a row in ``table``."""
        present, checked = self._present[table.name], self._checked[table.name]
        unknown = [ident for ident in set(idents) if ident not in checked]
        if unknown and not self._is_empty(table):
            where = {"w_owner": self._owner_id}
            for chunk in chunks(unknown):
                present.update(
                    self._connection.execute(_present_statement(table), {**where, "w_rows": chunk}).scalars()
                )
        checked.update(unknown)
        return present

    def add(self, table: Table, idents: Iterable[Any]) -> None:
        """Rows just inserted into ``table``."""
        self._present[table.name].update(idents)
        self._checked[table.name].update(idents)

    def _is_empty(self, table: Table) -> bool:
        # A fresh device has no rows at all: one probe spares a query per chunk.
        if table.name not in self._empty:
            found = self._connection.execute(_any_statement(table), {"w_owner": self._owner_id}).first()
            self._empty[table.name] = found is None
        return self._empty[table.name] and not self._present[table.name]


def _values(table: Table, state: Folded) -> dict[str, Any]:
    parsers = _parsers(table)
    return {
        name: None if value is None else parse(value)
        for name, (value, _, _) in state.items()
        if (parse := parsers.get(name)) is not None
    }


def _stamps(state: Folded) -> tuple[dt.datetime, dt.datetime]:
    hlcs = [hlc for _, hlc, _ in state.values()]
    return hlc_time(min(hlcs)), hlc_time(max(hlcs))


def _ready(table: Table, candidates: dict[str, dict[str, Any]], presence: Presence) -> list[str]:
    """The new rows of ``candidates`` whose required columns and referenced rows exist."""
    required = _required(table)
    complete = [row_id for row_id, values in candidates.items() if required <= values.keys()]
    references = _REFERENCES.get(table.name, [])
    wanted: dict[Table, set[Any]] = defaultdict(set)
    for row_id in complete:
        for name, target in references:
            if (ident := candidates[row_id].get(name)) is not None:
                wanted[target].add(ident)
    found = {target: presence.find(target, idents) for target, idents in wanted.items()}
    return [
        row_id
        for row_id in complete
        if all((ident := candidates[row_id].get(name)) is None or ident in found[target] for name, target in references)
    ]


def _execute_grouped(
    connection: Connection,
    statement: Callable[[tuple[str, ...]], Any],
    rows: list[dict[str, Any]],
    fixed: frozenset[str],
) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row.keys() - fixed))].append(row)
    for columns, group in groups.items():
        connection.execute(statement(columns), group)


def materialize(
    connection: Connection, owner_id: uuid.UUID, table: Table, folds: Mapping[str, Folded], presence: Presence
) -> tuple[set[str], int]:
    """Bring the rows of ``folds`` (row id to folded state) in line.

    Returns the ids that stay pending and the number of rows inserted.
    """
    idents = {row_id: _ident(table, row_id) for row_id in folds}
    existing = presence.find(table, idents.values())
    updates: list[dict[str, Any]] = []
    candidates: dict[str, dict[str, Any]] = {}
    for row_id, state in folds.items():
        values = _values(table, state)
        if idents[row_id] in existing:
            updated = hlc_time(max(hlc for _, hlc, _ in state.values()))
            updates.append({**values, "w_owner": owner_id, "w_row": idents[row_id], "updated_at": updated})
        else:
            candidates[row_id] = values
    _execute_grouped(
        connection,
        lambda columns: _update_statement(table, columns),
        updates,
        frozenset({"w_owner", "w_row", "updated_at"}),
    )
    ready = _ready(table, candidates, presence)
    identity = _identity(table).name
    inserts = []
    for row_id in ready:
        created, updated = _stamps(folds[row_id])
        row = {"owner_id": owner_id, identity: idents[row_id], "created_at": created, "updated_at": updated}
        inserts.append({**row, **candidates[row_id]})
    _execute_grouped(connection, lambda _columns: table.insert(), inserts, frozenset())
    presence.add(table, (idents[row_id] for row_id in ready))
    return candidates.keys() - set(ready), len(ready)
