"""Changes from a newer schema (docs/sync-protocol.md §7).

A device running an older Prism may receive changes for a table, a column or an
operation it does not know yet. It applies what it can now (the known columns of a
known table's row) and keeps every such change whole in ``sync_held_changes``. After
the device upgrades, :func:`release_held_changes` swaps each partial log entry for the
whole change and merges it again, so the result is as if the change had been
understood on arrival; the merge's rules make the order irrelevant.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, delete, select, tuple_

from prism.storage.tables import SYNCED_TABLES, changes, sync_held_changes
from prism.sync.codec import WireChange
from prism.sync.fold import log_row
from prism.sync.merge import apply_changes

__all__ = ["CURRENT_SCHEMA", "Schema", "hold_changes", "release_held_changes", "split_known"]

#: What a schema knows: each synced table's columns.
Schema = Mapping[str, frozenset[str]]
CURRENT_SCHEMA: Schema = {table.name: frozenset(table.columns.keys()) for table in SYNCED_TABLES}
_OPS = frozenset({"insert", "update", "delete"})


def _known(change: WireChange, schema: Schema) -> bool:
    columns = schema.get(change.table)
    return columns is not None and change.op in _OPS and change.columns.keys() <= columns


def split_known(
    incoming: Sequence[WireChange], schema: Schema = CURRENT_SCHEMA
) -> tuple[list[WireChange], list[WireChange]]:
    """``(to apply now, to hold)``: held changes whose row is known appear in both,
    the first time with the unknown columns left out."""
    now: list[WireChange] = []
    held: list[WireChange] = []
    for change in incoming:
        if _known(change, schema):
            now.append(change)
            continue
        held.append(change)
        columns = schema.get(change.table)
        if columns is None or change.op not in _OPS:
            continue
        partial = {name: value for name, value in change.columns.items() if name in columns}
        if partial:
            now.append(WireChange(change.hlc, change.device_id, change.table, change.row_id, change.op, partial))
    return now, held


def hold_changes(connection: Connection, owner_id: uuid.UUID, held: Sequence[WireChange], schema_version: str) -> None:
    """Keep ``held`` whole (a change held before is kept once)."""
    if not held:
        return
    h = sync_held_changes.c
    keys = [(change.hlc, change.device_id) for change in held]
    found = connection.execute(
        select(h.hlc, h.device_id).where(h.owner_id == owner_id, tuple_(h.hlc, h.device_id).in_(keys))
    )
    present = {(hlc, device) for hlc, device in found}
    rows = [
        {**log_row(owner_id, change), "schema_version": schema_version}
        for change in held
        if (change.hlc, change.device_id) not in present
    ]
    if rows:
        connection.execute(sync_held_changes.insert(), rows)


def release_held_changes(connection: Connection, owner_id: uuid.UUID, schema: Schema = CURRENT_SCHEMA) -> int:
    """Merge the held changes this schema now understands; how many were released."""
    h = sync_held_changes.c
    rows = connection.execute(
        select(h.hlc, h.device_id, h.table_name, h.row_id, h.op, h.columns).where(h.owner_id == owner_id)
    ).all()
    ready = [
        change
        for change in (WireChange(r.hlc, r.device_id, r.table_name, r.row_id, r.op, dict(r.columns)) for r in rows)
        if _known(change, schema)
    ]
    if not ready:
        return 0
    keys = [(change.hlc, change.device_id) for change in ready]
    # The partial entries go, so the whole changes are not taken for duplicates.
    log = changes.c
    connection.execute(delete(changes).where(log.owner_id == owner_id, tuple_(log.hlc, log.device_id).in_(keys)))
    apply_changes(connection, owner_id, ready)
    connection.execute(delete(sync_held_changes).where(h.owner_id == owner_id, tuple_(h.hlc, h.device_id).in_(keys)))
    return len(ready)
