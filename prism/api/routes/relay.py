"""``/relay/v1``: the blind relay, on the same app (docs/sync-protocol.md §6).

Anonymous accounts; every push and pull is signed by a registered device key, so the
relay needs no e-mail, no password and no data key. It files opaque change sets by a
per-account sequence and long-polls pulls until a push arrives.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, cast

import msgspec
from litestar import Request, get, post, put
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery, JSONBody

from prism.api.observability import RELAY_PULL_BYTES, RELAY_PULLS, RELAY_PUSH_BYTES, RELAY_PUSHES
from prism.api.state import state_of
from prism.errors import ValidationError
from prism.storage.identity import count_attempt
from prism.sync.relay import (
    head_seq,
    list_devices,
    put_card,
    register_account,
    sets_after,
    store_set,
    verify_request,
)
from prism.sync.relay_snapshots import compacted_away

__all__ = ["devices", "pull", "push", "put_device_card", "register", "signed_device", "signed_request"]

MAX_WAIT_SECONDS = 30.0
MAX_SET_BYTES = (2 << 20) + (16 << 10)


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
    head: int = 0  # the account's latest sequence: how far a device still has to go


class Device(msgspec.Struct, kw_only=True):
    """An enrolled device: its public key and its card (sealed under the data key)."""

    device_id: str
    verify_key: str
    card: bytes | None
    revoked: bool


class DeviceList(msgspec.Struct, kw_only=True):
    """The account's devices, oldest first."""

    items: list[Device]


#: New relay accounts per client address in one window.
ACCOUNT_WINDOW_SECONDS = 3600


def _headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


_DEVICE_KEY = "prism.relay_device"


async def signed_device(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: the request is signed by an enrolled device; leaves (account, device) in the scope.

    A guard runs before the body is parsed, so a request that is not signed learns
    nothing, not even whether its body would have been valid.
    """
    request = cast("Request[Any, Any, Any]", connection)
    body = await request.body()
    found = await state_of(request).database.read(
        verify_request, _headers(request), method=request.method, path=request.url.path, body=body, now=time.time()
    )
    connection.scope[_DEVICE_KEY] = found  # type: ignore[literal-required]


def signed_request(request: Request[Any, Any, Any]) -> tuple[uuid.UUID, str]:
    """The (account, device) the :func:`signed_device` guard established."""
    found: tuple[uuid.UUID, str] = request.scope[_DEVICE_KEY]  # type: ignore[literal-required]
    return found


@post("/accounts", tags=["relay"], summary="Create an anonymous relay account", security=[])
async def register(request: Request[Any, Any, Any], data: JSONBody[Registration]) -> Registered:
    """An account for the device whose public key is given."""
    state = state_of(request)
    database = state.database
    client = request.client.host if request.client else "unknown"
    # Anonymous accounts cost nothing to ask for; replicas share the count (rate_limits).
    allowed = state.settings.server.relay_accounts_per_hour
    if await database.write(count_attempt, f"relay-account:{client}", ACCOUNT_WINDOW_SECONDS) > allowed:
        raise TooManyRequestsException(
            detail="too many new accounts from this address; try again later",
            headers={"Retry-After": str(ACCOUNT_WINDOW_SECONDS)},
        )
    account = await database.write(register_account, data.device_id, data.verify_key)
    return Registered(account_id=account)


@post(
    "/push",
    tags=["relay"],
    summary="Store a sealed change set (signed request)",
    security=[],
    guards=[signed_device],
    # A padded set is at most 2 MiB (docs/sync-protocol.md §4) plus its envelope, whatever
    # the app's general limit for request bodies.
    request_max_body_size=MAX_SET_BYTES,
)
async def push(request: Request[Any, Any, Any]) -> Pushed:
    """File the request body, a sealed change set; the same set twice answers one sequence."""
    state = state_of(request)
    account, device = signed_request(request)
    body = await request.body()
    seq = await state.database.write(store_set, account, device, body)
    state.relay_bell.ring(account)
    RELAY_PUSHES.inc()
    RELAY_PUSH_BYTES.inc(len(body))
    return Pushed(seq=seq)


@get(
    "/pull",
    tags=["relay"],
    summary="Sets after a sequence, long-polling (signed request)",
    security=[],
    guards=[signed_device],
)
async def pull(request: Request[Any, Any, Any], after: FromQuery[int] = 0, wait: FromQuery[float] = 0.0) -> SetPage:
    """Stored sets with a sequence above ``after``; with ``wait``, hold until one arrives."""
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValidationError(f"must be between 0 and {MAX_WAIT_SECONDS:g} seconds", field="wait")
    state = state_of(request)
    account, _ = signed_request(request)
    covers = await state.database.read(compacted_away, account, after)
    if covers is not None:
        raise HTTPException(
            status_code=410,
            detail=f"sets after {after} were compacted into a snapshot covering {covers}: bootstrap from the snapshot",
        )
    found = await state.database.read(sets_after, account, after)
    if not found and wait > 0:
        await state.relay_bell.wait(account, wait)
        found = await state.database.read(sets_after, account, after)
    items = [StoredSet(seq=seq, body=body) for seq, body in found]
    RELAY_PULLS.inc()
    RELAY_PULL_BYTES.inc(sum(len(item.body) for item in items))
    head = await state.database.read(head_seq, account)
    return SetPage(items=items, next_cursor=str(items[-1].seq) if items else None, head=max(head, after))


@put(
    "/devices/card",
    tags=["relay"],
    summary="Store this device's sealed card (signed request)",
    security=[],
    guards=[signed_device],
)
async def put_device_card(request: Request[Any, Any, Any]) -> None:
    """The request body is the device's card, sealed under the data key by the device."""
    account, device = signed_request(request)
    await state_of(request).database.write(put_card, account, device, await request.body())


@get("/devices", tags=["relay"], summary="The account's devices (signed request)", security=[], guards=[signed_device])
async def devices(request: Request[Any, Any, Any]) -> DeviceList:
    """Every device of the account with its public key and card."""
    account, _ = signed_request(request)
    found = await state_of(request).database.read(list_devices, account)
    return DeviceList(
        items=[Device(device_id=d.device_id, verify_key=d.verify_key, card=d.card, revoked=d.revoked) for d in found]
    )
