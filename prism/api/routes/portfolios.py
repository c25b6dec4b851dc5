"""``/portfolios``: create, list, read, replace, delete."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.access import FILTERS_BY_PORTFOLIO, portfolio_limit
from prism.api.pagination import page_of
from prism.api.schemas import PortfolioIn, PortfolioOut, PortfolioPage
from prism.api.state import owner_of, state_of
from prism.storage.catalog import (
    Portfolio,
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    list_portfolios,
    update_portfolio,
)

__all__ = ["PortfolioController"]


def _out(portfolio: Portfolio) -> PortfolioOut:
    return PortfolioOut(id=portfolio.id, name=portfolio.name, base_currency=portfolio.base_currency)


class PortfolioController(Controller):
    """Portfolios of the account."""

    path = "/portfolios"
    tags = ["portfolios"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Create a portfolio")
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[PortfolioIn]) -> PortfolioOut:
        state = state_of(request)
        made = await state.database.write(create_portfolio, owner_of(request), data.name, data.base_currency)
        return _out(made)

    @get("/", summary="List portfolios, by name", opt={FILTERS_BY_PORTFOLIO: True})
    async def list(
        self, request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
    ) -> PortfolioPage:
        state = state_of(request)
        found = await state.database.read(list_portfolios, owner_of(request))
        if (only := portfolio_limit(request)) is not None:  # a token limited to one portfolio
            found = [p for p in found if p.id == only]
        items, next_cursor = page_of(found, cursor, limit)
        return PortfolioPage(items=[_out(p) for p in items], next_cursor=next_cursor)

    @get("/{portfolio_id:uuid}", summary="Read a portfolio")
    async def read(self, request: Request[Any, Any, Any], portfolio_id: FromPath[uuid.UUID]) -> PortfolioOut:
        state = state_of(request)
        return _out(await state.database.read(get_portfolio, owner_of(request), portfolio_id))

    @put("/{portfolio_id:uuid}", summary="Rename a portfolio or change its currency (while empty)")
    async def replace(
        self, request: Request[Any, Any, Any], portfolio_id: FromPath[uuid.UUID], data: JSONBody[PortfolioIn]
    ) -> PortfolioOut:
        state = state_of(request)
        changed = await state.database.write(
            update_portfolio, owner_of(request), portfolio_id, data.name, data.base_currency
        )
        return _out(changed)

    @delete("/{portfolio_id:uuid}", summary="Delete an empty portfolio")
    async def remove(self, request: Request[Any, Any, Any], portfolio_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_portfolio, owner_of(request), portfolio_id)
