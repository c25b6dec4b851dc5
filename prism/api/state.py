"""What every request handler needs, kept on the application: typed, explicit, no magic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request

from prism.api.cache import ResponseCache
from prism.api.longpoll import RelayBell
from prism.config import Settings
from prism.domain.ids import EntryClock
from prism.storage.engine import Database
from prism.storage.lake import Lake

__all__ = ["OWNER_KEY", "ApiState", "api_state", "owner_of", "state_of"]


@dataclass(slots=True)
class ApiState:
    """The open store and lake, the device account and the device token of one app."""

    settings: Settings
    database: Database
    device_owner: uuid.UUID | None  # the one account of a device; None when hosted
    token: str  # the device token ("" when hosted: tokens live in the database)
    clock: EntryClock
    lake: Lake
    token_stamp: float = 0.0  # modification time of the token file when ``token`` was read
    responses: ResponseCache = field(default_factory=ResponseCache)
    relay_bell: RelayBell = field(default_factory=RelayBell)


def api_state(app: Litestar) -> ApiState:
    """The state :func:`prism.api.app.create_app` attached to ``app``."""
    state: ApiState = app.state["prism"]
    return state


def state_of(request: Request[Any, Any, Any]) -> ApiState:
    """The application state of the app serving ``request``."""
    return api_state(request.app)


#: Where the auth guard leaves the authenticated owner in the request scope.
OWNER_KEY = "prism.owner"


def owner_of(request: Request[Any, Any, Any]) -> uuid.UUID:
    """The account the request acts for, as established by the auth guard."""
    owner: uuid.UUID = request.scope[OWNER_KEY]  # type: ignore[literal-required]
    return owner
