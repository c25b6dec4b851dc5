"""Routes of data export (the import/export issue)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

__all__ = ["EXPORT_ROUTES"]

EXPORT_ROUTES: list[ControllerRouterHandler] = []
