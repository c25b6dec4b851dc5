"""The conflicts log: edits that lost a last-writer-wins merge, kept so a person can
see them and restore one (as a new edit, which then wins everywhere)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from prism.errors import ConflictError, NotFoundError
from prism.storage.changes import capture
from prism.storage.projection import rebuild_owner
from prism.storage.tables import SYNCED_TABLES, sync_conflicts
from prism.sync.merge import decode_column, row_clause

__all__ = ["Conflict", "list_conflicts", "restore_conflict"]

_TABLES = {table.name: table for table in SYNCED_TABLES}


@dataclass(frozen=True, slots=True)
class Conflict:
    """A value that lost to another device's value for the same column."""

    id: uuid.UUID
    table: str
    row_id: str
    column: str
    value: Any
    hlc: int
    device_id: str
    winner_hlc: int
    winner_device_id: str


def _conflict(row: Any) -> Conflict:
    return Conflict(
        row["id"],
        row["table_name"],
        row["row_id"],
        row["column_name"],
        row["value"],
        row["hlc"],
        row["device_id"],
        row["winner_hlc"],
        row["winner_device_id"],
    )


def list_conflicts(connection: Connection, owner_id: uuid.UUID) -> list[Conflict]:
    """Unresolved conflicts, newest first."""
    c = sync_conflicts.c
    rows = connection.execute(
        select(sync_conflicts)
        .where(c.owner_id == owner_id, c.resolved_at.is_(None))
        .order_by(c.winner_hlc.desc(), c.id)
    ).mappings()
    return [_conflict(r) for r in rows]


def restore_conflict(connection: Connection, owner_id: uuid.UUID, conflict_id: uuid.UUID) -> Conflict:
    """Write the losing value again, as a new local edit, and mark the conflict resolved."""
    c = sync_conflicts.c
    row = (
        connection.execute(select(sync_conflicts).where(c.owner_id == owner_id, c.id == conflict_id)).mappings().first()
    )
    if row is None:
        raise NotFoundError(f"no conflict {conflict_id}")
    if row["resolved_at"] is not None:
        raise ConflictError("this conflict was already resolved")
    table = _TABLES[row["table_name"]]
    where = row_clause(table, owner_id, row["row_id"])
    current = connection.execute(select(table).where(where)).mappings().first()
    if current is None:
        raise NotFoundError(f"the {row['table_name']} row {row['row_id']} is not here (yet)")
    value = decode_column(table.c[row["column_name"]], row["value"])
    now = dt.datetime.now(dt.UTC)
    connection.execute(update(table).where(where).values({row["column_name"]: value, "updated_at": now}))
    capture(connection, owner_id, table.name, row["row_id"], {row["column_name"]: value}, old=current)
    connection.execute(
        update(sync_conflicts).where(c.owner_id == owner_id, c.id == conflict_id).values(resolved_at=now)
    )
    if table.name in {"transactions", "portfolios"}:
        rebuild_owner(connection, owner_id)
    return _conflict(row)
