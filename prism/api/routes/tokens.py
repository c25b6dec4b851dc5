"""``/tokens``: scoped API tokens: create (the value is answered once), list, revoke.

A token may only create tokens inside its own grant (scopes, portfolio); see
docs/tokens-and-webhooks.md for the scopes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.access import grant_of
from prism.api.pagination import page_of
from prism.api.state import owner_of, state_of
from prism.errors import ValidationError
from prism.storage.tokens import StoredToken, create_token, list_tokens, revoke_token

__all__ = ["MAX_LIFETIME_SECONDS", "TOKEN_ROUTES", "TokenCreated", "TokenIn", "TokenOut", "TokenPage"]

#: Ten years: the longest a token may be made to live.
MAX_LIFETIME_SECONDS = 10 * 365 * 86400


class TokenIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A token to create: its scopes, optionally one portfolio and a lifetime in seconds."""

    scopes: list[str]
    name: str = "integration"
    portfolio_id: uuid.UUID | None = None
    expires_in: int | None = None  # seconds; None: until revoked


class TokenOut(msgspec.Struct, kw_only=True):
    """A token as listed: never its value."""

    id: uuid.UUID
    name: str
    scopes: list[str]
    portfolio_id: uuid.UUID | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


class TokenCreated(TokenOut, kw_only=True):
    """A new token and, this once only, its value."""

    token: str


class TokenPage(msgspec.Struct, kw_only=True):
    """A page of tokens, newest first."""

    items: list[TokenOut]
    next_cursor: str | None = None


def _fields(stored: StoredToken) -> dict[str, Any]:
    return {
        "id": stored.id,
        "name": stored.name,
        "scopes": stored.scopes,
        "portfolio_id": stored.portfolio_id,
        "created_at": stored.created_at,
        "last_used_at": stored.last_used_at,
        "expires_at": stored.expires_at,
    }


@post("/tokens", tags=["tokens"], summary="Create a scoped token (its value is answered once)")
async def create_api_token(request: Request[Any, Any, Any], data: JSONBody[TokenIn]) -> TokenCreated:
    """A new token, never wider than the token asking."""
    if data.expires_in is not None and not 1 <= data.expires_in <= MAX_LIFETIME_SECONDS:
        raise ValidationError(f"must be between 1 and {MAX_LIFETIME_SECONDS} seconds", field="expires_in")
    lifetime = None if data.expires_in is None else dt.timedelta(seconds=data.expires_in)
    stored, value = await state_of(request).database.write(
        create_token,
        grant_of(request),
        data.name,
        data.scopes,
        portfolio_id=data.portfolio_id,
        expires_in=lifetime,
    )
    return TokenCreated(**_fields(stored), token=value)


@get("/tokens", tags=["tokens"], summary="List live tokens, newest first")
async def list_api_tokens(
    request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
) -> TokenPage:
    """The account's unrevoked, unexpired tokens (sign-in tokens show every scope)."""
    found = await state_of(request).database.read(list_tokens, owner_of(request))
    items, next_cursor = page_of(found, cursor, limit)
    return TokenPage(items=[TokenOut(**_fields(t)) for t in items], next_cursor=next_cursor)


@delete("/tokens/{token_id:uuid}", tags=["tokens"], summary="Revoke a token")
async def revoke_api_token(request: Request[Any, Any, Any], token_id: FromPath[uuid.UUID]) -> None:
    """The token stops working at once."""
    await state_of(request).database.write(revoke_token, owner_of(request), token_id)


TOKEN_ROUTES = [create_api_token, list_api_tokens, revoke_api_token]
