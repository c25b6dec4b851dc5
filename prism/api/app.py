"""The Litestar application: one factory for every shape, chosen by settings alone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from prism import __version__
from prism.api.access import cors_config
from prism.api.auth import ensure_device_token, require_owner
from prism.api.integrations import integrations, release_waiters
from prism.api.longpoll import RelayBell
from prism.api.observability import metrics_middleware, metrics_router, request_ids, watch_pool
from prism.api.openapi_problems import document_problems
from prism.api.problems import exception_handlers
from prism.api.routes.analytics import ANALYTICS_ROUTES
from prism.api.routes.annotations import AlertRuleController, NoteController, TagController
from prism.api.routes.assets import AssetController
from prism.api.routes.backup import BACKUP_ROUTES
from prism.api.routes.export import EXPORT_ROUTES
from prism.api.routes.exposure import EXPOSURE_ROUTES
from prism.api.routes.hive import HIVE_RELAY_ROUTES, HIVE_ROUTES
from prism.api.routes.holdings import all_holdings, portfolio_holdings
from prism.api.routes.identity import signin, signup
from prism.api.routes.imports import IMPORTS_ROUTES
from prism.api.routes.integrations import INTEGRATION_ROUTES
from prism.api.routes.keyring import delete_account, envelopes, join, kdf, put_keyring, revoke, store_envelopes
from prism.api.routes.market import MARKET_ROUTES
from prism.api.routes.portfolios import PortfolioController
from prism.api.routes.relay import devices, pull, push, put_device_card, register
from prism.api.routes.settings import SettingController
from prism.api.routes.snapshots import complete, get_chunk, latest, storage, upload_chunk
from prism.api.routes.sync import ConflictController
from prism.api.routes.system import healthz, readyz
from prism.api.routes.transactions import TransactionController
from prism.api.state import ApiState
from prism.backup.schedule import scheduled_backups
from prism.config import Settings
from prism.domain.ids import EntryClock
from prism.migrations import open_upgraded
from prism.storage.catalog import ensure_device_account
from prism.storage.device_lake import open_device_lake
from prism.sync.relay import NOTIFY_CHANNEL
from prism.telemetry import send_reports

__all__ = ["begin_shutdown", "create_app", "route_templates"]

API_ROUTES: list[ControllerRouterHandler] = [
    PortfolioController,
    AssetController,
    TransactionController,
    SettingController,
    NoteController,
    TagController,
    AlertRuleController,
    ConflictController,
    portfolio_holdings,
    all_holdings,
    *MARKET_ROUTES,
    *ANALYTICS_ROUTES,
    *EXPOSURE_ROUTES,
    *IMPORTS_ROUTES,
    *EXPORT_ROUTES,
    *HIVE_ROUTES,
    *BACKUP_ROUTES,
    *INTEGRATION_ROUTES,
]

RELAY_ROUTES: list[ControllerRouterHandler] = [
    register,
    push,
    pull,
    put_device_card,
    devices,
    put_keyring,
    store_envelopes,
    envelopes,
    kdf,
    join,
    revoke,
    delete_account,
]
RELAY_ROUTES += [upload_chunk, complete, latest, get_chunk, storage]
RELAY_ROUTES += HIVE_RELAY_ROUTES


def route_templates(app: Litestar) -> list[str]:
    """The app's ``/api/v1`` path templates as the request metrics name them (``{id}``)."""
    return sorted({re.sub(r":[a-z]+\}", "}", route.path) for route in app.routes if route.path.startswith("/api/v1")})


def begin_shutdown(app: Litestar) -> None:
    """The server stops taking connections: answer held long-polls now, so the requests in
    flight can finish within the grace period instead of being cut off."""
    state = app.state.get("prism")
    if isinstance(state, ApiState):
        state.relay_bell.release_all()
    release_waiters(app)


def create_app(settings: Settings) -> Litestar:
    """The application for ``settings``: store, account and token are set up on startup.

    Device mode serves one account with the token in ``<data dir>/api-token``;
    hosted mode serves any number, which sign up and sign in for tokens.
    """
    hosted = settings.server.mode == "hosted"

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database = await open_upgraded(settings.database)
        watch_pool(database)
        bell = RelayBell()
        lake = open_device_lake(settings)
        try:
            if hosted:
                app.state["prism"] = ApiState(settings, database, None, "", EntryClock(), lake, relay_bell=bell)
            else:
                owner_id = await database.write(ensure_device_account)
                token = ensure_device_token(settings.token_path)
                app.state["prism"] = ApiState(settings, database, owner_id, token, EntryClock(), lake, relay_bell=bell)
            # Pushes filed by other replicas wake this replica's long-polls.
            async with (
                database.listen(NOTIFY_CHANNEL, bell.ring_payload),
                scheduled_backups(settings),
                send_reports(settings, database, route_templates(app)),
                integrations(app),
            ):
                yield
        finally:
            lake.close()
            await database.dispose()

    routers: list[ControllerRouterHandler] = [Router("/api/v1", route_handlers=API_ROUTES, guards=[require_owner])]
    routers.append(Router("/relay/v1", route_handlers=RELAY_ROUTES))
    if hosted:
        routers.append(Router("/api/v1/auth", route_handlers=[signup, signin]))
    if settings.server.metrics:
        routers.append(metrics_router())
    app = Litestar(
        route_handlers=[healthz, readyz, *routers],
        middleware=[request_ids, *([metrics_middleware()] if settings.server.metrics else [])],
        lifespan=[lifespan],
        exception_handlers=exception_handlers,
        request_max_body_size=settings.server.max_body_bytes,
        cors_config=cors_config(settings.server),
        openapi_config=OpenAPIConfig(
            title="Portfolio Prism",
            version=__version__,
            description="The local-first portfolio backend. Decimals are JSON strings; errors are RFC 9457.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
    )
    document_problems(app)
    return app
