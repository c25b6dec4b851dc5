"""Holdings: positions valued at the latest known price, per portfolio and overall."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from prism.domain.money import CONTEXT, ZERO, canonical_value, divide
from prism.domain.positions import Position, Quote
from prism.domain.replay import FxQuote

__all__ = ["CostMethod", "Holding", "combine_holdings", "convert", "value_position"]


class CostMethod(StrEnum):
    """How sold units are matched against bought ones."""

    FIFO = "fifo"
    AVERAGE = "average"


@dataclass(frozen=True, slots=True)
class Holding:
    """What a person sees for one asset: amounts in ``currency`` (the portfolio's)."""

    asset_id: uuid.UUID
    portfolio_id: uuid.UUID | None  # None for a holding summed over portfolios
    currency: str
    quantity: Decimal
    cost_basis: Decimal
    realized_gain: Decimal
    dividends: Decimal
    price: Decimal | None
    price_currency: str | None
    price_date: dt.date | None
    market_value: Decimal | None
    unrealized_gain: Decimal | None
    consistent: bool


def convert(amount: Decimal, source: str, target: str, fx: Mapping[tuple[str, str], FxQuote]) -> Decimal | None:
    """``amount`` from ``source`` into ``target`` currency, or None if no rate is known."""
    if source == target:
        return amount
    direct = fx.get((source, target))
    if direct is not None:
        return CONTEXT.multiply(amount, direct.rate)
    inverse = fx.get((target, source))
    if inverse is not None:
        return divide(amount, inverse.rate)
    return None


def value_position(
    position: Position,
    method: CostMethod,
    currency: str,
    quote: Quote | None,
    fx: Mapping[tuple[str, str], FxQuote],
) -> Holding:
    """Value one position at ``quote`` in the portfolio's ``currency``."""
    cost = position.cost_basis(method)
    market_value: Decimal | None = None
    if quote is not None:
        market_value = convert(
            CONTEXT.multiply(position.quantity, quote.price),
            quote.currency,
            currency,
            fx,
        )
    elif position.quantity == 0:
        market_value = ZERO
    unrealized = None if market_value is None else canonical_value(CONTEXT.subtract(market_value, cost))
    return Holding(
        asset_id=position.asset_id,
        portfolio_id=position.portfolio_id,
        currency=currency,
        quantity=position.quantity,
        cost_basis=cost,
        realized_gain=position.realized(method),
        dividends=position.dividends,
        price=quote.price if quote else None,
        price_currency=quote.currency if quote else None,
        price_date=quote.date if quote else None,
        market_value=None if market_value is None else canonical_value(market_value),
        unrealized_gain=unrealized,
        consistent=position.is_consistent,
    )


def _add(left: Decimal | None, right: Decimal | None) -> Decimal | None:
    if left is None or right is None:
        return None
    return canonical_value(CONTEXT.add(left, right))


def combine_holdings(holdings: Iterable[Holding]) -> list[Holding]:
    """Sum holdings of one asset across portfolios of one currency.

    Portfolios with different base currencies are not converted into each other:
    the overall view has one row per (asset, currency), so no FX guess enters it.
    """
    combined: dict[tuple[uuid.UUID, str], Holding] = {}
    for holding in holdings:
        key = (holding.asset_id, holding.currency)
        seen = combined.get(key)
        if seen is None:
            combined[key] = dataclasses.replace(holding, portfolio_id=None)
            continue
        combined[key] = Holding(
            asset_id=seen.asset_id,
            portfolio_id=None,
            currency=seen.currency,
            quantity=canonical_value(CONTEXT.add(seen.quantity, holding.quantity)),
            cost_basis=canonical_value(CONTEXT.add(seen.cost_basis, holding.cost_basis)),
            realized_gain=canonical_value(CONTEXT.add(seen.realized_gain, holding.realized_gain)),
            dividends=canonical_value(CONTEXT.add(seen.dividends, holding.dividends)),
            price=seen.price,
            price_currency=seen.price_currency,
            price_date=seen.price_date,
            market_value=_add(seen.market_value, holding.market_value),
            unrealized_gain=_add(seen.unrealized_gain, holding.unrealized_gain),
            consistent=seen.consistent and holding.consistent,
        )
    return sorted(combined.values(), key=lambda h: (str(h.asset_id), h.currency))
