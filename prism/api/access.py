"""What a token may do on a route: its scopes, its portfolio, its request rate.

Called by the auth guard (:func:`prism.api.auth.require_owner`) once the token is
known, for every route under ``/api/v1``. The route's scopes and how it treats a
portfolio-limited token come from :mod:`prism.api.scopes`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from sqlalchemy import Connection, select

from prism.api.scopes import Rule, needed_scopes, rule_for
from prism.api.state import ApiState
from prism.config import ServerSettings
from prism.domain.scopes import Grant
from prism.errors import NotFoundError, PermissionDeniedError, ValidationError
from prism.storage.identity import count_attempt
from prism.storage.tables import transactions

__all__ = [
    "FILTERS_BY_PORTFOLIO",
    "GRANT_KEY",
    "RATE_WINDOW_SECONDS",
    "cors_config",
    "enforce",
    "grant_of",
    "limit_rate",
    "portfolio_limit",
]

#: Where the auth guard leaves the request's :class:`Grant` in the request scope.
GRANT_KEY = "prism.grant"
RATE_WINDOW_SECONDS = 60
#: A GET route that itself narrows its answer to :func:`portfolio_limit` declares
#: ``opt={FILTERS_BY_PORTFOLIO: True}``: portfolio-limited tokens may then call it
#: (without it they are refused there, fail closed).
FILTERS_BY_PORTFOLIO = "filters_by_portfolio"


def cors_config(server: ServerSettings) -> CORSConfig | None:
    """Browsers on ``PRISM_CORS_ORIGINS`` may call the API (with a bearer token); none when unset."""
    if not server.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(server.cors_origins),
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
    )


def grant_of(request: Request[Any, Any, Any]) -> Grant:
    """What the request's token may do, as established by the auth guard."""
    grant: Grant = request.scope[GRANT_KEY]  # type: ignore[literal-required]
    return grant


def portfolio_limit(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    """The one portfolio the request's token is limited to, or None."""
    found: Any = request.scope.get(GRANT_KEY)
    grant = found if isinstance(found, Grant) else None
    return None if grant is None else grant.portfolio_id


def _filters_itself(connection: ASGIConnection[Any, Any, Any, Any], method: str) -> bool:
    handler = connection.scope.get("route_handler")
    opt = getattr(handler, "opt", None) or {}
    return method.upper() in {"GET", "HEAD"} and bool(opt.get(FILTERS_BY_PORTFOLIO))


async def limit_rate(state: ApiState, grant: Grant) -> None:
    """Count one request of a stored token; 429 with ``Retry-After`` past the per-minute limit.

    The device's own token (``token_id`` None) is the owner at their own machine: not counted.
    """
    limit = state.settings.server.rate_limit_per_minute
    if grant.token_id is None or limit <= 0:
        return
    count = await state.database.write(count_attempt, f"token:{grant.token_id}", RATE_WINDOW_SECONDS)
    if count > limit:
        retry = RATE_WINDOW_SECONDS - int(time.time()) % RATE_WINDOW_SECONDS
        raise TooManyRequestsException(
            detail=f"more than {limit} requests a minute with this token; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )


async def enforce(connection: ASGIConnection[Any, Any, Any, Any], state: ApiState, grant: Grant) -> None:
    """Refuse (403, or 404 for another portfolio's row) what ``grant`` does not cover on this route."""
    if grant.is_full:
        return
    method = str(connection.scope.get("method", "GET"))
    rule = rule_for(str(connection.scope.get("path_template", connection.url.path)))
    if rule is None:
        raise PermissionDeniedError("this route declares no scope: only a token with every scope may call it")
    missing = [scope for scope in needed_scopes(method, rule) if scope not in grant.scopes]
    if missing:
        raise PermissionDeniedError(f"this token lacks the scope {missing[0]!r}")
    if grant.portfolio_id is not None:
        await _check_portfolio(connection, state, grant, rule, method)


async def _check_portfolio(
    connection: ASGIConnection[Any, Any, Any, Any],
    state: ApiState,
    grant: Grant,
    rule: Rule,
    method: str,
) -> None:
    owner_id, limit = grant.owner_id, grant.portfolio_id
    assert limit is not None
    if rule.access == "shared" or _filters_itself(connection, method):
        return
    if rule.access == "account":
        raise PermissionDeniedError("this token is limited to one portfolio; this route covers the whole account")
    params = connection.path_params
    if rule.access == "path":
        if "portfolio_id" not in params:
            raise PermissionDeniedError(f"this token is limited to portfolio {limit}: use /portfolios/{limit}")
        if params["portfolio_id"] != limit:
            raise NotFoundError(f"no portfolio {params['portfolio_id']}")
        return
    # The ledger.
    if "transaction_id" in params:
        found = await state.database.read(_portfolio_of_entry, owner_id, params["transaction_id"])
        if found != limit:
            raise NotFoundError(f"no transaction {params['transaction_id']}")
    elif method.upper() in {"GET", "HEAD"}:
        asked = connection.query_params.get("portfolio_id")
        if asked is None:
            raise PermissionDeniedError(f"this token is limited to portfolio {limit}: add ?portfolio_id={limit}")
        if _as_uuid(asked) != limit:
            raise NotFoundError(f"no portfolio {asked}")
    if method.upper() in {"POST", "PUT", "PATCH"} and isinstance(connection, Request):
        _check_body(await connection.body(), limit)


def _check_body(body: bytes, limit: uuid.UUID) -> None:
    """A written entry must stay inside the token's portfolio (transfers included)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise ValidationError("the body is not JSON", field="body") from None
    if not isinstance(data, dict):
        raise ValidationError("the body must be an object", field="body")
    for name in ("portfolio_id", "target_portfolio_id"):
        value = data.get(name)
        if value is None:
            if name == "portfolio_id":
                raise ValidationError("is required", field=name)
            continue
        if _as_uuid(value) != limit:
            raise NotFoundError(f"no portfolio {value}")


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _portfolio_of_entry(connection: Connection, owner_id: uuid.UUID, entry_id: uuid.UUID) -> uuid.UUID | None:
    t = transactions.c
    found: uuid.UUID | None = connection.scalar(select(t.portfolio_id).where(t.owner_id == owner_id, t.id == entry_id))
    return found
