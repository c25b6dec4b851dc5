"""Holdings: positions valued at the latest known price, per portfolio and overall."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from prism.domain.money import CONTEXT, ZERO, divide
from prism.domain.positions import CostMethod, PositionFigures, Quote
from prism.domain.replay import FxQuote

__all__ = [
    "CostMethod",
    "Holding",
    "combine_positions",
    "convert",
    "Valuable",
    "value_holdings",
    "value_position",
]


class Holding(NamedTuple):
    """What a person sees for one asset: amounts in ``currency`` (the portfolio's).

    A named tuple because a read builds a thousand of them at a time.
    """

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
    position: PositionFigures,
    currency: str,
    quote: Quote | None,
    fx: Mapping[tuple[str, str], FxQuote],
    *,
    portfolio_id: uuid.UUID | None = None,
) -> Holding:
    """Value one position at ``quote`` in ``currency`` (its portfolio's)."""
    market_value: Decimal | None = None
    quantity = position.quantity
    if quote is not None:
        market_value = convert(CONTEXT.multiply(quantity, quote.price), quote.currency, currency, fx)
    elif quantity == 0:
        market_value = ZERO
    cost = position.cost_basis
    return Holding(
        position.asset_id,
        portfolio_id,
        currency,
        quantity,
        cost,
        position.realized_gain,
        position.dividends,
        quote.price if quote else None,
        quote.currency if quote else None,
        quote.date if quote else None,
        market_value,
        None if market_value is None else CONTEXT.subtract(market_value, cost),
        position.consistent,
    )


#: A position to value: its figures, its portfolio's currency, its asset's latest price.
Valuable = tuple[PositionFigures, str, Quote | None]


def combine_positions(positions: Iterable[Valuable]) -> list[Valuable]:
    """Sum positions of one asset across portfolios that share a currency.

    Portfolios with different base currencies are not converted into each other:
    the overall view has one row per (asset, currency), so no FX guess enters it.
    The sums come in (asset, currency) order.
    """
    sums: dict[tuple[uuid.UUID, str], Valuable] = {}
    add = CONTEXT.add
    for item in positions:
        p, currency, quote = item
        key = (p.asset_id, currency)
        seen = sums.get(key)
        if seen is None:
            sums[key] = item
            continue
        s = seen[0]
        total = PositionFigures(
            p.portfolio_id,
            p.asset_id,
            add(s.quantity, p.quantity),
            add(s.cost_basis, p.cost_basis),
            add(s.realized_gain, p.realized_gain),
            add(s.dividends, p.dividends),
            s.consistent and p.consistent,
        )
        sums[key] = (total, currency, quote)
    return [sums[key] for key in sorted(sums)]


def value_holdings(
    positions: Iterable[Valuable], fx: Mapping[tuple[str, str], FxQuote], *, combine: bool
) -> list[Holding]:
    """Holdings of the given positions, by asset; ``combine`` sums them over portfolios."""
    if combine:
        return [value_position(p, currency, quote, fx) for p, currency, quote in combine_positions(positions)]
    valued = [value_position(p, currency, quote, fx, portfolio_id=p.portfolio_id) for p, currency, quote in positions]
    valued.sort(key=lambda h: h.asset_id)
    return valued
