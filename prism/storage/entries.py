"""Ledger rows <-> :class:`~prism.domain.ledger.LedgerEntry`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, select

from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.tables import portfolios, transactions

__all__ = [
    "entry_from_row",
    "entry_values",
    "load_base_currencies",
    "load_entries",
    "select_entries",
]


def entry_from_row(row: RowMapping) -> LedgerEntry:
    """The domain entry stored in a ``transactions`` row."""
    return LedgerEntry(
        id=row["id"],
        portfolio_id=row["portfolio_id"],
        type=TransactionType(row["type"]),
        date=row["date"],
        entry_order=row["entry_order"],
        currency=row["currency"],
        asset_id=row["asset_id"],
        quantity=row["quantity"],
        price=row["price"],
        amount=row["amount"],
        fee=row["fee"],
        tax=row["tax"],
        fx_rate=row["fx_rate"],
        ratio=row["ratio"],
        target_portfolio_id=row["target_portfolio_id"],
    )


def entry_values(entry: LedgerEntry) -> dict[str, Any]:
    """The ``transactions`` columns an entry fills."""
    return {
        "id": entry.id,
        "portfolio_id": entry.portfolio_id,
        "type": entry.type.value,
        "date": entry.date,
        "entry_order": entry.entry_order,
        "currency": entry.currency,
        "asset_id": entry.asset_id,
        "quantity": entry.quantity,
        "price": entry.price,
        "amount": entry.amount,
        "fee": entry.fee,
        "tax": entry.tax,
        "fx_rate": entry.fx_rate,
        "ratio": entry.ratio,
        "target_portfolio_id": entry.target_portfolio_id,
    }


def select_entries(owner_id: uuid.UUID) -> Select[Any]:
    """Live (not deleted) ledger rows of one owner, in ledger order."""
    t = transactions.c
    return (
        select(transactions).where(t.owner_id == owner_id, t.deleted_at.is_(None)).order_by(t.date, t.entry_order, t.id)
    )


def load_entries(connection: Connection, owner_id: uuid.UUID, asset_id: uuid.UUID | None = None) -> list[LedgerEntry]:
    """Every live entry of an owner (or of one asset), in ledger order."""
    query = select_entries(owner_id)
    if asset_id is not None:
        query = query.where(transactions.c.asset_id == asset_id)
    result = connection.execute(query)
    entries = [entry_from_row(row) for row in result.mappings()]
    entries.sort(key=lambda e: e.sort_key)  # uuid order differs by database; str order does not
    return entries


def load_base_currencies(connection: Connection, owner_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Base currency of every portfolio of an owner, deleted ones included."""
    p = portfolios.c
    result = connection.execute(select(p.id, p.base_currency).where(p.owner_id == owner_id))
    return {row.id: row.base_currency for row in result}
