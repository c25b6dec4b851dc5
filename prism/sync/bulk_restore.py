"""Restoring a snapshot into a device that holds nothing of the owner yet (the bootstrap).

A snapshot is a compacted log (docs/sync-protocol.md §10): per row, one change per
winning ``(hlc, device_id)`` with only the columns it still wins. Into a device whose
change log, pending rows and synced tables are empty for the owner, its changes are
all new, every row is new, and no change loses a column to another, so the general
merge's work per change (asking the log which changes it knows, reading each touched
row's earlier changes back, recording conflicts, carrying pending rows between pages)
finds nothing. Here the whole snapshot is folded at once, logged with one
``executemany`` and its rows written table by table, referenced tables first, by the
same :func:`~prism.sync.materialize.materialize` as a merge: the same stamps, the same
rows held back in ``sync_pending``. The result is what :func:`~prism.sync.merge.apply_changes`
leaves, chunk after chunk; a test restores one snapshot both ways and compares.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, Table, select

from prism.storage.engine import lock_owner
from prism.storage.ledger_load import gc_paused
from prism.storage.projection import rebuild_owner
from prism.storage.tables import SYNCED_TABLES, changes, sync_pending
from prism.sync.codec import WireChange
from prism.sync.fold import Folded, Logged, RowKey, fold, log_changes, unique_changes
from prism.sync.materialize import DEPENDENT, REFERENCED, TABLES, Batch, materialize
from prism.sync.merge import advance_clock, check_changes
from prism.sync.pending import save_pending

__all__ = ["holds_nothing", "restore_fresh"]

#: Tables the positions projection is derived from (as in prism.sync.merge).
_PROJECTED = frozenset({"transactions", "portfolios"})


def _has_rows(connection: Connection, table: Table, owner_id: uuid.UUID) -> bool:
    probe = select(table.c.owner_id).where(table.c.owner_id == owner_id).limit(1)
    return connection.execute(probe).first() is not None


def holds_nothing(connection: Connection, owner_id: uuid.UUID) -> bool:
    """Whether the owner's change log, pending rows and synced tables are all empty.

    Takes the owner's merge lock first, so the answer holds for the caller's transaction.
    """
    lock_owner(connection, owner_id)
    return not any(_has_rows(connection, table, owner_id) for table in (changes, sync_pending, *SYNCED_TABLES))


def _folds(unique: Sequence[WireChange]) -> dict[RowKey, Folded] | None:
    """Each row's folded state; None if some column is written by two changes (not a compacted log)."""
    entries: dict[RowKey, list[Logged]] = defaultdict(list)
    for change in unique:
        entries[(change.table, change.row_id)].append((change.hlc, change.device_id, change.columns))
    folds: dict[RowKey, Folded] = {}
    for key, logged in entries.items():
        state = fold(logged)
        if len(logged) > 1 and len(state) != sum(len(columns) for _, _, columns in logged):
            return None
        folds[key] = state
    return folds


def restore_fresh(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> int | None:
    """Apply a snapshot's changes to an owner :func:`holds_nothing` of; the number applied.

    None, having written nothing, when two changes write one column of a row: a
    snapshot that is not a compacted log goes through the general merge, which records
    the losers as conflicts.
    """
    check_changes(incoming)
    with gc_paused():  # hundreds of thousands of folds and rows, and no cycles
        unique = list(unique_changes(incoming).values())
        folds = _folds(unique)
        if folds is None:
            return None
        advance_clock(connection, owner_id, incoming)
        log_changes(connection, owner_id, unique)
        by_table: dict[str, dict[str, Folded]] = defaultdict(dict)
        for (table_name, row_id), state in folds.items():
            by_table[table_name][row_id] = state
        batch = Batch(connection, owner_id)
        waiting: set[RowKey] = set()
        for name in (*REFERENCED, *DEPENDENT):  # a row's references are settled before it
            rows = by_table.get(name)
            if rows:
                left, _count = materialize(batch, TABLES[name], rows)
                waiting.update((name, row_id) for row_id in left)
        save_pending(connection, owner_id, set(), waiting)
        if _PROJECTED & by_table.keys():
            rebuild_owner(connection, owner_id)
    return len(unique)
