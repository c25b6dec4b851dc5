"""Hosted-mode identities: accounts with an e-mail and a password, API tokens, rate limits.

Passwords are hashed with Argon2id (libsodium) by the caller, off the event loop;
this module only stores and compares. Tokens are random and stored as SHA-256
hashes, so a copy of the database grants no access. Rate-limit counters live in the
database, so every replica counts the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from prism.domain.ids import new_id
from prism.errors import ConflictError, ValidationError
from prism.storage.catalog import create_account
from prism.storage.tables import api_tokens, rate_limits, users

__all__ = [
    "count_attempt",
    "issue_token",
    "normalize_email",
    "FoundToken",
    "find_token",
    "touch_token",
    "password_hash_of",
    "sign_up",
]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
#: How stale ``last_used_at`` may get before a request refreshes it (saves a write per request).
_USE_RESOLUTION = dt.timedelta(minutes=1)


def normalize_email(value: str) -> str:
    """The e-mail address in the form it is stored and looked up."""
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError("is not an e-mail address", field="email")
    return email


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    connection: Connection, owner_id: uuid.UUID, name: str = "sign-in", *, expires_at: dt.datetime | None = None
) -> str:
    """A new bearer token for ``owner_id``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    connection.execute(
        api_tokens.insert().values(
            id=new_id(),
            owner_id=owner_id,
            token_hash=_digest(token),
            name=name,
            created_at=dt.datetime.now(dt.UTC),
            expires_at=expires_at,
        )
    )
    return token


def sign_up(connection: Connection, email: str, password_hash: str) -> tuple[uuid.UUID, str]:
    """A new account for ``email``, and a first token."""
    address = normalize_email(email)
    if connection.scalar(select(users.c.account_id).where(users.c.email == address)) is not None:
        raise ConflictError("an account with this e-mail address exists")
    owner_id = create_account(connection, address)
    connection.execute(
        users.insert().values(
            account_id=owner_id, email=address, password_hash=password_hash, created_at=dt.datetime.now(dt.UTC)
        )
    )
    return owner_id, issue_token(connection, owner_id)


def password_hash_of(connection: Connection, email: str) -> tuple[uuid.UUID, str] | None:
    """The account and stored password hash for ``email``, if there is one."""
    row = connection.execute(
        select(users.c.account_id, users.c.password_hash).where(users.c.email == normalize_email(email))
    ).first()
    return None if row is None else (row.account_id, row.password_hash)


@dataclass(frozen=True, slots=True)
class FoundToken:
    """A live token's owner, and whether its last use should be recorded."""

    token_id: uuid.UUID
    owner_id: uuid.UUID
    needs_touch: bool


def find_token(connection: Connection, token: str, now: dt.datetime | None = None) -> FoundToken | None:
    """The live (unrevoked, unexpired) token with this value, or None."""
    now = now or dt.datetime.now(dt.UTC)
    t = api_tokens.c
    row = connection.execute(
        select(t.id, t.owner_id, t.expires_at, t.last_used_at).where(
            t.token_hash == _digest(token), t.revoked_at.is_(None)
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    stale = row.last_used_at is None or now - row.last_used_at > _USE_RESOLUTION
    return FoundToken(row.id, row.owner_id, stale)


def touch_token(connection: Connection, token_id: uuid.UUID) -> None:
    """Record that a token was just used."""
    connection.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=dt.datetime.now(dt.UTC))
    )


def count_attempt(connection: Connection, key: str, window_seconds: int, now: dt.datetime | None = None) -> int:
    """Count one attempt under ``key`` in the current window; the count so far, this one included."""
    now = now or dt.datetime.now(dt.UTC)
    window = int(now.timestamp()) // window_seconds * window_seconds
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(rate_limits).values(key=key[:200], window_start=window, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": rate_limits.c.count + 1}
    ).returning(rate_limits.c.count)
    count: int = connection.execute(statement).scalar_one()
    return count
