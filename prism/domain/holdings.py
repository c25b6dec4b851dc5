"""Holdings: positions valued at the latest known price, per portfolio and overall."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from prism.domain.money import CONTEXT, ZERO, divide
from prism.domain.positions import PositionFigures, Quote
from prism.domain.replay import FxQuote

__all__ = [
    "COMBINED",
    "CostMethod",
    "Holding",
    "combine_positions",
    "convert",
    "value_holdings",
    "value_position",
]

#: ``portfolio_id`` of positions summed over portfolios.
COMBINED = uuid.UUID(int=0)


class CostMethod(StrEnum):
    """How sold units are matched against bought ones."""

    FIFO = "fifo"
    AVERAGE = "average"


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
    method: CostMethod,
    currency: str,
    quote: Quote | None,
    fx: Mapping[tuple[str, str], FxQuote],
) -> Holding:
    """Value one position at ``quote`` in the portfolio's ``currency``."""
    cost = position.fifo_cost if method is CostMethod.FIFO else position.average_cost
    market_value: Decimal | None = None
    if quote is not None:
        market_value = convert(CONTEXT.multiply(position.quantity, quote.price), quote.currency, currency, fx)
    elif position.quantity == 0:
        market_value = ZERO
    return Holding(
        asset_id=position.asset_id,
        portfolio_id=position.portfolio_id,
        currency=currency,
        quantity=position.quantity,
        cost_basis=cost,
        realized_gain=position.realized_fifo if method is CostMethod.FIFO else position.realized_average,
        dividends=position.dividends,
        price=quote.price if quote else None,
        price_currency=quote.currency if quote else None,
        price_date=quote.date if quote else None,
        market_value=market_value,
        unrealized_gain=None if market_value is None else CONTEXT.subtract(market_value, cost),
        consistent=position.consistent,
    )


def combine_positions(
    positions: Iterable[PositionFigures], currencies: Mapping[uuid.UUID, str]
) -> list[tuple[PositionFigures, str]]:
    """Sum positions of one asset across portfolios that share a currency.

    Portfolios with different base currencies are not converted into each other:
    the overall view has one row per (asset, currency), so no FX guess enters it.
    The sums carry :data:`COMBINED` as their ``portfolio_id`` and come in (asset,
    currency) order.
    """
    sums: dict[tuple[uuid.UUID, str], list[Decimal]] = {}
    consistent: dict[tuple[uuid.UUID, str], bool] = {}
    add = CONTEXT.add
    for p in positions:
        key = (p.asset_id, currencies[p.portfolio_id])
        found = sums.get(key)
        amounts = [p.quantity, p.fifo_cost, p.average_cost, p.realized_fifo, p.realized_average, p.dividends]
        if found is None:
            sums[key] = amounts
            consistent[key] = p.consistent
        else:
            sums[key] = [add(a, b) for a, b in zip(found, amounts, strict=True)]
            consistent[key] = consistent[key] and p.consistent
    combined: list[tuple[PositionFigures, str]] = []
    for (asset, currency), values in sorted(sums.items()):
        quantity, fifo, average, realized_fifo, realized_average, dividends = values
        figures = PositionFigures(
            COMBINED,
            asset,
            quantity,
            fifo,
            average,
            realized_fifo,
            realized_average,
            dividends,
            consistent[(asset, currency)],
        )
        combined.append((figures, currency))
    return combined


def value_holdings(
    positions: Iterable[PositionFigures],
    currencies: Mapping[uuid.UUID, str],
    quotes: Mapping[uuid.UUID, Quote],
    fx: Mapping[tuple[str, str], FxQuote],
    *,
    method: CostMethod,
    combine: bool,
) -> list[Holding]:
    """Holdings of the given positions; ``combine`` sums them over portfolios."""
    method = CostMethod(method)
    if combine:
        return [
            value_position(p, method, currency, quotes.get(p.asset_id), fx)._replace(portfolio_id=None)
            for p, currency in combine_positions(positions, currencies)
        ]
    valued = [value_position(p, method, currencies[p.portfolio_id], quotes.get(p.asset_id), fx) for p in positions]
    return sorted(valued, key=lambda h: h.asset_id)
