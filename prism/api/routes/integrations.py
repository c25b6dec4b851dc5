"""The integration routes, registered together under ``/api/v1``: tokens, the change feed, webhooks."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from prism.api.routes.changes import CHANGE_ROUTES
from prism.api.routes.tokens import TOKEN_ROUTES
from prism.api.routes.webhooks import WEBHOOK_ROUTES

__all__ = ["INTEGRATION_ROUTES"]

INTEGRATION_ROUTES: list[ControllerRouterHandler] = [*TOKEN_ROUTES, *CHANGE_ROUTES, *WEBHOOK_ROUTES]
