"""The blind relay's store: device keys and opaque change sets, per account.

The relay never holds a data key: it reads only the unencrypted envelope header of a
change set (account, device, set id) to file it. Sequence numbers are per account and
assigned under the account's lock, so every replica agrees on them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import NamedTuple

import nacl.exceptions
import nacl.signing
from sqlalchemy import Connection, func, select, text, update

from prism.client.signing import request_signature_base
from prism.errors import ChangeSetRejectedError, NotFoundError, ValidationError
from prism.storage.catalog import create_account
from prism.storage.engine import lock_owner
from prism.storage.tables import relay_devices, relay_sets
from prism.sync.codec import read_header

__all__ = [
    "MAX_CLOCK_SKEW_SECONDS",
    "NOTIFY_CHANNEL",
    "RelayDevice",
    "add_device",
    "list_devices",
    "put_card",
    "register_account",
    "head_seq",
    "sets_after",
    "store_set",
    "verify_request",
]

#: The PostgreSQL channel on which a stored set wakes other replicas' long-polls.
NOTIFY_CHANNEL = "prism_relay"
#: A signed request older or newer than this is refused (limits replay of captured requests).
MAX_CLOCK_SKEW_SECONDS = 300


def _verify_key(encoded: str, field: str = "verify_key") -> nacl.signing.VerifyKey:
    try:
        return nacl.signing.VerifyKey(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, nacl.exceptions.ValueError):
        raise ValidationError("must be a base64 Ed25519 public key", field=field) from None


def add_device(connection: Connection, account_id: uuid.UUID, device_id: str, verify_key: str) -> None:
    if len(device_id) != 16 or any(ch not in "0123456789abcdef" for ch in device_id):
        raise ValidationError("must be 16 lower-case hex characters", field="device_id")
    _verify_key(verify_key)
    d = relay_devices.c
    if connection.scalar(select(d.device_id).where(d.account_id == account_id, d.device_id == device_id)):
        raise ValidationError("this device id is already enrolled in the account", field="device_id")
    connection.execute(
        relay_devices.insert().values(
            account_id=account_id, device_id=device_id, verify_key=verify_key, created_at=dt.datetime.now(dt.UTC)
        )
    )


def register_account(connection: Connection, device_id: str, verify_key: str) -> uuid.UUID:
    """A new anonymous relay account with its first device."""
    account = create_account(connection, "relay account")
    add_device(connection, account, device_id, verify_key)
    return account


def put_card(connection: Connection, account_id: uuid.UUID, device_id: str, card: bytes) -> None:
    """Store a device's card: its id and key sealed under the data key, for its peers to check."""
    if not 0 < len(card) <= 1024:
        raise ValidationError("a device card is 1 to 1024 bytes", field="body")
    d = relay_devices.c
    connection.execute(
        update(relay_devices).where(d.account_id == account_id, d.device_id == device_id).values(card=card)
    )


class RelayDevice(NamedTuple):
    """One enrolled device as the relay knows it."""

    device_id: str
    verify_key: str
    card: bytes | None
    revoked: bool


def list_devices(connection: Connection, account_id: uuid.UUID) -> list[RelayDevice]:
    """The account's devices, oldest first."""
    d = relay_devices.c
    rows = connection.execute(
        select(d.device_id, d.verify_key, d.card, d.revoked_at)
        .where(d.account_id == account_id)
        .order_by(d.created_at, d.device_id)
    )
    return [
        RelayDevice(r.device_id, r.verify_key, bytes(r.card) if r.card else None, r.revoked_at is not None)
        for r in rows
    ]


def verify_request(
    connection: Connection, headers: dict[str, str], *, method: str, path: str, body: bytes, now: float
) -> tuple[uuid.UUID, str]:
    """The (account, device) a signed request comes from, or :class:`NotFoundError`.

    Every failure answers the same, so the relay does not reveal which accounts exist.
    """
    refused = NotFoundError("unknown device or bad signature")
    try:
        account = uuid.UUID(headers["x-prism-account"])
        device = headers["x-prism-device"]
        timestamp = int(headers["x-prism-time"])
        signature = base64.b64decode(headers["x-prism-signature"], validate=True)
    except (KeyError, ValueError, binascii.Error):
        raise refused from None
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise refused
    d = relay_devices.c
    key = connection.scalar(
        select(d.verify_key).where(d.account_id == account, d.device_id == device, d.revoked_at.is_(None))
    )
    if key is None:
        raise refused
    try:
        _verify_key(str(key)).verify(request_signature_base(method, path, timestamp, body), signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise refused from None
    return account, device


def store_set(connection: Connection, account_id: uuid.UUID, device_id: str, body: bytes) -> int:
    """File a sealed change set; pushing the same set again answers its first sequence."""
    header = read_header(body)
    if header.account_id != account_id or header.device_id != device_id:
        raise ChangeSetRejectedError("the header names another account or device")
    lock_owner(connection, account_id)
    s = relay_sets.c
    known = connection.scalar(select(s.seq).where(s.account_id == account_id, s.set_id == header.set_id))
    if known is not None:
        return int(known)
    latest = connection.scalar(select(func.coalesce(func.max(s.seq), 0)).where(s.account_id == account_id))
    seq = int(latest or 0) + 1
    connection.execute(
        relay_sets.insert().values(
            account_id=account_id,
            seq=seq,
            set_id=header.set_id,
            device_id=device_id,
            body=body,
            received_at=dt.datetime.now(dt.UTC),
        )
    )
    if connection.dialect.name == "postgresql":
        # Delivered at commit to every replica listening (prism.api.longpoll).
        connection.execute(
            text("SELECT pg_notify(:channel, :account)"), {"channel": NOTIFY_CHANNEL, "account": str(account_id)}
        )
    return seq


def sets_after(
    connection: Connection, account_id: uuid.UUID, after: int, max_bytes: int = 4 << 20
) -> list[tuple[int, bytes]]:
    """Stored sets with a sequence above ``after``, in order, up to about ``max_bytes``."""
    s = relay_sets.c
    rows = connection.execute(
        select(s.seq, s.body).where(s.account_id == account_id, s.seq > after).order_by(s.seq).limit(1000)
    )
    found: list[tuple[int, bytes]] = []
    size = 0
    for seq, body in rows:
        if found and size + len(body) > max_bytes:
            break
        found.append((int(seq), bytes(body)))
        size += len(body)
    return found


def head_seq(connection: Connection, account_id: uuid.UUID) -> int:
    """The account's latest sequence number (0 before the first set)."""
    s = relay_sets.c
    return int(connection.scalar(select(func.coalesce(func.max(s.seq), 0)).where(s.account_id == account_id)) or 0)
