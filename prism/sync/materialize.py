"""The table side of a merge: bringing synced rows in line with their folded log.

Rows are handled a table at a time, referenced tables (portfolios, assets, tags)
before the tables that refer to them, so one pass settles every row: a row appears
once its required columns are known and every row it refers to exists, whether that
row was stored before or appears in the same merge (foreign keys are deferred).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, Update, and_, bindparam, select, update

from prism.domain.hlc import hlc_time
from prism.storage.tables import SYNCED_TABLES, assets, portfolios, tags
from prism.storage.types import Id
from prism.sync.encode import STAMPS, Codecs, TableCodec
from prism.sync.fold import Folded, chunks

__all__ = ["DEPENDENT", "REFERENCED", "TABLES", "Batch", "Presence", "ident", "materialize", "row_clause"]

TABLES: dict[str, Table] = {table.name: table for table in SYNCED_TABLES}
#: Columns that must name an existing row before a row can appear.
_REFERENCES: dict[str, list[tuple[str, Table]]] = {
    "transactions": [("portfolio_id", portfolios), ("target_portfolio_id", portfolios), ("asset_id", assets)],
    "taggings": [("tag_id", tags)],
    "alert_rules": [("asset_id", assets), ("portfolio_id", portfolios)],
}
#: Tables whose rows may wait for others, and the rest, in the order a merge settles them.
DEPENDENT = tuple(_REFERENCES)
REFERENCED = tuple(name for name in TABLES if name not in _REFERENCES)


def row_clause(table: Table, owner_id: uuid.UUID, row_id: str) -> Any:
    """The WHERE clause that finds a synced row by its log id (a key for settings)."""
    if table.name == "settings":
        return and_(table.c.owner_id == owner_id, table.c.key == row_id)
    return and_(table.c.owner_id == owner_id, table.c.id == uuid.UUID(row_id))


def _identity(table: Table) -> Column[Any]:
    return table.c.key if table.name == "settings" else table.c.id


def ident(table: Table, row_id: str) -> Any:
    """A row's identity value from its log id."""
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
        if not c.nullable and c.name not in STAMPS and c.default is None and c.server_default is None
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
        """A set that holds those of ``idents`` that have a row in ``table``."""
        present, checked = self._present[table.name], self._checked[table.name]
        unknown = [ident for ident in set(idents) if ident not in checked]
        if unknown and not self._is_empty(table):
            where = {"w_owner": self._owner_id}
            for chunk in chunks(unknown):
                found = self._connection.execute(_present_statement(table), {**where, "w_rows": chunk})
                present.update(found.scalars())
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


def _ready(table: Table, candidates: Mapping[str, Folded], codec: TableCodec, presence: Presence) -> list[str]:
    """The new rows of ``candidates`` whose required columns and referenced rows exist."""
    required = _required(table)
    complete = [row_id for row_id, state in candidates.items() if required <= state.keys()]
    refers: list[tuple[str, list[Any], set[Any]]] = []
    for name, target in _REFERENCES.get(table.name, []):
        parse = codec.parse[name]
        # Per complete row, the id it names (None: no reference), in ``complete``'s order.
        idents = [parse(found[0]) if (found := candidates[row_id].get(name)) else None for row_id in complete]
        refers.append((name, idents, presence.find(target, {i for i in idents if i is not None})))
    return [
        row_id
        for at, row_id in enumerate(complete)
        if all(idents[at] is None or idents[at] in present for _, idents, present in refers)
    ]


def _latest(state: Folded) -> int:
    return max(hlc for _, hlc, _ in state.values())


def _update(
    connection: Connection, owner_id: uuid.UUID, table: Table, rows: Mapping[Any, Folded], codec: TableCodec
) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for identity, state in rows.items():
        values = codec.values(state)
        stamp = hlc_time(_latest(state))
        groups[tuple(sorted(values))].append({**values, "w_owner": owner_id, "w_row": identity, "updated_at": stamp})
    for columns, group in groups.items():
        connection.execute(_update_statement(table, columns), group)


def _insert(
    connection: Connection, owner_id: uuid.UUID, table: Table, rows: list[tuple[Any, Folded]], codec: TableCodec
) -> None:
    if not rows:
        return
    identity = _identity(table).name
    if connection.dialect.name != "sqlite":
        inserts: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for value, state in rows:
            values = codec.values(state)
            hlcs = [hlc for _, hlc, _ in state.values()]
            stamps = {"created_at": hlc_time(min(hlcs)), "updated_at": hlc_time(max(hlcs))}
            inserts[tuple(sorted(values))].append({"owner_id": owner_id, identity: value, **stamps, **values})
        for group in inserts.values():
            connection.execute(table.insert(), group)
        return
    connection.exec_driver_sql(codec.insert_sql, codec.stored_rows(owner_id, rows))


class Batch:
    """One merge's connection, owner, and what it has learnt so far."""

    def __init__(self, connection: Connection, owner_id: uuid.UUID) -> None:
        self.connection = connection
        self.owner_id = owner_id
        self.presence = Presence(connection, owner_id)
        self.codecs = Codecs(connection.dialect)


def materialize(batch: Batch, table: Table, folds: Mapping[str, Folded]) -> tuple[set[str], int]:
    """Bring the rows of ``folds`` (row id to folded state) in line.

    Returns the ids that stay pending and the number of rows inserted.
    """
    connection, owner_id, presence, codec = batch.connection, batch.owner_id, batch.presence, batch.codecs[table]
    idents = {row_id: ident(table, row_id) for row_id in folds}
    existing = presence.find(table, idents.values())
    updates = {idents[row_id]: state for row_id, state in folds.items() if idents[row_id] in existing}
    _update(connection, owner_id, table, updates, codec)
    candidates = {row_id: state for row_id, state in folds.items() if idents[row_id] not in existing}
    ready = _ready(table, candidates, codec, presence)
    _insert(connection, owner_id, table, [(idents[row_id], folds[row_id]) for row_id in ready], codec)
    presence.add(table, (idents[row_id] for row_id in ready))
    return candidates.keys() - set(ready), len(ready)
