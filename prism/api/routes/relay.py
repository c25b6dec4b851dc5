"""``/relay/v1``: the blind relay, on the same app (docs/sync-protocol.md §6).

Anonymous accounts; every push and pull is signed by a registered device key, so the
relay needs no e-mail, no password and no data key. It files opaque change sets by a
per-account sequence and long-polls pulls until a push arrives.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromQuery, JSONBody

from prism.api.state import state_of
from prism.errors import ValidationError
from prism.sync.relay import register_account, sets_after, store_set, verify_request

__all__ = ["pull", "push", "register"]

MAX_WAIT_SECONDS = 30.0


class Registration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A device's id and Ed25519 public key (base64)."""

    device_id: str
    verify_key: str


class Registered(msgspec.Struct, kw_only=True):
    """The new relay account."""

    account_id: uuid.UUID


class Pushed(msgspec.Struct, kw_only=True):
    """Where the relay filed a change set."""

    seq: int


class StoredSet(msgspec.Struct, kw_only=True):
    """One sealed change set (base64 in JSON) and its sequence."""

    seq: int
    body: bytes


class SetPage(msgspec.Struct, kw_only=True):
    """Sets after the cursor, in sequence order."""

    items: list[StoredSet]
    next_cursor: str | None = None


def _headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


@post("/accounts", tags=["relay"], summary="Create an anonymous relay account", security=[])
async def register(request: Request[Any, Any, Any], data: JSONBody[Registration]) -> Registered:
    """An account for the device whose public key is given."""
    account = await state_of(request).database.write(register_account, data.device_id, data.verify_key)
    return Registered(account_id=account)


@post("/push", tags=["relay"], summary="Store a sealed change set (signed request)", security=[])
async def push(request: Request[Any, Any, Any]) -> Pushed:
    """File the request body, a sealed change set; the same set twice answers one sequence."""
    state = state_of(request)
    body = await request.body()
    account, device = await state.database.read(
        verify_request, _headers(request), method="POST", path=request.url.path, body=body, now=time.time()
    )
    seq = await state.database.write(store_set, account, device, body)
    state.relay_bell.ring(account)
    return Pushed(seq=seq)


@get("/pull", tags=["relay"], summary="Sets after a sequence, long-polling (signed request)", security=[])
async def pull(request: Request[Any, Any, Any], after: FromQuery[int] = 0, wait: FromQuery[float] = 0.0) -> SetPage:
    """Stored sets with a sequence above ``after``; with ``wait``, hold until one arrives."""
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValidationError(f"must be between 0 and {MAX_WAIT_SECONDS:g} seconds", field="wait")
    state = state_of(request)
    account, _ = await state.database.read(
        verify_request, _headers(request), method="GET", path=request.url.path, body=b"", now=time.time()
    )
    found = await state.database.read(sets_after, account, after)
    if not found and wait > 0:
        await state.relay_bell.wait(account, wait)
        found = await state.database.read(sets_after, account, after)
    items = [StoredSet(seq=seq, body=body) for seq, body in found]
    return SetPage(items=items, next_cursor=str(items[-1].seq) if items else None)
