"""Routes of the analytics lake (exposure); filled in by the analytics lake issue."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

__all__ = ["EXPOSURE_ROUTES"]

EXPOSURE_ROUTES: list[ControllerRouterHandler] = []
