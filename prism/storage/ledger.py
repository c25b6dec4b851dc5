"""Writing and reading the ledger; every write maintains the positions projection.

Each function runs inside the caller's write transaction (``Database.write()``):
the ledger row and the projection change commit together or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, func, literal, select, tuple_, update

from prism.domain.ledger import (
    LedgerEntry,
    TransactionType,
    cash_effects,
    validate_entry,
)
from prism.domain.replay import fx_quote_from_entry
from prism.errors import ConflictError, NotFoundError, ValidationError
from prism.storage.changes import LoggedChange, capture, history
from prism.storage.engine import lock_owner
from prism.storage.entries import entry_from_row, entry_values
from prism.storage.projection import (
    add_cash,
    apply_entry,
    rebuild_asset,
    rebuild_stale,
    refresh_fx,
    retract_cash,
)
from prism.storage.tables import assets, portfolios, transactions

__all__ = [
    "EntryDetails",
    "StoredTransaction",
    "TransactionFilter",
    "delete_transaction",
    "get_transaction",
    "list_transactions",
    "record_transaction",
    "transaction_history",
    "update_transaction",
]


@dataclass(frozen=True, slots=True)
class EntryDetails:
    """What a transaction carries beyond the numbers: provenance and a note."""

    source: str | None = None
    external_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    """A ledger row as read back."""

    entry: LedgerEntry
    details: EntryDetails
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Which transactions to list (all of an owner when empty)."""

    portfolio_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    type: TransactionType | None = None
    start: dt.date | None = None
    end: dt.date | None = None


