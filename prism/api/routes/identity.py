"""``/auth/signup`` and ``/auth/signin``: hosted-mode accounts (no token needed)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import nacl.exceptions
import nacl.pwhash
from litestar import Request, post
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody

from prism.api.state import state_of
from prism.errors import ValidationError
from prism.storage.identity import count_attempt, issue_token, normalize_email, password_hash_of, sign_up

__all__ = ["signin", "signup"]

#: At most this many attempts per key (address, or address and e-mail) in one window.
ATTEMPTS = 10
WINDOW_SECONDS = 300
MIN_PASSWORD = 10


class Credentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An e-mail address and a password."""

    email: str
    password: str


class SignedIn(msgspec.Struct, kw_only=True):
    """A bearer token for the account."""

    account_id: uuid.UUID
    token: str


def _hash(password: str) -> str:
    hashed: bytes = nacl.pwhash.argon2id.str(password.encode())
    return hashed.decode()


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(nacl.pwhash.argon2id.verify(hashed.encode(), password.encode()))
    except nacl.exceptions.InvalidkeyError:
        return False


async def _throttle(request: Request[Any, Any, Any], *keys: str) -> None:
    database = state_of(request).database
    for key in keys:
        if await database.write(count_attempt, key, WINDOW_SECONDS) > ATTEMPTS:
            raise TooManyRequestsException(
                detail="too many attempts; try again later", headers={"Retry-After": str(WINDOW_SECONDS)}
            )


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


@post("/signup", tags=["auth"], summary="Create a hosted account", security=[])
async def signup(request: Request[Any, Any, Any], data: JSONBody[Credentials]) -> SignedIn:
    """A new account for an e-mail address; answers its first token."""
    email = normalize_email(data.email)
    if len(data.password) < MIN_PASSWORD:
        raise ValidationError(f"must have at least {MIN_PASSWORD} characters", field="password")
    await _throttle(request, f"signup:{_client(request)}")
    hashed = await asyncio.to_thread(_hash, data.password)  # Argon2id is meant to be slow: off the loop
    owner_id, token = await state_of(request).database.write(sign_up, email, hashed)
    return SignedIn(account_id=owner_id, token=token)


@post("/signin", tags=["auth"], summary="Sign in to a hosted account", security=[])
async def signin(request: Request[Any, Any, Any], data: JSONBody[Credentials]) -> SignedIn:
    """A new token for the account, if the password is right."""
    email = normalize_email(data.email)
    await _throttle(request, f"signin:{_client(request)}", f"signin:{email}")
    database = state_of(request).database
    found = await database.read(password_hash_of, email)
    if found is None or not await asyncio.to_thread(_verify, found[1], data.password):
        raise NotAuthorizedException(detail="wrong e-mail address or password")
    return SignedIn(account_id=found[0], token=await database.write(issue_token, found[0]))
