"""What the account holds, in one currency: the positions the shell's tables and cards show.

The old app had one portfolio (id 1) in euros; Prism has several, each in its own base
currency. A legacy ``portfolioId`` number therefore means *all* portfolios, valued in
the owner's ``base_currency`` setting; a Prism portfolio UUID means that portfolio in
its base currency. Holdings come from the positions projection
(:func:`prism.storage.holdings.read_holdings`) and are converted with the ledger's
latest FX rates, the same rates the projection itself values with; nothing here
touches a float.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from prism.domain.holdings import convert
from prism.domain.replay import FxQuote
from prism.errors import ValidationError
from prism.storage.catalog import get_portfolio
from prism.storage.holdings import read_holdings
from prism.storage.settings import get_setting
from prism.storage.tables import assets, fx_rates

__all__ = ["Book", "Line", "portfolio_of", "read_book"]

_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Line:
    """One asset held, amounts in the book's currency (``value`` None: no price or rate)."""

    asset_id: uuid.UUID
    isin: str | None
    name: str
    ticker: str | None
    kind: str
    asset_class: str | None
    quantity: Decimal
    cost: Decimal | None  # None: the cost is in a currency without a rate
    value: Decimal | None
    price: Decimal | None  # per unit, in ``price_currency``
    price_currency: str | None
    price_date: dt.date | None


@dataclass(frozen=True, slots=True)
class Book:
    """The holdings of one portfolio or of all, in ``currency``."""

    currency: str
    lines: list[Line]


def portfolio_of(payload: dict[str, Any]) -> uuid.UUID | None:
    """The portfolio a payload names: a UUID string, or None (all) for the legacy numbers."""
    given = payload.get("portfolioId")
    if given is None or (isinstance(given, int) and not isinstance(given, bool)):
        return None
    if isinstance(given, str):
        try:
            return uuid.UUID(given)
        except ValueError:
            pass
    raise ValidationError("must be a portfolio UUID or the legacy number 1", field="portfolioId")


def _rates(connection: Connection, owner_id: uuid.UUID) -> dict[tuple[str, str], FxQuote]:
    f = fx_rates.c
    rows = connection.execute(
        select(f.source, f.target, f.rate, f.last_date, f.last_order, f.last_id).where(f.owner_id == owner_id)
    )
    return {(s, t): FxQuote(rate, (day, order, ident)) for s, t, rate, day, order, ident in rows}


def _text(metadata: Any, key: str) -> str | None:
    found = metadata.get(key) if isinstance(metadata, dict) else None
    return found if isinstance(found, str) and found else None


def _add(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    return None if first is None or second is None else _CONTEXT.add(first, second)


def read_book(connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None) -> Book:
    """The holdings asked for, one line per asset, in one currency (one read transaction)."""
    if portfolio_id is not None:
        currency = get_portfolio(connection, owner_id, portfolio_id).base_currency
    else:
        currency = str(get_setting(connection, owner_id, "base_currency").value)
    found = read_holdings(connection, owner_id, portfolio_id=portfolio_id)
    rates = _rates(connection, owner_id)
    a = assets.c
    facts = {
        row.id: row
        for row in connection.execute(
            select(a.id, a.isin, a.name, a.ticker, a.kind, a.metadata).where(a.owner_id == owner_id)
        )
    }
    lines: dict[uuid.UUID, Line] = {}
    for holding in found:
        fact = facts.get(holding.asset_id)
        cost = convert(holding.cost_basis, holding.currency, currency, rates)
        value = (
            None if holding.market_value is None else convert(holding.market_value, holding.currency, currency, rates)
        )
        seen = lines.get(holding.asset_id)
        if seen is not None:  # the same asset in portfolios of different currencies
            lines[holding.asset_id] = Line(
                seen.asset_id,
                seen.isin,
                seen.name,
                seen.ticker,
                seen.kind,
                seen.asset_class,
                _CONTEXT.add(seen.quantity, holding.quantity),
                _add(seen.cost, cost),
                _add(seen.value, value),
                seen.price,
                seen.price_currency,
                seen.price_date,
            )
            continue
        lines[holding.asset_id] = Line(
            asset_id=holding.asset_id,
            isin=fact.isin if fact else None,
            name=fact.name if fact else "",
            ticker=fact.ticker if fact else None,
            kind=fact.kind if fact else "other",
            asset_class=_text(fact.metadata, "asset_class") if fact else None,
            quantity=holding.quantity,
            cost=cost,
            value=value,
            price=holding.price,
            price_currency=holding.price_currency,
            price_date=holding.price_date,
        )
    return Book(currency, list(lines.values()))
