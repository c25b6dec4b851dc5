"""Change capture: every write to a synced table logs its changed columns, in the same
transaction, stamped with the device's hybrid logical clock (docs/sync-protocol.md §1-§3).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from prism.domain.hlc import hlc_tick, hlc_time
from prism.domain.money import canonical
from prism.storage.tables import changes, clock_states

__all__ = [
    "NOT_CHANGES",
    "BatchClock",
    "LoggedChange",
    "capture",
    "capture_inserts",
    "history",
    "new_device_id",
    "read_clock",
    "wire_value",
]

#: Columns that identify a row or are derived from HLCs: never sent as changes.
NOT_CHANGES = frozenset({"owner_id", "id", "created_at", "updated_at"})


def wire_value(value: Any) -> Any:
    """A column value in the log's JSON encoding (§2.1)."""
    if isinstance(value, Decimal):
        return canonical(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def new_device_id() -> str:
    """A fresh device id: 64 random bits as 16 hex characters."""
    return secrets.token_hex(8)


def _tick(connection: Connection, owner_id: uuid.UUID) -> tuple[int, str]:
    """The next HLC of this device for ``owner_id``, persisted in the caller's transaction."""
    c = clock_states.c
    row = connection.execute(select(c.device_id, c.last_hlc).where(c.owner_id == owner_id)).first()
    now_ms = time.time_ns() // 1_000_000
    if row is None:
        device_id, hlc = new_device_id(), hlc_tick(0, now_ms)
        connection.execute(clock_states.insert().values(owner_id=owner_id, device_id=device_id, last_hlc=hlc))
        return hlc, device_id
    hlc = hlc_tick(row.last_hlc, now_ms)
    connection.execute(update(clock_states).where(c.owner_id == owner_id).values(last_hlc=hlc))
    return hlc, str(row.device_id)


def capture(
    connection: Connection,
    owner_id: uuid.UUID,
    table: str,
    row_id: uuid.UUID | str,
    new: Mapping[str, Any],
    *,
    old: Mapping[str, Any] | RowMapping | None = None,
    op: str | None = None,
) -> None:
    """Log one written row: all its columns on insert, the changed ones on update.

    An update that changes nothing logs nothing.
    """
    written = {
        name: wire_value(value)
        for name, value in new.items()
        if name not in NOT_CHANGES and (old is None or wire_value(old.get(name)) != wire_value(value))
    }
    if not written:
        return
    kind = op or ("insert" if old is None else "update")
    hlc, device_id = _tick(connection, owner_id)
    connection.execute(
        changes.insert().values(
            owner_id=owner_id,
            hlc=hlc,
            device_id=device_id,
            table_name=table,
            row_id=str(row_id),
            op=kind,
            columns=written,
        )
    )


def capture_inserts(
    connection: Connection,
    owner_id: uuid.UUID,
    table: str,
    rows: Sequence[tuple[uuid.UUID | str, Mapping[str, Any]]],
) -> None:
    """Log many inserted rows at once: one clock read and write, one batched insert.

    The same log :func:`capture` writes row by row, with consecutive HLCs.
    """
    if not rows:
        return
    clock = read_clock(connection, owner_id)
    logged = []
    for row_id, values in rows:
        written = {name: wire_value(value) for name, value in values.items() if name not in NOT_CHANGES}
        logged.append(
            {
                "owner_id": owner_id,
                "hlc": clock.tick(),
                "device_id": clock.device_id,
                "table_name": table,
                "row_id": str(row_id),
                "op": "insert",
                "columns": written,
            }
        )
    clock.save(connection)
    connection.execute(changes.insert(), logged)


@dataclass(slots=True)
class BatchClock:
    """The device's clock for one batch of local writes: read once, ticked in memory,
    saved once (in the batch's transaction)."""

    owner_id: uuid.UUID
    device_id: str
    last: int
    stored: bool
    now_ms: int

    def tick(self) -> int:
        """The next HLC (consecutive within the batch)."""
        self.last = hlc_tick(self.last, self.now_ms)
        return self.last

    def save(self, connection: Connection) -> None:
        """Persist the last HLC handed out."""
        c = clock_states.c
        if self.stored:
            connection.execute(update(clock_states).where(c.owner_id == self.owner_id).values(last_hlc=self.last))
            return
        values = {"owner_id": self.owner_id, "device_id": self.device_id, "last_hlc": self.last}
        connection.execute(clock_states.insert().values(**values))
        self.stored = True


def read_clock(connection: Connection, owner_id: uuid.UUID) -> BatchClock:
    """The device's clock for ``owner_id`` (a new device id if it has none yet)."""
    c = clock_states.c
    state = connection.execute(select(c.device_id, c.last_hlc).where(c.owner_id == owner_id)).first()
    now_ms = time.time_ns() // 1_000_000
    if state is None:
        return BatchClock(owner_id, new_device_id(), 0, False, now_ms)
    return BatchClock(owner_id, str(state.device_id), int(state.last_hlc), True, now_ms)


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """One entry of a row's history."""

    at: dt.datetime
    hlc: int
    device_id: str
    op: str
    columns: dict[str, Any]


def history(connection: Connection, owner_id: uuid.UUID, table: str, row_id: uuid.UUID | str) -> list[LoggedChange]:
    """Every logged change of one row, oldest first."""
    c = changes.c
    rows = connection.execute(
        select(c.hlc, c.device_id, c.op, c.columns)
        .where(c.owner_id == owner_id, c.table_name == table, c.row_id == str(row_id))
        .order_by(c.hlc, c.device_id)
    )
    return [LoggedChange(hlc_time(r.hlc), r.hlc, r.device_id, r.op, dict(r.columns)) for r in rows]
