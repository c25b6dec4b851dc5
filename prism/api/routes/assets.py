"""``/assets``: the securities and other holdings the account knows."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.pagination import page_of
from prism.api.schemas import AssetIn, AssetOut, AssetPage
from prism.api.state import owner_of, state_of
from prism.storage.catalog import Asset, create_asset, delete_asset, get_asset, list_assets, new_asset, update_asset

__all__ = ["AssetController"]


def _out(asset: Asset) -> AssetOut:
    return AssetOut(
        id=asset.id,
        name=asset.name,
        kind=asset.kind.value,
        currency=asset.currency,
        isin=asset.isin,
        ticker=asset.ticker,
        exchange=asset.exchange,
        metadata=asset.metadata,
    )


def _validated(owner_id: uuid.UUID, data: JSONBody[AssetIn]) -> Asset:
    return new_asset(
        owner_id,
        name=data.name,
        kind=data.kind,
        currency=data.currency,
        isin=data.isin,
        ticker=data.ticker,
        exchange=data.exchange,
        metadata=data.metadata,
    )


class AssetController(Controller):
    """Assets of the account; an asset with an ISIN has an id derived from it."""

    path = "/assets"
    tags = ["assets"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Create an asset")
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[AssetIn]) -> AssetOut:
        state = state_of(request)
        asset = _validated(owner_of(request), data)
        return _out(await state.database.write(create_asset, owner_of(request), asset))

    @get("/", summary="List assets, by name")
    async def list(
        self, request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
    ) -> AssetPage:
        state = state_of(request)
        items, next_cursor = page_of(await state.database.read(list_assets, owner_of(request)), cursor, limit)
        return AssetPage(items=[_out(a) for a in items], next_cursor=next_cursor)

    @get("/{asset_id:uuid}", summary="Read an asset")
    async def read(self, request: Request[Any, Any, Any], asset_id: FromPath[uuid.UUID]) -> AssetOut:
        state = state_of(request)
        return _out(await state.database.read(get_asset, owner_of(request), asset_id))

    @put("/{asset_id:uuid}", summary="Replace an asset's details (its ISIN stays)")
    async def replace(
        self, request: Request[Any, Any, Any], asset_id: FromPath[uuid.UUID], data: JSONBody[AssetIn]
    ) -> AssetOut:
        state = state_of(request)
        changed = _validated(owner_of(request), data)
        return _out(await state.database.write(update_asset, owner_of(request), asset_id, changed))

    @delete("/{asset_id:uuid}", summary="Delete an asset no transaction uses")
    async def remove(self, request: Request[Any, Any, Any], asset_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_asset, owner_of(request), asset_id)
