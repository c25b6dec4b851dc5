"""Rows as SQLite stores them, for inserts that bypass SQLAlchemy's per-row work.

Bulk writers (a merge of a long catch-up, an import of a million transactions) insert
through the DB-API cursor's ``executemany`` with values encoded by the columns' own
bind processors: the same stored bytes as a Core insert, without SQLAlchemy's
per-row, per-parameter work, which cost more than SQLite's own insert. PostgreSQL
(asyncpg) takes the Core path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Table

__all__ = ["Convert", "Memo", "bind_processor", "insert_sql", "sqlite_insert", "stored"]

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


class Memo(dict[Any, Any]):
    """``convert`` of hashable values, each computed once (a bulk write repeats a few
    portfolios, dates, currencies and fees endlessly)."""

    __slots__ = ("convert",)

    def __init__(self, convert: Convert) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.convert(key)
        return value


def bind_processor(column: Column[Any], dialect: Dialect) -> Convert | None:
    """``column``'s bind processor on ``dialect`` (None: values are stored as they are)."""
    processor: Convert | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def stored(connection: Connection, column: Column[Any]) -> Convert:
    """``column``'s Python values as the connection's database stores them."""
    return bind_processor(column, connection.dialect) or _same


@cache
def insert_sql(table: Table, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The INSERT of every column of ``table`` in ``dialect``, and its column order."""
    compiled = table.insert().compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def sqlite_insert(connection: Connection, table: Table) -> tuple[str, tuple[str, ...]]:
    """The INSERT of every column of ``table`` for SQLite's cursor, and its column order."""
    return insert_sql(table, connection.dialect)
