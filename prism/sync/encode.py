"""Column values of merged rows: wire form to Python (every database) and straight to
SQLite's stored form (the device).

A merge decodes and encodes the same few values over and over (currencies, dates,
portfolio and asset ids, ``"0"`` fees), so each column memoizes its conversions of
text values for the length of one merge. On SQLite, rows are then written by the
DB-API cursor's ``executemany`` with values encoded by the columns' own bind
processors: the same stored bytes as a Core insert, without SQLAlchemy's per-row,
per-parameter work, which cost more than SQLite's own insert. PostgreSQL (asyncpg)
takes the Core path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Dialect, Table

from prism.domain.hlc import COUNTER_BITS, hlc_time
from prism.storage.stored_rows import Memo, bind_processor, insert_sql, sqlite_insert, stored
from prism.storage.types import ExactDecimal, Id, UTCDateTime

if TYPE_CHECKING:
    from prism.sync.fold import Folded

__all__ = ["STAMPS", "Codecs", "TableCodec", "decode_column", "sqlite_insert", "stored"]

#: Columns that identify a row or are derived from HLCs: never decoded from changes.
STAMPS = frozenset({"owner_id", "id", "key", "created_at", "updated_at"})
Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _timestamp(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value))


@cache
def _parser(column: Column[Any]) -> Convert:
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


class _Memo(Memo):
    """:class:`~prism.storage.stored_rows.Memo`, called on wire values: text is memoized."""

    __slots__ = ()

    def __call__(self, value: Any) -> Any:
        # Only text is memoized: JSON's 1, 1.0 and true are equal keys but not equal values.
        if value.__class__ is str:
            return self[value]
        return None if value is None else self.convert(value)


_stored = bind_processor


def _compose(first: Convert, then: Convert | None) -> Convert:
    if then is None:
        return first
    return lambda value: then(first(value))


class TableCodec:
    """One synced table's conversions for one merge."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        data = [c for c in table.columns if c.name not in STAMPS]
        self.table = table
        self.parse = {c.name: _Memo(_parser(c)) for c in data}
        self.insert_sql, order = insert_sql(table, dialect)
        identity = "key" if table.name == "settings" else "id"
        fixed = ("owner_id", identity, "created_at", "updated_at")
        store = {c.name: _Memo(_compose(_parser(c), _stored(c, dialect))) for c in data}
        #: Per data column: its place in a stored row and its conversion.
        self._slots = {name: (at, store[name]) for at, name in enumerate(order) if name not in fixed}
        #: Where the fixed values go in a stored row (owner, identity, created, updated).
        self._fixed_at = tuple(order.index(name) for name in fixed)
        self._width = len(order)
        self._owner = _stored(table.c.owner_id, dialect) or _same
        self._identity = _stored(table.c[identity], dialect) or _same
        self._stamp = _stored(table.c.created_at, dialect) or _same
        self._stamps: dict[int, Any] = {}

    def values(self, state: Folded) -> dict[str, Any]:
        """The Python values of a folded row's data columns."""
        parse = self.parse
        return {name: parse[name](value) for name, (value, _, _) in state.items() if name in parse}

    def _stored_stamp(self, hlc: int) -> Any:
        milliseconds = hlc >> COUNTER_BITS  # all a timestamp keeps of an HLC
        found = self._stamps.get(milliseconds)
        if found is None:
            found = self._stamps[milliseconds] = self._stamp(hlc_time(hlc))
        return found

    def stored_rows(self, owner_id: uuid.UUID, rows: Iterable[tuple[Any, Folded]]) -> list[tuple[Any, ...]]:
        """New rows (identity value, folded state) as stored, in :attr:`insert_sql`'s order."""
        owner = self._owner(owner_id)
        slots = self._slots
        at_owner, at_identity, at_created, at_updated = self._fixed_at
        blank = [None] * self._width
        stored = []
        for identity, state in rows:
            # Only the columns a row's changes wrote are visited (a column no change wrote
            # stays None, as before); a batch row has about half of its table's columns.
            row = blank.copy()
            low = high = None
            for name, (value, hlc, _) in state.items():
                if low is None or hlc < low:
                    low = hlc
                if high is None or hlc > high:
                    high = hlc
                slot = slots.get(name)
                if slot is None:
                    continue
                at, convert = slot
                row[at] = convert[value] if value.__class__ is str else convert(value)
            assert low is not None  # a folded row has at least one column
            assert high is not None
            row[at_owner] = owner
            row[at_identity] = self._identity(identity)
            row[at_created] = self._stored_stamp(low)
            row[at_updated] = self._stored_stamp(high)
            stored.append(tuple(row))
        return stored


class Codecs:
    """The table codecs of one merge, made on first use."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._tables: dict[str, TableCodec] = {}

    def __getitem__(self, table: Table) -> TableCodec:
        found = self._tables.get(table.name)
        if found is None:
            found = self._tables[table.name] = TableCodec(table, self.dialect)
        return found
