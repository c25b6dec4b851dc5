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

from prism.api.state import ApiState, api_state

__all__ = ["ensure_device_token", "require_token", "rotate_device_token"]


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


def require_token(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: the request carries ``Authorization: Bearer <device token>``."""
    header = connection.headers.get("authorization", "")
    scheme, _space, presented = header.partition(" ")
    expected = _current_token(api_state(connection.app))
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise NotAuthorizedException(detail="a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
