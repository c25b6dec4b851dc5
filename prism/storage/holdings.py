"""Reading holdings and cash: from the projection, or recomputed from the ledger.

:func:`read_holdings` is the fast path (time proportional to the holdings);
:func:`recompute_holdings` replays the whole ledger and exists as the baseline the
projection is checked and benchmarked against.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, select

from prism.domain.holdings import CostMethod, Holding, Valuable, value_holdings
from prism.domain.positions import PositionFigures, Quote
from prism.domain.replay import FxQuote, LedgerState, replay
from prism.storage.entries import load_base_currencies, load_entries
from prism.storage.tables import (
    asset_states,
    cash_balances,
    fx_rates,
    portfolios,
    positions,
)
from prism.storage.types import Id

__all__ = [
    "CashBalance",
    "read_cash",
    "read_holdings",
    "recompute_cash",
    "recompute_holdings",
]


@dataclass(frozen=True, slots=True)
class CashBalance:
    """Cash held in one currency by one portfolio."""

    portfolio_id: uuid.UUID
    currency: str
    balance: Decimal


def _live_bases(connection: Connection, owner_id: uuid.UUID) -> dict[uuid.UUID, str]:
    p = portfolios.c
    result = connection.execute(select(p.id, p.base_currency).where(p.owner_id == owner_id, p.deleted_at.is_(None)))
    return {row.id: row.base_currency for row in result}


_FX_QUERY = select(
    fx_rates.c.source,
    fx_rates.c.target,
    fx_rates.c.rate,
    fx_rates.c.last_date,
    fx_rates.c.last_order,
    fx_rates.c.last_id,
).where(fx_rates.c.owner_id == bindparam("owner_id", type_=Id()))


@cache
def _holdings_query(method: CostMethod, *, one_portfolio: bool, include_closed: bool) -> Select[Any]:
    # Built once: constructing the statement would cost as much as running it. The
    # first seven columns are a PositionFigures, in its order.
    c, a, p = positions.c, asset_states.c, portfolios.c
    fifo = method is CostMethod.FIFO
    query = (
        select(
            c.portfolio_id,
            c.asset_id,
            c.quantity,
            c.fifo_cost if fifo else c.average_cost,
            c.realized_fifo if fifo else c.realized_average,
            c.dividends,
            c.consistent,
            p.base_currency,
            a.price,
            a.price_currency,
            a.price_date,
        )
        .join(portfolios, and_(p.owner_id == c.owner_id, p.id == c.portfolio_id, p.deleted_at.is_(None)))
        .outerjoin(asset_states, and_(a.owner_id == c.owner_id, a.asset_id == c.asset_id))
        .where(c.owner_id == bindparam("owner_id", type_=Id()))
    )
    if one_portfolio:
        query = query.where(c.portfolio_id == bindparam("portfolio_id", type_=Id()))
    if not include_closed:
        query = query.where(c.quantity != Decimal(0))
    return query


def read_holdings(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
    method: CostMethod | str = CostMethod.FIFO,
    include_closed: bool = False,
) -> list[Holding]:
    """Holdings of one portfolio, or summed over all (one row per asset and currency).

    One query over the projection: the positions, their portfolio's currency and the
    asset's latest price, without the lots behind them.
    """
    query = _holdings_query(CostMethod(method), one_portfolio=portfolio_id is not None, include_closed=include_closed)
    # This loop is most of a read's cost: positional access, two small tuples a row.
    found: list[Valuable] = [
        (PositionFigures._make(row[:7]), row[7], None if row[8] is None else Quote(row[8], row[9], row[10]))
        for row in connection.execute(query, {"owner_id": owner_id, "portfolio_id": portfolio_id}).all()
    ]
    fx = {
        (source, target): FxQuote(rate, (day, order, ident))
        for source, target, rate, day, order, ident in connection.execute(_FX_QUERY, {"owner_id": owner_id})
    }
    return value_holdings(found, fx, combine=portfolio_id is None)


def read_cash(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
) -> list[CashBalance]:
    """Cash per portfolio and currency, from the projection."""
    c = cash_balances.c
    query = select(cash_balances).where(c.owner_id == owner_id)
    if portfolio_id is not None:
        query = query.where(c.portfolio_id == portfolio_id)
    rows = connection.execute(query.order_by(c.portfolio_id, c.currency))
    return [CashBalance(row.portfolio_id, row.currency, row.balance) for row in rows if row.balance != 0]


def _replayed(connection: Connection, owner_id: uuid.UUID) -> tuple[LedgerState, dict[uuid.UUID, str]]:
    bases = load_base_currencies(connection, owner_id)
    return replay(load_entries(connection, owner_id), bases), _live_bases(connection, owner_id)


def recompute_holdings(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
    method: CostMethod | str = CostMethod.FIFO,
    include_closed: bool = False,
) -> list[Holding]:
    """The same answer as :func:`read_holdings`, replayed from the whole ledger."""
    state, bases = _replayed(connection, owner_id)
    found = [
        (p.figures(method), bases[p.portfolio_id], state.quotes.get(p.asset_id))
        for p in state.positions.values()
        if p.portfolio_id in bases
        and (portfolio_id is None or p.portfolio_id == portfolio_id)
        and (include_closed or p.quantity != 0)
    ]
    return value_holdings(found, state.fx, combine=portfolio_id is None)


def recompute_cash(connection: Connection, owner_id: uuid.UUID) -> list[CashBalance]:
    """Cash replayed from the whole ledger."""
    state, _ = _replayed(connection, owner_id)
    return sorted(
        (CashBalance(pf, ccy, bal) for (pf, ccy), bal in state.cash.items() if bal != 0),
        key=lambda b: (str(b.portfolio_id), b.currency),
    )
