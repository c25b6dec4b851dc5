"""Small builders that keep tests about behaviour, not setup."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.engine import Database
from prism.storage.ledger import record_transaction

CLOCK = EntryClock()

#: Real ISINs with valid check digits.
ISINS = ["IE00B4L5Y983", "US0378331005", "DE0007164600", "US5949181045", "IE00B5BMR087", "NL0010273215"]


def D(value: str | int) -> Decimal:
    return Decimal(value)


def entry(
    portfolio_id: uuid.UUID,
    kind: str,
    day: str | dt.date,
    *,
    currency: str = "EUR",
    **fields: Any,
) -> LedgerEntry:
    """A ledger entry; decimals may be given as strings."""
    for name in ("quantity", "price", "amount", "fee", "tax", "fx_rate", "ratio"):
        if isinstance(fields.get(name), (str, int)):
            fields[name] = Decimal(fields[name])
    return LedgerEntry(
        id=fields.pop("id", None) or new_id(),
        portfolio_id=portfolio_id,
        type=TransactionType(kind),
        date=day if isinstance(day, dt.date) else dt.date.fromisoformat(day),
        entry_order=fields.pop("entry_order", None) or CLOCK.next(),
        currency=currency,
        **fields,
    )


@dataclass
class Book:
    """An account with portfolios and assets, ready for ledger entries."""

    owner: uuid.UUID
    portfolios: list[uuid.UUID]
    assets: list[uuid.UUID]


async def make_book(
    db: Database, *, portfolios: tuple[str, ...] = ("EUR",), assets: int = 2, asset_currency: str = "EUR"
) -> Book:
    """An account with one portfolio per given base currency and ``assets`` assets."""

    def create(connection: Connection) -> Book:
        owner = create_account(connection, "test")
        portfolio_ids = [
            create_portfolio(connection, owner, f"P{i}", currency).id for i, currency in enumerate(portfolios)
        ]
        asset_ids = []
        for isin in ISINS[:assets]:
            asset = new_asset(owner, name=f"Asset {isin}", kind="etf", currency=asset_currency, isin=isin)
            asset_ids.append(save_asset(connection, owner, asset).id)
        return Book(owner, portfolio_ids, asset_ids)

    return await db.write(create)


async def record(db: Database, owner: uuid.UUID, *entries: LedgerEntry) -> None:
    """Record ``entries`` as local writes, all in one transaction."""

    def write(connection: Connection) -> None:
        for item in entries:
            record_transaction(connection, owner, item)

    await db.write(write)
