"""Scoped API tokens: created with scopes and an optional portfolio, listed, revoked.

Tokens live in ``api_tokens`` beside the hosted sign-in tokens (whose ``scopes`` is
NULL: every scope). Only a token's SHA-256 hash is stored; its value is shown once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from prism.domain.ids import new_id
from prism.domain.scopes import ALL_SCOPES, Grant, checked_scopes
from prism.errors import NotFoundError, ValidationError
from prism.storage.catalog import get_portfolio
from prism.storage.tables import api_tokens, rate_limits

__all__ = [
    "TOKEN_PREFIX",
    "FoundGrant",
    "StoredToken",
    "create_token",
    "find_grant",
    "forget_rate_windows",
    "list_tokens",
    "revoke_token",
]

#: Scoped tokens start with this, so they are recognisable in logs and secret scanners.
TOKEN_PREFIX = "prism_"
#: How stale ``last_used_at`` may get before a request refreshes it (saves a write per request).
_USE_RESOLUTION = dt.timedelta(minutes=1)
_MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A token as listed: never its value."""

    id: uuid.UUID
    name: str
    scopes: list[str]
    portfolio_id: uuid.UUID | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    connection: Connection,
    grant: Grant,
    name: str,
    scopes: list[str],
    *,
    portfolio_id: uuid.UUID | None = None,
    expires_in: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> tuple[StoredToken, str]:
    """A new token of ``grant.owner_id``, never wider than ``grant``; and its value (shown once)."""
    now = now or dt.datetime.now(dt.UTC)
    chosen = checked_scopes(scopes)
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise ValidationError(f"must have 1 to {_MAX_NAME} characters", field="name")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValidationError("must not contain control characters", field="name")
    wider = [scope for scope in chosen if scope not in grant.scopes]
    if wider:
        raise ValidationError(f"this token may not grant {wider[0]!r}, which it does not hold", field="scopes")
    if grant.portfolio_id is not None and portfolio_id != grant.portfolio_id:
        raise ValidationError("must be this token's own portfolio", field="portfolio_id")
    if portfolio_id is not None:
        try:
            get_portfolio(connection, grant.owner_id, portfolio_id)
        except NotFoundError:
            raise ValidationError(f"no portfolio {portfolio_id}", field="portfolio_id") from None
    expires_at = None
    if expires_in is not None:
        if expires_in <= dt.timedelta(0) or expires_in > dt.timedelta(days=3650):
            raise ValidationError("must be between 1 second and 10 years", field="expires_in")
        expires_at = now + expires_in
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    stored = StoredToken(new_id(), name, chosen, portfolio_id, now, None, expires_at)
    connection.execute(
        api_tokens.insert().values(
            id=stored.id,
            owner_id=grant.owner_id,
            token_hash=_digest(value),
            name=name,
            created_at=now,
            expires_at=expires_at,
            scopes=chosen,
            portfolio_id=portfolio_id,
        )
    )
    return stored, value


def list_tokens(connection: Connection, owner_id: uuid.UUID, now: dt.datetime | None = None) -> list[StoredToken]:
    """The owner's live tokens (not revoked, not expired), newest first; sign-in tokens show every scope."""
    now = now or dt.datetime.now(dt.UTC)
    t = api_tokens.c
    rows = connection.execute(
        select(t.id, t.name, t.scopes, t.portfolio_id, t.created_at, t.last_used_at, t.expires_at)
        .where(t.owner_id == owner_id, t.revoked_at.is_(None))
        .order_by(t.created_at.desc(), t.id)
    )
    return [
        StoredToken(
            r.id,
            r.name,
            sorted(ALL_SCOPES) if r.scopes is None else list(r.scopes),
            r.portfolio_id,
            r.created_at,
            r.last_used_at,
            r.expires_at,
        )
        for r in rows
        if r.expires_at is None or r.expires_at > now
    ]


def revoke_token(connection: Connection, owner_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Revoke one of the owner's tokens at once; NotFoundError if it is not theirs or already revoked."""
    t = api_tokens.c
    done = connection.execute(
        update(api_tokens)
        .where(t.id == token_id, t.owner_id == owner_id, t.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    if done.rowcount == 0:
        raise NotFoundError(f"no token {token_id}")


@dataclass(frozen=True, slots=True)
class FoundGrant:
    """A live token's grant, and whether its last use should be recorded."""

    grant: Grant
    needs_touch: bool


def find_grant(connection: Connection, token: str, now: dt.datetime | None = None) -> FoundGrant | None:
    """The grant of the live (unrevoked, unexpired) token with this value, or None."""
    now = now or dt.datetime.now(dt.UTC)
    t = api_tokens.c
    row = connection.execute(
        select(t.id, t.owner_id, t.expires_at, t.last_used_at, t.scopes, t.portfolio_id).where(
            t.token_hash == _digest(token), t.revoked_at.is_(None)
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    scopes = ALL_SCOPES if row.scopes is None else frozenset(row.scopes) & ALL_SCOPES
    stale = row.last_used_at is None or now - row.last_used_at > _USE_RESOLUTION
    return FoundGrant(Grant(row.owner_id, row.id, scopes, row.portfolio_id), stale)


def forget_rate_windows(connection: Connection, keep: dt.timedelta = dt.timedelta(hours=1)) -> None:
    """Drop per-token rate counters of windows older than ``keep``: they count nothing any more."""
    oldest = int((dt.datetime.now(dt.UTC) - keep).timestamp())
    r = rate_limits.c
    connection.execute(delete(rate_limits).where(r.key.like("token:%"), r.window_start < oldest))
