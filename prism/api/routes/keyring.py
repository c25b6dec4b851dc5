"""``/relay/v1`` key routes (docs/sync-protocol.md §8): the account's public key material,
sealed envelopes, enrolment by passphrase or recovery key, revocation, deletion.

The relay stores and hands out only what it cannot open.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from litestar import Request, delete, get, post, put
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromPath, JSONBody

from prism.api.routes.relay import signed_device, signed_request
from prism.api.state import state_of
from prism.storage.identity import count_attempt
from prism.sync.relay_keys import (
    Envelope,
    delete_relay_account,
    envelopes_for,
    join_device,
    keyring_kdf,
    put_envelopes,
    revoke_device,
)
from prism.sync.relay_keys import put_keyring as store_keyring

__all__ = ["delete_account", "envelopes", "join", "kdf", "put_keyring", "revoke", "store_envelopes"]

#: Join attempts per account in one window: a passphrase cannot be guessed online.
JOIN_ATTEMPTS = 10
JOIN_WINDOW_SECONDS = 300


class Keyring(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Public KDF parameters, join verifiers, and the account card sealed under the data key."""

    kdf: dict[str, Any]
    join_verifier: str
    recovery_verifier: str | None = None
    account_card: bytes


class EnvelopeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One data key sealed to one recipient."""

    recipient: str
    key_id: str
    sealed: bytes


class EnvelopeList(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Envelopes, oldest first."""

    items: list[EnvelopeIn]


class Join(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new device, and the token proving its owner holds the passphrase or the recovery key."""

    device_id: str
    verify_key: str
    join_token: bytes
    via: Literal["passphrase", "recovery", "code"] = "passphrase"


class Joined(msgspec.Struct, kw_only=True):
    """The envelopes the new device can open, and the account card."""

    envelopes: list[EnvelopeIn]
    account_card: bytes


def _wire(found: list[Envelope]) -> list[EnvelopeIn]:
    return [EnvelopeIn(recipient=e.recipient, key_id=e.key_id, sealed=e.sealed) for e in found]


_SIGNED: dict[str, Any] = {"tags": ["relay"], "security": [], "guards": [signed_device]}


@put("/keyring", summary="Store the account's public key material (signed request)", **_SIGNED)
async def put_keyring(request: Request[Any, Any, Any], data: JSONBody[Keyring]) -> None:
    """Replace the keyring; the relay keeps it as it is."""
    account, _ = signed_request(request)
    await state_of(request).database.write(
        store_keyring,
        account,
        kdf=data.kdf,
        join_verifier=data.join_verifier,
        recovery_verifier=data.recovery_verifier,
        account_card=data.account_card,
    )


@put("/envelopes", summary="Store sealed data keys (signed request)", **_SIGNED)
async def store_envelopes(request: Request[Any, Any, Any], data: JSONBody[EnvelopeList]) -> None:
    """Store envelopes for any recipients of the account."""
    account, _ = signed_request(request)
    found = [Envelope(e.recipient, e.key_id, e.sealed) for e in data.items]
    await state_of(request).database.write(put_envelopes, account, found)


@get("/envelopes", summary="This device's sealed data keys (signed request)", **_SIGNED)
async def envelopes(request: Request[Any, Any, Any]) -> EnvelopeList:
    """The envelopes sealed to the calling device, oldest first."""
    account, device = signed_request(request)
    found = await state_of(request).database.read(envelopes_for, account, f"device:{device}")
    return EnvelopeList(items=_wire(found))


@get("/accounts/{account_id:uuid}/kdf", tags=["relay"], summary="Key-derivation parameters for joining", security=[])
async def kdf(request: Request[Any, Any, Any], account_id: FromPath[uuid.UUID]) -> dict[str, Any]:
    """The Argon2id parameters and salt a joining device derives its keys with."""
    return await state_of(request).database.read(keyring_kdf, account_id)


@post("/accounts/{account_id:uuid}/devices", tags=["relay"], summary="Enrol a device", security=[])
async def join(request: Request[Any, Any, Any], account_id: FromPath[uuid.UUID], data: JSONBody[Join]) -> Joined:
    """Register a device whose owner proves the passphrase or recovery key; its envelopes."""
    database = state_of(request).database
    if await database.write(count_attempt, f"relay-join:{account_id}", JOIN_WINDOW_SECONDS) > JOIN_ATTEMPTS:
        raise TooManyRequestsException(
            detail="too many join attempts; try again later", headers={"Retry-After": str(JOIN_WINDOW_SECONDS)}
        )
    enrolled = await database.write(
        join_device, account_id, data.device_id, data.verify_key, join_token=data.join_token, via=data.via
    )
    return Joined(envelopes=_wire(enrolled.envelopes), account_card=enrolled.account_card)


@post("/devices/{device_id:str}/revoke", summary="Revoke another device (signed request)", **_SIGNED)
async def revoke(request: Request[Any, Any, Any], device_id: FromPath[str]) -> None:
    """The device's requests are refused from now on; its envelopes are dropped."""
    account, by_device = signed_request(request)
    await state_of(request).database.write(revoke_device, account, by_device, device_id)


@delete("/account", summary="Delete everything the relay holds for the account (signed request)", **_SIGNED)
async def delete_account(request: Request[Any, Any, Any]) -> None:
    """Sets, devices, keyring and envelopes: all gone."""
    account, _ = signed_request(request)
    database = state_of(request).database
    await database.write(delete_relay_account, account)
    await database.checkpoint()
