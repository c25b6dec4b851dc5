"""Recording many ledger entries at once, with the rules of a single write.

An import of a million rows cannot pay a single write's round trips per row: here the
references are loaded once, entries are checked in Python, and rows and their change-log
entries are inserted in batches (:mod:`prism.storage.ledger_rows`). Entries that arrive
in ledger order, after everything already stored (an import of a date-sorted file), are
folded onto the projection as they come, in memory that grows with the positions, not
the rows; the first that does not switches the recording to one rebuild of the
projection at the end. Either way the sells are judged against what was held *at their
date*, as :func:`~prism.storage.ledger.record_transaction` would. Everything runs in
the caller's transaction: an error at any point leaves nothing behind.

Usage, with entries streamed in chunks so memory stays flat::

    bulk = begin_bulk(connection, owner_id)
    for chunk in chunks:
        add_entries(connection, bulk, chunk)
    finish_bulk(connection, bulk)
"""

from __future__ import annotations

import datetime as dt
import uuid
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from prism.domain.ledger import LedgerEntry, TransactionType, validate_entry
from prism.domain.money import ZERO, canonical
from prism.domain.positions import SortKey
from prism.domain.replay import LedgerState
from prism.errors import ConflictError, InsufficientHoldingsError, ValidationError
from prism.storage.engine import lock_owner
from prism.storage.entries import load_entries
from prism.storage.ledger import EntryDetails
from prism.storage.ledger_rows import LedgerRows
from prism.storage.projection import load_state, mark_stale, rebuild_stale, save_state
from prism.storage.tables import assets, portfolios, positions, transactions

__all__ = ["BulkRecording", "BulkRowError", "add_entries", "begin_bulk", "check_entry", "finish_bulk", "overdrawn_rows"]

_BATCH = 2000


class BulkRowError(ValidationError):
    """An entry of a bulk recording breaks a rule; ``row`` is its position (from 0)."""

    def __init__(self, row: int, error: ValidationError) -> None:
        super().__init__(error.message, field=error.field)
        self.row = row
        self.code = error.code


def _short(ident: uuid.UUID) -> int:
    # The low 64 bits: random in v4 and v7 ids (whose high bits are a timestamp), hashed in v5.
    return ident.int & 0xFFFF_FFFF_FFFF_FFFF


@dataclass(slots=True)
class BulkRecording:
    """What a bulk recording knows of the owner, and what it has recorded so far."""

    owner_id: uuid.UUID
    bases: dict[uuid.UUID, str]
    live_assets: set[uuid.UUID]
    splits: set[tuple[uuid.UUID, dt.date]]
    overdrafts_before: set[str]
    rows: LedgerRows
    #: The projection with every entry so far folded in; None once one came out of order.
    state: LedgerState | None
    #: The newest ledger key stored or folded.
    newest: SortKey | None
    #: Each folded asset's newest key (its ``asset_states`` row is rewritten).
    folded_assets: dict[uuid.UUID, SortKey] = field(default_factory=dict)
    #: The low 64 bits of each recorded entry's id, in order: 8 bytes a row, enough to
    #: name the row of an oversell found at the end.
    recorded: array[int] = field(default_factory=lambda: array("Q"))
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def count(self) -> int:
        """How many entries were recorded."""
        return len(self.recorded)

    def row_of(self, ident: uuid.UUID) -> int:
        """The position of recorded entry ``ident``."""
        return self.recorded.index(_short(ident))


def _overdrafts(connection: Connection, owner_id: uuid.UUID) -> set[str]:
    rows = connection.execute(select(positions.c.overdrafts).where(positions.c.owner_id == owner_id))
    return {str(ident) for (found,) in rows for ident in found}


def _newest(connection: Connection, owner_id: uuid.UUID) -> SortKey | None:
    t = transactions.c
    row = connection.execute(
        select(t.date, t.entry_order, t.id)
        .where(t.owner_id == owner_id, t.deleted_at.is_(None))
        .order_by(t.date.desc(), t.entry_order.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.date, row.entry_order, str(row.id))


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
    overdrafts = _overdrafts(connection, owner_id)
    return BulkRecording(
        owner_id,
        bases,
        live,
        splits,
        overdrafts,
        LedgerRows(connection),
        load_state(connection, owner_id),
        _newest(connection, owner_id),
    )


def check_entry(bulk: BulkRecording, entry: LedgerEntry) -> None:
    """Judge one new entry by the rules of a single write (all but the oversell, judged
    by :func:`finish_bulk`); raises :class:`ValidationError` or :class:`ConflictError`.

    An id recorded twice is refused by the database's key when the rows are inserted.
    """
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


def _fold(bulk: BulkRecording, entry: LedgerEntry) -> None:
    state = bulk.state
    if state is None:
        return
    key = entry.sort_key
    if bulk.newest is not None and key <= bulk.newest:
        bulk.state = None  # out of order: the projection is rebuilt at the end instead
        bulk.folded_assets.clear()
        return
    state.apply(entry, key)
    bulk.newest = key
    if entry.asset_id is not None:
        bulk.folded_assets[entry.asset_id] = key


def add_entries(
    connection: Connection,
    bulk: BulkRecording,
    chunk: Sequence[tuple[LedgerEntry, EntryDetails]],
    *,
    checked: bool = False,
    store: bool = True,
) -> None:
    """Check and store ``chunk`` (new entries); :class:`BulkRowError` names a bad one.

    ``checked``: every entry of ``chunk`` has passed :func:`check_entry` against ``bulk``.
    ``store=False`` only folds them (a doomed import still finds every oversell:
    :func:`overdrawn_rows`).
    """
    for entry, _ in chunk:
        try:
            if not checked:
                check_entry(bulk, entry)
        except ValidationError as error:
            raise BulkRowError(bulk.count, error) from None
        except ConflictError as error:
            raise BulkRowError(bulk.count, ValidationError(error.message, field="id")) from None
        bulk.recorded.append(_short(entry.id))
        _fold(bulk, entry)
    if not store:
        return
    for start in range(0, len(chunk), _BATCH):
        bulk.rows.insert(connection, bulk.owner_id, bulk.now, chunk[start : start + _BATCH])


def finish_bulk(connection: Connection, bulk: BulkRecording) -> int:
    """Bring the projection up to date and judge the sells; how many entries were recorded.

    A sell (or transfer, or delivery out) of more than was held at its date is refused
    with :class:`BulkRowError` naming the first such entry, as a single write would be.
    """
    if bulk.state is not None:
        save_state(connection, bulk.owner_id, bulk.state, bulk.folded_assets)
    else:
        mark_stale(connection, bulk.owner_id)
        rebuild_stale(connection, bulk.owner_id)
    fresh = {uuid.UUID(ident) for ident in _overdrafts(connection, bulk.owner_id) - bulk.overdrafts_before}
    culprits = {ident: bulk.row_of(ident) for ident in fresh if _short(ident) in bulk.recorded}
    if culprits:
        first = min(culprits, key=culprits.__getitem__)
        raise BulkRowError(culprits[first], _oversold(connection, bulk, first))
    return bulk.count


def overdrawn_rows(bulk: BulkRecording) -> list[int] | None:
    """The rows (positions) of every recorded entry that took out more than was held, in
    order; None when entries came out of ledger order (only a rebuild can tell)."""
    if bulk.state is None:
        return None
    after = {str(ident) for position in bulk.state.positions.values() for ident in position.overdrafts}
    fresh = [uuid.UUID(ident) for ident in after - bulk.overdrafts_before]
    return sorted(bulk.row_of(ident) for ident in fresh if _short(ident) in bulk.recorded)


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
