"""Device authentication: one random bearer token in a 0600 file beside the database.

The device API listens on loopback, but other local processes can reach loopback too;
the token file is readable only by the user who runs Prism, so only their programs
(the desktop shell, their scripts) can call the API.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from prism.api.access import GRANT_KEY, enforce, limit_rate
from prism.api.state import OWNER_KEY, ApiState, api_state
from prism.domain.scopes import ALL_SCOPES, Grant
from prism.storage.identity import touch_token
from prism.storage.tokens import find_grant

__all__ = ["ensure_device_token", "require_owner", "rotate_device_token"]


def _write_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def ensure_device_token(path: Path) -> str:
    """The device's token, created on first use; a too-open file is tightened to 0600."""
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    _write_token(path, token)
    return token


def rotate_device_token(path: Path) -> str:
    """Replace the device's token; the old one stops working when the server reloads it."""
    token = secrets.token_urlsafe(32)
    _write_token(path, token)
    return token


def _current_token(state: ApiState) -> str:
    """The token, re-read when ``prism token rotate`` replaced the file."""
    path = state.settings.token_path
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return state.token
    if stamp != state.token_stamp:
        state.token, state.token_stamp = ensure_device_token(path), stamp
    return state.token


async def require_owner(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: a valid bearer token whose scopes cover the route; leaves the account it
    acts for and its :class:`~prism.domain.scopes.Grant` in the request scope.

    The device's own token (the 0600 file) holds every scope; any other token is
    looked up by its hash, on a device and hosted alike (scoped tokens, sign-in tokens).
    """
    scheme, _space, presented = connection.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    state = api_state(connection.app)
    grant: Grant | None = None
    if scheme.lower() == "bearer" and presented:
        device = state.device_owner
        if device is not None and hmac.compare_digest(presented.encode(), _current_token(state).encode()):
            grant = Grant(device, None, ALL_SCOPES)
        else:
            grant = await _stored_grant(state, presented)
            if grant is not None and device is not None and grant.owner_id != device:
                grant = None
    if grant is None:
        raise NotAuthorizedException(detail="a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    connection.scope[OWNER_KEY] = grant.owner_id  # type: ignore[literal-required]
    connection.scope[GRANT_KEY] = grant  # type: ignore[literal-required]
    await limit_rate(state, grant)
    await enforce(connection, state, grant)


async def _stored_grant(state: ApiState, token: str) -> Grant | None:
    found = await state.database.read(find_grant, token)
    if found is None:
        return None
    if found.needs_touch and found.grant.token_id is not None:
        await state.database.write(touch_token, found.grant.token_id)
    return found.grant
