"""Recording many ledger entries at once, with the rules of a single write.

An import of a million rows cannot pay a single write's round trips per row: here the
references are loaded once, entries are checked in Python, rows and their change-log
entries are inserted in batches, and the projection is rebuilt once at the end, when
the sells are judged against what was held *at their date* as
:func:`~prism.storage.ledger.record_transaction` would. Everything runs in the
caller's transaction: an error at any point leaves nothing behind.

Usage, with entries streamed in chunks so memory stays flat::

    bulk = begin_bulk(connection, owner_id)
    for chunk in chunks:
        add_entries(connection, bulk, chunk)
    finish_bulk(connection, bulk)
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from prism.domain.ledger import LedgerEntry, TransactionType, validate_entry
from prism.domain.money import ZERO, canonical
from prism.domain.replay import LedgerState
from prism.errors import ConflictError, InsufficientHoldingsError, ValidationError
from prism.storage.changes import capture_inserts
from prism.storage.engine import lock_owner
from prism.storage.entries import entry_values, load_entries
from prism.storage.ledger import EntryDetails
from prism.storage.projection import mark_stale, rebuild_stale
from prism.storage.tables import assets, portfolios, positions, transactions

__all__ = ["BulkRecording", "BulkRowError", "add_entries", "begin_bulk", "check_entry", "finish_bulk"]

_BATCH = 2000


class BulkRowError(ValidationError):
    """An entry of a bulk recording breaks a rule; ``row`` is its position (from 0)."""

    def __init__(self, row: int, error: ValidationError) -> None:
        super().__init__(error.message, field=error.field)
        self.row = row
        self.code = error.code


@dataclass(slots=True)
class BulkRecording:
    """What a bulk recording knows of the owner, and what it has recorded so far."""

    owner_id: uuid.UUID
    bases: dict[uuid.UUID, str]
    live_assets: set[uuid.UUID]
    splits: set[tuple[uuid.UUID, dt.date]]
    overdrafts_before: set[str]
    recorded: dict[uuid.UUID, int] = field(default_factory=dict)  # entry id -> its row
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _overdrafts(connection: Connection, owner_id: uuid.UUID) -> set[str]:
    rows = connection.execute(select(positions.c.overdrafts).where(positions.c.owner_id == owner_id))
    return {str(ident) for (found,) in rows for ident in found}


def begin_bulk(connection: Connection, owner_id: uuid.UUID) -> BulkRecording:
    """Start recording entries of ``owner_id`` in the caller's transaction."""
    lock_owner(connection, owner_id)
    rebuild_stale(connection, owner_id)
    p, a, t = portfolios.c, assets.c, transactions.c
    bases = {
        row.id: str(row.base_currency)
        for row in connection.execute(
            select(p.id, p.base_currency).where(p.owner_id == owner_id, p.deleted_at.is_(None))
        )
    }
    live = set(connection.scalars(select(a.id).where(a.owner_id == owner_id, a.deleted_at.is_(None))))
    splits = {
        (row.asset_id, row.date)
        for row in connection.execute(
            select(t.asset_id, t.date).where(
                t.owner_id == owner_id, t.type == TransactionType.SPLIT.value, t.deleted_at.is_(None)
            )
        )
    }
    return BulkRecording(owner_id, bases, live, splits, _overdrafts(connection, owner_id))


def check_entry(bulk: BulkRecording, entry: LedgerEntry) -> None:
    """Judge one new entry by the rules of a single write (all but the oversell, judged
    by :func:`finish_bulk`); raises :class:`ValidationError` or :class:`ConflictError`."""
    if entry.id in bulk.recorded:
        raise ConflictError(f"entry {entry.id} appears twice")
    if entry.portfolio_id not in bulk.bases:
        raise ValidationError(f"no portfolio {entry.portfolio_id}", field="portfolio_id")
    target = entry.target_portfolio_id
    if target is not None and target not in bulk.bases:
        raise ValidationError(f"no portfolio {target}", field="target_portfolio_id")
    if entry.asset_id is not None and entry.asset_id not in bulk.live_assets:
        raise ValidationError(f"no asset {entry.asset_id}", field="asset_id")
    validate_entry(entry, bulk.bases)
    if entry.type is TransactionType.SPLIT:
        assert entry.asset_id is not None  # validate_entry requires it
        key = (entry.asset_id, entry.date)
        if key in bulk.splits:
            raise ConflictError(f"a split of this asset on {entry.date.isoformat()} is already recorded")
        bulk.splits.add(key)


def add_entries(
    connection: Connection,
    bulk: BulkRecording,
    chunk: Sequence[tuple[LedgerEntry, EntryDetails]],
    *,
    checked: bool = False,
) -> None:
    """Check and store ``chunk`` (new entries); :class:`BulkRowError` names a bad one.

    ``checked``: every entry of ``chunk`` has passed :func:`check_entry` against ``bulk``.
    """
    rows = []
    for entry, details in chunk:
        number = len(bulk.recorded)
        try:
            if not checked:
                check_entry(bulk, entry)
        except ValidationError as error:
            raise BulkRowError(number, error) from None
        except ConflictError as error:
            raise BulkRowError(number, ValidationError(error.message, field="id")) from None
        bulk.recorded[entry.id] = number
        rows.append(
            {
                **entry_values(entry),
                "owner_id": bulk.owner_id,
                "source": details.source,
                "external_id": details.external_id,
                "note": details.note,
                "created_at": bulk.now,
                "updated_at": bulk.now,
            }
        )
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        connection.execute(transactions.insert(), part)
        capture_inserts(connection, bulk.owner_id, "transactions", [(row["id"], row) for row in part])


def finish_bulk(connection: Connection, bulk: BulkRecording) -> int:
    """Rebuild the projection once and judge the sells; how many entries were recorded.

    A sell (or transfer, or delivery out) of more than was held at its date is refused
    with :class:`BulkRowError` naming the first such entry, as a single write would be.
    """
    mark_stale(connection, bulk.owner_id)
    rebuild_stale(connection, bulk.owner_id)
    fresh = _overdrafts(connection, bulk.owner_id) - bulk.overdrafts_before
    culprits = {uuid.UUID(ident) for ident in fresh} & bulk.recorded.keys()
    if culprits:
        first = min(culprits, key=bulk.recorded.__getitem__)
        raise BulkRowError(bulk.recorded[first], _oversold(connection, bulk, first))
    return len(bulk.recorded)


def _oversold(connection: Connection, bulk: BulkRecording, culprit: uuid.UUID) -> InsufficientHoldingsError:
    """The error a single write of ``culprit`` would have raised: what was held before it."""
    asset = connection.scalar(
        select(transactions.c.asset_id).where(transactions.c.owner_id == bulk.owner_id, transactions.c.id == culprit)
    )
    state = LedgerState(bulk.bases)
    for entry in load_entries(connection, bulk.owner_id, asset):
        if entry.id == culprit:
            held = state.positions.get((entry.portfolio_id, entry.asset_id)) if entry.asset_id else None
            quantity = canonical(held.quantity if held is not None else ZERO)
            return InsufficientHoldingsError(
                f"cannot take out {canonical(entry.quantity or ZERO)} units: the portfolio holds "
                f"{quantity} on {entry.date.isoformat()}",
                field="quantity",
            )
        state.apply(entry)
    return InsufficientHoldingsError("takes out more than the portfolio held at its date", field="quantity")
