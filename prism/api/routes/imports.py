"""Routes of data imports (the import/export issue)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

__all__ = ["IMPORTS_ROUTES"]

IMPORTS_ROUTES: list[ControllerRouterHandler] = []
