"""Routes of the analytics lake (market); filled in by the analytics lake issue."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

__all__ = ["MARKET_ROUTES"]

MARKET_ROUTES: list[ControllerRouterHandler] = []
