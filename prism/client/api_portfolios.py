"""``/api/v1/portfolios`` and ``/api/v1/assets``: the account's portfolios and assets."""

from __future__ import annotations

import uuid
from types import NoneType

from prism.api.schemas import AssetIn, AssetOut, AssetPage, PortfolioIn, PortfolioOut, PortfolioPage
from prism.client._operations import Area, Call, M, operation, paged

__all__ = ["Assets", "Portfolios"]


class Portfolios(Area[M]):
    """Portfolios, by name."""

    @operation("POST", "/api/v1/portfolios")
    def create(self, body: PortfolioIn) -> Call[PortfolioOut]:
        """Create a portfolio."""
        return Call(PortfolioOut, body=body)

    @operation("GET", "/api/v1/portfolios")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[PortfolioPage]:
        """One page of portfolios, by name."""
        return Call(PortfolioPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/portfolios/{portfolio_id}")
    def get(self, portfolio_id: uuid.UUID) -> Call[PortfolioOut]:
        """Read a portfolio."""
        return Call(PortfolioOut, path={"portfolio_id": portfolio_id})

    @operation("PUT", "/api/v1/portfolios/{portfolio_id}")
    def replace(self, portfolio_id: uuid.UUID, body: PortfolioIn) -> Call[PortfolioOut]:
        """Rename a portfolio, or change its currency while it is empty."""
        return Call(PortfolioOut, path={"portfolio_id": portfolio_id}, body=body)

    @operation("DELETE", "/api/v1/portfolios/{portfolio_id}")
    def delete(self, portfolio_id: uuid.UUID) -> Call[None]:
        """Delete an empty portfolio."""
        return Call(NoneType, path={"portfolio_id": portfolio_id})


class Assets(Area[M]):
    """Assets, by name; an asset with an ISIN has an id derived from it."""

    @operation("POST", "/api/v1/assets")
    def create(self, body: AssetIn) -> Call[AssetOut]:
        """Create an asset."""
        return Call(AssetOut, body=body)

    @operation("GET", "/api/v1/assets")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[AssetPage]:
        """One page of assets, by name."""
        return Call(AssetPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/assets/{asset_id}")
    def get(self, asset_id: uuid.UUID) -> Call[AssetOut]:
        """Read an asset."""
        return Call(AssetOut, path={"asset_id": asset_id})

    @operation("PUT", "/api/v1/assets/{asset_id}")
    def replace(self, asset_id: uuid.UUID, body: AssetIn) -> Call[AssetOut]:
        """Replace an asset's details (its ISIN stays)."""
        return Call(AssetOut, path={"asset_id": asset_id}, body=body)

    @operation("DELETE", "/api/v1/assets/{asset_id}")
    def delete(self, asset_id: uuid.UUID) -> Call[None]:
        """Delete an asset no transaction uses."""
        return Call(NoneType, path={"asset_id": asset_id})
