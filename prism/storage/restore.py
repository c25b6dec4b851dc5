"""Restoring rows with their original ids and timestamps, into a database with no account.

The ordinary storage functions make new stamps and check every write against local
rules; a restore must bring back rows exactly as they were, tombstones included. So
rows are inserted here table by table, and each one's change is captured explicitly,
in the same transaction, as one ``insert`` of all its data columns (the form
:func:`prism.storage.changes.capture` logs), stamped with this device's clock: the
restored data then syncs like any local write. The positions projection is rebuilt
at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text

from prism.domain.hlc import hlc_tick
from prism.errors import ConflictError, ValidationError
from prism.storage.changes import new_device_id, wire_value
from prism.storage.engine import lock_owner
from prism.storage.projection import rebuild_owner
from prism.storage.tables import SYNCED_TABLES, accounts, changes, clock_states

__all__ = ["RestoreClock", "check_empty", "finish_restore", "restore_account", "restore_rows"]

_SYNCED = {table.name: table for table in SYNCED_TABLES}
#: Columns that identify a row or are derived from HLCs: never logged as changes.
_NOT_LOGGED = frozenset({"owner_id", "id", "key", "created_at", "updated_at"})


def check_empty(connection: Connection) -> None:
    """Refuse a database that holds any account (a restore never merges into data)."""
    if connection.dialect.name == "postgresql":
        # No account may appear beside the one being restored until this commits.
        connection.execute(text("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"))
    held = connection.scalar(select(func.count()).select_from(accounts)) or 0
    if held:
        raise ConflictError(
            f"the database is not empty (it holds {held} account(s)): restore into a new database or data folder"
        )


class RestoreClock:
    """This device's hybrid logical clock for one owner, ticked in memory and saved once."""

    def __init__(self, connection: Connection, owner_id: uuid.UUID) -> None:
        c = clock_states.c
        row = connection.execute(select(c.device_id, c.last_hlc).where(c.owner_id == owner_id)).first()
        self.known = row is not None
        self.device_id = str(row.device_id) if row is not None else new_device_id()
        self.last = int(row.last_hlc) if row is not None else 0

    def tick(self) -> int:
        """The next HLC."""
        self.last = hlc_tick(self.last, time.time_ns() // 1_000_000)
        return self.last

    def save(self, connection: Connection, owner_id: uuid.UUID) -> None:
        """Persist the last HLC handed out."""
        c = clock_states.c
        if self.known:
            connection.execute(clock_states.update().where(c.owner_id == owner_id).values(last_hlc=self.last))
        else:
            connection.execute(
                clock_states.insert().values(owner_id=owner_id, device_id=self.device_id, last_hlc=self.last)
            )
            self.known = True


def restore_account(connection: Connection, account: Mapping[str, Any]) -> uuid.UUID:
    """Insert the account row (``id``, ``name``, ``created_at``) into an empty database."""
    check_empty(connection)
    owner_id = account["id"]
    if not isinstance(owner_id, uuid.UUID):
        raise ValidationError("the account id must be a UUID", field="id")
    connection.execute(accounts.insert().values(id=owner_id, name=account["name"], created_at=account["created_at"]))
    lock_owner(connection, owner_id)
    return owner_id


def restore_rows(
    connection: Connection,
    owner_id: uuid.UUID,
    table_name: str,
    rows: Sequence[Mapping[str, Any]],
    clock: RestoreClock,
) -> None:
    """Insert rows of one synced table as they were, logging one change per row."""
    table = _SYNCED.get(table_name)
    if table is None:
        raise ValidationError(f"{table_name!r} is not a synced table", field="table")
    if not rows:
        return
    identity = "key" if table_name == "settings" else "id"
    connection.execute(table.insert(), [{**row, "owner_id": owner_id} for row in rows])
    logged = []
    for row in rows:
        columns = {name: wire_value(value) for name, value in row.items() if name not in _NOT_LOGGED}
        logged.append(
            {
                "owner_id": owner_id,
                "hlc": clock.tick(),
                "device_id": clock.device_id,
                "table_name": table_name,
                "row_id": str(row[identity]),
                "op": "insert",
                "columns": columns,
            }
        )
    connection.execute(changes.insert(), logged)


def finish_restore(connection: Connection, owner_id: uuid.UUID, clock: RestoreClock) -> None:
    """Save the clock and rebuild the positions projection from the restored ledger."""
    clock.save(connection, owner_id)
    rebuild_owner(connection, owner_id)
