"""Rows a merge holds back, kept in ``sync_pending`` so no merge scans the log for them."""

from __future__ import annotations

import uuid
from collections.abc import Set

from sqlalchemy import Connection, and_, bindparam, delete, select

from prism.storage.tables import sync_pending
from prism.storage.types import Id
from prism.sync.fold import RowKey

__all__ = ["load_pending", "save_pending"]

_owner = bindparam("owner_id", type_=Id())
_LOAD = select(sync_pending.c.table_name, sync_pending.c.row_id).where(sync_pending.c.owner_id == _owner)
_DROP = delete(sync_pending).where(
    and_(
        sync_pending.c.owner_id == _owner,
        sync_pending.c.table_name == bindparam("w_table"),
        sync_pending.c.row_id == bindparam("w_row"),
    )
)


def load_pending(connection: Connection, owner_id: uuid.UUID) -> set[RowKey]:
    """Every row held back for the owner."""
    return {(table, row_id) for table, row_id in connection.execute(_LOAD, {"owner_id": owner_id})}


def save_pending(connection: Connection, owner_id: uuid.UUID, before: Set[RowKey], after: Set[RowKey]) -> None:
    """Record that the rows held back are now ``after`` (they were ``before``)."""
    gone = [{"owner_id": owner_id, "w_table": t, "w_row": r} for t, r in before - after]
    if gone:
        connection.execute(_DROP, gone)
    added = [{"owner_id": owner_id, "table_name": t, "row_id": r} for t, r in after - before]
    if added:
        connection.execute(sync_pending.insert(), added)
