"""Holdings: ``/portfolios/{id}/holdings`` and ``/holdings`` (all portfolios)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery
from sqlalchemy import Connection

from prism.api.schemas import HoldingOut, HoldingPage, decimal_text
from prism.api.state import owner_of, state_of
from prism.domain.holdings import Holding
from prism.domain.money import canonical
from prism.domain.positions import CostMethod
from prism.storage.catalog import get_portfolio
from prism.storage.holdings import read_holdings
from prism.storage.tables import assets

__all__ = ["all_holdings", "portfolio_holdings"]


def _labels(connection: Connection, owner_id: uuid.UUID) -> dict[uuid.UUID, tuple[str | None, str]]:
    a = assets.c
    rows = connection.execute(assets.select().with_only_columns(a.id, a.isin, a.name).where(a.owner_id == owner_id))
    return {ident: (isin, name) for ident, isin, name in rows}


def _holdings(
    connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None, method: CostMethod
) -> HoldingPage:
    if portfolio_id is not None:
        get_portfolio(connection, owner_id, portfolio_id)  # 404 for another account's portfolio
    found = read_holdings(connection, owner_id, portfolio_id=portfolio_id, method=method)
    labels = _labels(connection, owner_id)
    return HoldingPage(items=[_out(h, labels) for h in found])


def _out(h: Holding, labels: dict[uuid.UUID, tuple[str | None, str]]) -> HoldingOut:
    isin, name = labels.get(h.asset_id, (None, ""))
    return HoldingOut(
        asset_id=h.asset_id,
        portfolio_id=h.portfolio_id,
        isin=isin,
        name=name,
        currency=h.currency,
        quantity=canonical(h.quantity),
        cost_basis=canonical(h.cost_basis),
        market_value=decimal_text(h.market_value),
        realized_gain=canonical(h.realized_gain),
        unrealized_gain=decimal_text(h.unrealized_gain),
        dividends=canonical(h.dividends),
        price=decimal_text(h.price),
        price_currency=h.price_currency,
        price_date=h.price_date,
        consistent=h.consistent,
    )


_DOCUMENTED = {200: ResponseSpec(data_container=HoldingPage, description="Holdings, by asset")}


async def _cached_holdings(
    request: Request[Any, Any, Any], portfolio_id: uuid.UUID | None, method: CostMethod
) -> Response[bytes]:
    state = state_of(request)
    owner_id = owner_of(request)
    stamp = state.database.change_stamp()
    key = (owner_id, portfolio_id, method)
    body = state.responses.get(key, stamp) if stamp is not None else None
    if body is None:
        page = await state.database.read(_holdings, owner_id, portfolio_id, method)
        body = msgspec.json.encode(page)
        if stamp is not None:
            state.responses.put(key, stamp, body)
    return Response(body, media_type="application/json")


@get(
    "/portfolios/{portfolio_id:uuid}/holdings",
    tags=["holdings"],
    summary="Holdings of one portfolio",
    responses=_DOCUMENTED,
)
async def portfolio_holdings(
    request: Request[Any, Any, Any],
    portfolio_id: FromPath[uuid.UUID],
    cost_method: FromQuery[CostMethod] = CostMethod.FIFO,
) -> Response[bytes]:
    """What one portfolio holds, valued at the latest known prices, in its base currency."""
    return await _cached_holdings(request, portfolio_id, cost_method)


@get("/holdings", tags=["holdings"], summary="Holdings of all portfolios", responses=_DOCUMENTED)
async def all_holdings(
    request: Request[Any, Any, Any], cost_method: FromQuery[CostMethod] = CostMethod.FIFO
) -> Response[bytes]:
    """What the account holds, summed over portfolios that share a base currency."""
    return await _cached_holdings(request, None, cost_method)
