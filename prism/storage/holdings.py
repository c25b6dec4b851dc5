"""Reading holdings and cash: from the projection, or recomputed from the ledger.

:func:`read_holdings` is the fast path (time proportional to the holdings);
:func:`recompute_holdings` replays the whole ledger and exists as the baseline the
projection is checked and benchmarked against.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from prism.domain.holdings import CostMethod, Holding, combine_holdings, value_position
from prism.domain.positions import Position, Quote
from prism.domain.replay import FxQuote, LedgerState, replay
from prism.storage.entries import load_base_currencies, load_entries
from prism.storage.projection import position_from_row, quote_from_row
from prism.storage.tables import (
    asset_states,
    cash_balances,
    fx_rates,
    portfolios,
    positions,
)

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


def _value(
    found: list[Position],
    *,
    quotes: dict[uuid.UUID, Quote],
    fx: dict[tuple[str, str], FxQuote],
    bases: dict[uuid.UUID, str],
    method: CostMethod,
    portfolio_id: uuid.UUID | None,
    include_closed: bool,
) -> list[Holding]:
    valued = [
        value_position(p, method, bases[p.portfolio_id], quotes.get(p.asset_id), fx)
        for p in found
        if include_closed or p.quantity != 0
    ]
    if portfolio_id is None:
        return combine_holdings(valued)
    return sorted(valued, key=lambda h: str(h.asset_id))


async def _live_bases(connection: AsyncConnection, owner_id: uuid.UUID) -> dict[uuid.UUID, str]:
    p = portfolios.c
    result = await connection.execute(
        select(p.id, p.base_currency).where(p.owner_id == owner_id, p.deleted_at.is_(None))
    )
    return {row.id: row.base_currency for row in result}


async def read_holdings(
    connection: AsyncConnection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
    method: CostMethod = CostMethod.FIFO,
    include_closed: bool = False,
) -> list[Holding]:
    """Holdings of one portfolio, or summed over all (one row per asset and currency)."""
    c = positions.c
    query = select(positions).where(c.owner_id == owner_id)
    if portfolio_id is not None:
        query = query.where(c.portfolio_id == portfolio_id)
    found = [position_from_row(row) for row in (await connection.execute(query)).mappings()]
    asset_ids = {p.asset_id for p in found}
    a = asset_states.c
    quotes: dict[uuid.UUID, Quote] = {}
    if asset_ids:
        rows = await connection.execute(select(asset_states).where(a.owner_id == owner_id))
        for row in rows.mappings():
            quote = quote_from_row(row)
            if quote is not None and row["asset_id"] in asset_ids:
                quotes[row["asset_id"]] = quote
    f = fx_rates.c
    fx = {
        (row.source, row.target): FxQuote(row.rate, (row.last_date, row.last_order, row.last_id))
        for row in await connection.execute(select(fx_rates).where(f.owner_id == owner_id))
    }
    bases = await _live_bases(connection, owner_id)
    found = [p for p in found if p.portfolio_id in bases]
    return _value(
        found,
        quotes=quotes,
        fx=fx,
        bases=bases,
        method=method,
        portfolio_id=portfolio_id,
        include_closed=include_closed,
    )


async def read_cash(
    connection: AsyncConnection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
) -> list[CashBalance]:
    """Cash per portfolio and currency, from the projection."""
    c = cash_balances.c
    query = select(cash_balances).where(c.owner_id == owner_id)
    if portfolio_id is not None:
        query = query.where(c.portfolio_id == portfolio_id)
    rows = await connection.execute(query.order_by(c.portfolio_id, c.currency))
    return [CashBalance(row.portfolio_id, row.currency, row.balance) for row in rows if row.balance != 0]


async def _replayed(connection: AsyncConnection, owner_id: uuid.UUID) -> tuple[LedgerState, dict[uuid.UUID, str]]:
    bases = await load_base_currencies(connection, owner_id)
    return replay(await load_entries(connection, owner_id), bases), await _live_bases(connection, owner_id)


async def recompute_holdings(
    connection: AsyncConnection,
    owner_id: uuid.UUID,
    *,
    portfolio_id: uuid.UUID | None = None,
    method: CostMethod = CostMethod.FIFO,
    include_closed: bool = False,
) -> list[Holding]:
    """The same answer as :func:`read_holdings`, replayed from the whole ledger."""
    state, bases = await _replayed(connection, owner_id)
    found = [
        p
        for p in state.positions.values()
        if p.portfolio_id in bases and (portfolio_id is None or p.portfolio_id == portfolio_id)
    ]
    return _value(
        found,
        quotes=state.quotes,
        fx=state.fx,
        bases=bases,
        method=method,
        portfolio_id=portfolio_id,
        include_closed=include_closed,
    )


async def recompute_cash(connection: AsyncConnection, owner_id: uuid.UUID) -> list[CashBalance]:
    """Cash replayed from the whole ledger."""
    state, _ = await _replayed(connection, owner_id)
    return sorted(
        (CashBalance(pf, ccy, bal) for (pf, ccy), bal in state.cash.items() if bal != 0),
        key=lambda b: (str(b.portfolio_id), b.currency),
    )
