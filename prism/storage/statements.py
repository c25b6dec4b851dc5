"""SQL statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

__all__ = ["upsert"]


@cache
def _upsert_statement(
    dialect_name: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...], keep: tuple[str, ...]
) -> Insert:
    # Built once per shape: constructing ON CONFLICT clauses costs more than running them.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in columns if name not in keys and name not in keep}
    upserting: Insert = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return upserting


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
) -> None:
    """Insert ``rows``; where the key exists, replace every column but the key and ``keep``."""
    if not rows:
        return
    statement = _upsert_statement(connection.dialect.name, table, tuple(rows[0]), tuple(keys), tuple(keep))
    connection.execute(statement, list(rows))
