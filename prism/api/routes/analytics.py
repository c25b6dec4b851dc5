"""Routes of the analytics lake (analytics); filled in by the analytics lake issue."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

__all__ = ["ANALYTICS_ROUTES"]

ANALYTICS_ROUTES: list[ControllerRouterHandler] = []
