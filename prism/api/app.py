"""The Litestar application: one factory for every shape, chosen by settings alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from prism import __version__
from prism.api.auth import ensure_device_token, require_token
from prism.api.problems import exception_handlers
from prism.api.routes.annotations import AlertRuleController, NoteController, TagController
from prism.api.routes.assets import AssetController
from prism.api.routes.holdings import all_holdings, portfolio_holdings
from prism.api.routes.portfolios import PortfolioController
from prism.api.routes.settings import SettingController
from prism.api.routes.system import healthz, readyz
from prism.api.routes.transactions import TransactionController
from prism.api.state import ApiState
from prism.config import Settings
from prism.domain.ids import EntryClock
from prism.errors import ValidationError
from prism.migrations import open_upgraded
from prism.storage.catalog import ensure_device_account

__all__ = ["create_app"]

API_ROUTES: list[ControllerRouterHandler] = [
    PortfolioController,
    AssetController,
    TransactionController,
    SettingController,
    NoteController,
    TagController,
    AlertRuleController,
    portfolio_holdings,
    all_holdings,
]


def create_app(settings: Settings) -> Litestar:
    """The application for ``settings``: store, account and token are set up on startup."""
    if settings.server.mode != "device":
        raise ValidationError("hosted mode is not available yet; run in device mode", field="mode")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database = await open_upgraded(settings.database)
        try:
            owner_id = await database.write(ensure_device_account)
            token = ensure_device_token(settings.token_path)
            app.state["prism"] = ApiState(settings, database, owner_id, token, EntryClock())
            yield
        finally:
            await database.dispose()

    api = Router("/api/v1", route_handlers=API_ROUTES, guards=[require_token])
    return Litestar(
        route_handlers=[healthz, readyz, api],
        lifespan=[lifespan],
        exception_handlers=exception_handlers,
        request_max_body_size=settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Portfolio Prism",
            version=__version__,
            description="The local-first portfolio backend. Decimals are JSON strings; errors are RFC 9457.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
    )