def _stored(row: Any) -> StoredTransaction:
    return StoredTransaction(
        entry=entry_from_row(row),
        details=EntryDetails(row["source"], row["external_id"], row["note"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _live_portfolio_base(owner_id: uuid.UUID, portfolio_id: uuid.UUID | None) -> Any:
    p = portfolios.c
    if portfolio_id is None:
        return literal(None, String)
    return (
        select(p.base_currency)
        .where(p.owner_id == owner_id, p.id == portfolio_id, p.deleted_at.is_(None))
        .scalar_subquery()
    )


def _live_asset(owner_id: uuid.UUID, asset_id: uuid.UUID | None) -> Any:
    a = assets.c
    if asset_id is None:
        return literal(None, String)
    return select(a.id).where(a.owner_id == owner_id, a.id == asset_id, a.deleted_at.is_(None)).scalar_subquery()


def _check_references(connection: Connection, owner_id: uuid.UUID, entry: LedgerEntry) -> dict[uuid.UUID, str]:
    # One round trip for everything the entry refers to: writes are latency-bound.
    found = (
        connection.execute(
            select(
                _live_portfolio_base(owner_id, entry.portfolio_id).label("base"),
                _live_portfolio_base(owner_id, entry.target_portfolio_id).label("target_base"),
                _live_asset(owner_id, entry.asset_id).label("asset"),
            )
        )
    ).one()
    if found.base is None:
        raise ValidationError(f"no portfolio {entry.portfolio_id}", field="portfolio_id")
    bases = {entry.portfolio_id: str(found.base)}
    if entry.target_portfolio_id is not None:
        if found.target_base is None:
            raise ValidationError(f"no portfolio {entry.target_portfolio_id}", field="target_portfolio_id")
        bases[entry.target_portfolio_id] = str(found.target_base)
    if entry.asset_id is not None and found.asset is None:
        raise ValidationError(f"no asset {entry.asset_id}", field="asset_id")
    validate_entry(entry, bases)
    if entry.type is TransactionType.SPLIT:
        _check_single_split(connection, owner_id, entry)
    return bases


def _check_single_split(connection: Connection, owner_id: uuid.UUID, entry: LedgerEntry) -> None:
    # A split applies to every portfolio holding the asset; recording it twice would apply it twice.
    t = transactions.c
    twin = connection.scalar(
        select(func.count()).where(
            t.owner_id == owner_id,
            t.asset_id == entry.asset_id,
            t.type == TransactionType.SPLIT.value,
            t.date == entry.date,
            t.id != entry.id,
            t.deleted_at.is_(None),
        )
    )
    if twin:
        raise ConflictError(f"a split of this asset on {entry.date.isoformat()} is already recorded")


def record_transaction(
    connection: Connection,
    owner_id: uuid.UUID,
    entry: LedgerEntry,
    details: EntryDetails = EntryDetails(),
    *,
    check: bool = True,
    now: dt.datetime | None = None,
) -> StoredTransaction:
    """Store a new entry and fold it into the projection."""
    lock_owner(connection, owner_id)
    # Mid-catch-up the projection may be marked stale; local rules (oversell) need it true.
    rebuild_stale(connection, owner_id)
    bases = _check_references(connection, owner_id, entry)
    stamp = now or dt.datetime.now(dt.UTC)
    values = {
        **entry_values(entry),
        "owner_id": owner_id,
        "source": details.source,
        "external_id": details.external_id,
        "note": details.note,
        "created_at": stamp,
        "updated_at": stamp,
    }
    connection.execute(transactions.insert().values(values))
    capture(connection, owner_id, "transactions", entry.id, values)
    apply_entry(connection, owner_id, entry, bases[entry.portfolio_id], check=check)
    return StoredTransaction(entry, details, stamp, stamp)


def _live_row(connection: Connection, owner_id: uuid.UUID, transaction_id: uuid.UUID) -> Any:
    t = transactions.c
    query = select(transactions).where(t.owner_id == owner_id, t.id == transaction_id, t.deleted_at.is_(None))
    row = connection.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"no transaction {transaction_id}")
    return row


def _after_change(
    connection: Connection,
    owner_id: uuid.UUID,
    old: LedgerEntry,
    new: LedgerEntry | None,
    *,
    check: bool,
) -> None:
    """Bring the projection up to date after ``old`` became ``new`` (None: deleted)."""
    retract_cash(connection, owner_id, old)
    touched_assets = {e.asset_id for e in (old, new) if e is not None and e.asset_id is not None}
    pairs = set()
    for entry in (old, new):
        if entry is None:
            continue
        base = _base_currency_any(connection, owner_id, entry.portfolio_id)
        quote = fx_quote_from_entry(entry, base)
        if quote is not None:
            pairs.add(quote[0])
    if new is not None:
        add_cash(connection, owner_id, cash_effects(new))
    for asset_id in sorted(touched_assets, key=str):
        rebuild_asset(connection, owner_id, asset_id, check=check)
    for source, target in sorted(pairs):
        refresh_fx(connection, owner_id, source, target)


def _base_currency_any(connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID) -> str:
    p = portfolios.c
    return str(connection.scalar(select(p.base_currency).where(p.owner_id == owner_id, p.id == portfolio_id)))


def update_transaction(
    connection: Connection,
    owner_id: uuid.UUID,
    entry: LedgerEntry,
    details: EntryDetails,
    *,
    check: bool = True,
    now: dt.datetime | None = None,
) -> StoredTransaction:
    """Replace a live transaction's values; its id and its place among same-day entries stay."""
    lock_owner(connection, owner_id)
    # Mid-catch-up the projection may be marked stale; local rules (oversell) need it true.
    rebuild_stale(connection, owner_id)
    row = _live_row(connection, owner_id, entry.id)
    old = entry_from_row(row)
    entry = dataclasses.replace(entry, entry_order=old.entry_order)
    _check_references(connection, owner_id, entry)
    stamp = now or dt.datetime.now(dt.UTC)
    values = {
        **entry_values(entry),
        "source": details.source,
        "external_id": details.external_id,
        "note": details.note,
        "updated_at": stamp,
    }
    t = transactions.c
    connection.execute(update(transactions).where(t.owner_id == owner_id, t.id == entry.id).values(values))
    capture(connection, owner_id, "transactions", entry.id, values, old=row)
    _after_change(connection, owner_id, old, entry, check=check)
    return StoredTransaction(entry, details, row["created_at"], stamp)


def delete_transaction(
    connection: Connection,
    owner_id: uuid.UUID,
    transaction_id: uuid.UUID,
    *,
    check: bool = True,
    now: dt.datetime | None = None,
) -> None:
    """Soft-delete a transaction (a tombstone, so the delete can sync)."""
    lock_owner(connection, owner_id)
    # Mid-catch-up the projection may be marked stale; local rules (oversell) need it true.
    rebuild_stale(connection, owner_id)
    row = _live_row(connection, owner_id, transaction_id)
    stamp = now or dt.datetime.now(dt.UTC)
    t = transactions.c
    connection.execute(
        update(transactions)
        .where(t.owner_id == owner_id, t.id == transaction_id)
        .values(deleted_at=stamp, updated_at=stamp)
    )
    capture(connection, owner_id, "transactions", transaction_id, {"deleted_at": stamp}, op="delete")
    _after_change(connection, owner_id, entry_from_row(row), None, check=check)


def transaction_history(connection: Connection, owner_id: uuid.UUID, transaction_id: uuid.UUID) -> list[LoggedChange]:
    """Every change of one transaction, deleted ones included (the ledger's audit trail)."""
    t = transactions.c
    if connection.scalar(select(t.id).where(t.owner_id == owner_id, t.id == transaction_id)) is None:
        raise NotFoundError(f"no transaction {transaction_id}")
    return history(connection, owner_id, "transactions", transaction_id)


def get_transaction(connection: Connection, owner_id: uuid.UUID, transaction_id: uuid.UUID) -> StoredTransaction:
    """One live transaction, or :class:`NotFoundError`."""
    return _stored(_live_row(connection, owner_id, transaction_id))


def list_transactions(
    connection: Connection,
    owner_id: uuid.UUID,
    where: TransactionFilter = TransactionFilter(),
    *,
    after: tuple[dt.date, int, uuid.UUID] | None = None,
    limit: int | None = None,
) -> Sequence[StoredTransaction]:
    """Live transactions in ledger order, filtered; ``after`` is a keyset cursor."""
    t = transactions.c
    query = select(transactions).where(t.owner_id == owner_id, t.deleted_at.is_(None))
    for column, value in (
        ("portfolio_id", where.portfolio_id),
        ("asset_id", where.asset_id),
    ):
        if value is not None:
            query = query.where(t[column] == value)
    if where.type is not None:
        query = query.where(t.type == where.type.value)
    if where.start is not None:
        query = query.where(t.date >= where.start)
    if where.end is not None:
        query = query.where(t.date <= where.end)
    if after is not None:
        query = query.where(tuple_(t.date, t.entry_order, t.id) > tuple_(*after))
    query = query.order_by(t.date, t.entry_order, t.id)
    if limit is not None:
        query = query.limit(limit)
    result = connection.execute(query)
    return [_stored(row) for row in result.mappings()]
