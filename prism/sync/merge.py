"""Merging changes from other devices (docs/sync-protocol.md §5).

A row's state is a function of its logged changes: per column, the value of the change
with the greatest ``(hlc, device_id)``. Applying remote changes therefore means adding
them to the log (duplicates are ignored by the log's key) and re-deriving the rows they
touch, which makes apply idempotent and commutative: devices that hold the same log
hold the same rows, whatever the order, duplication or delay of delivery.

A row whose required columns or referenced rows have not arrived yet stays pending
(``sync_pending``) and appears once they do. Merged changes are never refused by
local-write rules; the positions projection is rebuilt and flags what is inconsistent.
A change that loses a column to another device's value is kept in the conflicts log.

The work is done in bulk (:mod:`prism.sync.fold` for the log,
:mod:`prism.sync.materialize` for the tables): a fresh device takes in another's
whole history in one merge.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from prism.domain.hlc import hlc_receive
from prism.errors import ValidationError
from prism.storage.changes import new_device_id
from prism.storage.engine import lock_owner
from prism.storage.ledger_load import gc_paused
from prism.storage.projection import mark_stale, rebuild_owner, rebuild_stale
from prism.storage.tables import changes, clock_states
from prism.sync.codec import WireChange
from prism.sync.encode import decode_column
from prism.sync.fold import (
    Folded,
    Logged,
    RowKey,
    fold,
    known_keys,
    log_bounds,
    log_changes,
    prior_changes,
    record_conflicts,
    unique_changes,
)
from prism.sync.materialize import DEPENDENT, REFERENCED, TABLES, Batch, ident, materialize, row_clause
from prism.sync.pending import load_pending, save_pending

__all__ = [
    "ApplyReport",
    "advance_clock",
    "apply_changes",
    "changes_since",
    "check_changes",
    "decode_column",
    "rebuild_stale",
    "row_clause",
]

_OPS = frozenset({"insert", "update", "delete"})
#: Tables the positions projection is derived from.
_PROJECTED = frozenset({"transactions", "portfolios"})


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did."""

    applied: int
    duplicates: int
    conflicts: int
    pending: int


def changes_since(connection: Connection, owner_id: uuid.UUID, after: int = -1) -> list[WireChange]:
    """Every logged change (any device) with an HLC greater than ``after``, in HLC order."""
    c = changes.c
    rows = connection.execute(
        select(c.hlc, c.device_id, c.table_name, c.row_id, c.op, c.columns)
        .where(c.owner_id == owner_id, c.hlc > after)
        .order_by(c.hlc, c.device_id)
    )
    return [WireChange(r.hlc, r.device_id, r.table_name, r.row_id, r.op, dict(r.columns)) for r in rows]


def check_changes(incoming: Sequence[WireChange]) -> None:
    for change in incoming:
        if change.table not in TABLES:
            raise ValidationError(f"unknown table {change.table!r}", field="table")
        if change.op not in _OPS:
            raise ValidationError(f"unknown operation {change.op!r}", field="op")


def advance_clock(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> None:
    c = clock_states.c
    row = connection.execute(select(c.last_hlc).where(c.owner_id == owner_id)).first()
    last = row.last_hlc if row is not None else 0
    if incoming:
        # Receiving is a maximum with a plausibility check, so the greatest HLC decides
        # both: an implausible clock refuses the whole apply.
        last = hlc_receive(last, max(change.hlc for change in incoming), time.time_ns() // 1_000_000)
    if row is None:
        connection.execute(clock_states.insert().values(owner_id=owner_id, device_id=new_device_id(), last_hlc=last))
    else:
        connection.execute(update(clock_states).where(c.owner_id == owner_id).values(last_hlc=last))


def _by_table(folds: Mapping[RowKey, Folded], names: Sequence[str]) -> dict[str, dict[str, Folded]]:
    grouped: dict[str, dict[str, Folded]] = {name: {} for name in names}
    for (table_name, row_id), state in folds.items():
        if table_name in grouped:
            grouped[table_name][row_id] = state
    return grouped


def _settle(
    connection: Connection, owner_id: uuid.UUID, folds: dict[RowKey, Folded], held: set[RowKey]
) -> tuple[set[RowKey], set[RowKey]]:
    """Materialize the folded rows; (rows still pending, rows that appeared from ``held``)."""
    batch = Batch(connection, owner_id)
    waiting: set[RowKey] = set()
    inserted = 0
    for name, rows in _by_table(folds, REFERENCED).items():
        left, count = materialize(batch, TABLES[name], rows)
        waiting.update((name, row_id) for row_id in left)
        inserted += count
    retry = {key for key in held if key[0] in DEPENDENT and key not in folds} if inserted else set()
    for key, logged in prior_changes(connection, owner_id, retry).items():
        folds[key] = fold(logged)
    for name, rows in _by_table(folds, DEPENDENT).items():
        left, _count = materialize(batch, TABLES[name], rows)
        waiting.update((name, row_id) for row_id in left)
    untouched: dict[str, list[str]] = defaultdict(list)
    for table_name, row_id in held - folds.keys():
        untouched[table_name].append(row_id)
    for table_name, row_ids in untouched.items():
        # A local write may since have created the row: then it is no longer pending.
        table = TABLES[table_name]
        found = {str(ident) for ident in batch.presence.find(table, (ident(table, r) for r in row_ids))}
        waiting.update((table_name, row_id) for row_id in row_ids if row_id not in found)
    return waiting, (retry - waiting)


def apply_changes(
    connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange], *, rebuild: bool = True
) -> ApplyReport:
    """Merge changes from other devices into this one, in the caller's transaction.

    With ``rebuild=False`` the positions projection is only marked stale: a caller
    applying many pages rebuilds it once at the end with :func:`rebuild_stale`.
    """
    check_changes(incoming)
    lock_owner(connection, owner_id)  # two merges of one owner must not interleave (PostgreSQL)
    with gc_paused():  # a page's folds and rows are many live objects and no cycles
        return _apply(connection, owner_id, incoming, rebuild=rebuild)


def _apply(
    connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange], *, rebuild: bool
) -> ApplyReport:
    advance_clock(connection, owner_id, incoming)
    unique = unique_changes(incoming)
    bounds = log_bounds(connection, owner_id)
    known = known_keys(connection, owner_id, unique, bounds)
    fresh = [change for key, change in unique.items() if key not in known]
    touched = {(change.table, change.row_id) for change in fresh}
    entries: dict[RowKey, list[Logged]] = defaultdict(list)
    if bounds is not None:
        entries.update(prior_changes(connection, owner_id, touched))
    for change in fresh:
        entries[(change.table, change.row_id)].append((change.hlc, change.device_id, change.columns))
    log_changes(connection, owner_id, fresh)
    folds = {key: fold(logged) for key, logged in entries.items()}
    contested = [change for change in fresh if len(entries[(change.table, change.row_id)]) > 1]
    conflicts = record_conflicts(connection, owner_id, contested, folds)
    held = load_pending(connection, owner_id)
    waiting, appeared = _settle(connection, owner_id, folds, held)
    save_pending(connection, owner_id, held, waiting)
    projected = any(table_name in _PROJECTED for table_name, _ in touched | appeared)
    if not rebuild:
        if projected:
            mark_stale(connection, owner_id)
    elif not rebuild_stale(connection, owner_id) and projected:  # an earlier page's mark is settled too
        rebuild_owner(connection, owner_id)
    return ApplyReport(len(fresh), len(incoming) - len(fresh), conflicts, len(waiting))
