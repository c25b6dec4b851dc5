"""The relay's side of sync keys (docs/sync-protocol.md §8): public key-derivation
parameters, join verifiers, sealed envelopes and the sealed account card; enrolment by
passphrase or recovery key; revocation; deleting an account.

Nothing here can open anything: envelopes are sealed boxes to recipients' X25519 keys,
the account card is sealed under a data key, and a join token is kept only as its
SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from sqlalchemy import Connection, delete, select, update

from prism.errors import NotFoundError, ValidationError
from prism.storage.tables import (
    accounts,
    relay_devices,
    relay_envelopes,
    relay_keyrings,
    relay_sets,
    relay_snapshot_chunks,
    relay_snapshots,
)
from prism.sync.envelopes import invitation_recipient
from prism.sync.relay import add_device

__all__ = [
    "Envelope",
    "Enrolled",
    "delete_relay_account",
    "envelopes_for",
    "join_device",
    "keyring_kdf",
    "put_envelopes",
    "put_keyring",
    "revoke_device",
]

Via = Literal["passphrase", "recovery", "code"]
#: How long a one-time enrolment code stays valid.
INVITATION_LIFETIME = dt.timedelta(minutes=15)
_RECIPIENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789:")


class Envelope(NamedTuple):
    """One data key sealed to one recipient."""

    recipient: str
    key_id: str
    sealed: bytes


class Enrolled(NamedTuple):
    """What a device enrolled by passphrase or recovery key gets: its way to the keys."""

    envelopes: list[Envelope]
    account_card: bytes


def _hex_digest(value: str | None, field: str) -> None:
    if value is not None and (len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value)):
        raise ValidationError("must be a hex SHA-256 digest", field=field)


def put_keyring(
    connection: Connection,
    account_id: uuid.UUID,
    *,
    kdf: dict[str, Any],
    join_verifier: str,
    recovery_verifier: str | None,
    account_card: bytes,
) -> None:
    """Store (or replace) the account's public key material (``recovery_verifier=None``
    keeps the stored one)."""
    _hex_digest(join_verifier, "join_verifier")
    _hex_digest(recovery_verifier, "recovery_verifier")
    if not 0 < len(account_card) <= 1024:
        raise ValidationError("an account card is 1 to 1024 bytes", field="account_card")
    values: dict[str, Any] = {
        "kdf": kdf,
        "join_verifier": join_verifier,
        "account_card": account_card,
        "updated_at": dt.datetime.now(dt.UTC),
    }
    if recovery_verifier is not None:  # devices never hold the recovery key: None keeps it
        values["recovery_verifier"] = recovery_verifier
    k = relay_keyrings.c
    if connection.scalar(select(k.account_id).where(k.account_id == account_id)) is None:
        connection.execute(relay_keyrings.insert().values(account_id=account_id, **values))
    else:
        connection.execute(update(relay_keyrings).where(k.account_id == account_id).values(**values))


def keyring_kdf(connection: Connection, account_id: uuid.UUID) -> dict[str, Any]:
    """The public key-derivation parameters a joining device needs, or :class:`NotFoundError`."""
    kdf = connection.scalar(select(relay_keyrings.c.kdf).where(relay_keyrings.c.account_id == account_id))
    if kdf is None:
        raise NotFoundError("no such account, or it has no passphrase keyring")
    return dict(kdf)


def put_envelopes(connection: Connection, account_id: uuid.UUID, envelopes: Sequence[Envelope]) -> None:
    """Store envelopes, replacing any for the same recipient and key; they are listed
    later in the order given (devices seal with the last key they open)."""
    e = relay_envelopes.c
    now = dt.datetime.now(dt.UTC)
    for order, envelope in enumerate(envelopes):
        if not envelope.recipient or set(envelope.recipient) - _RECIPIENT_CHARS or len(envelope.recipient) > 40:
            raise ValidationError("a recipient is passphrase, recovery or device:<id>", field="recipient")
        if not 0 < len(envelope.sealed) <= 512 or not 0 < len(envelope.key_id) <= 32:
            raise ValidationError("an envelope is 1 to 512 bytes under a key id", field="sealed")
        key = (e.account_id == account_id, e.recipient == envelope.recipient, e.key_id == envelope.key_id)
        connection.execute(delete(relay_envelopes).where(*key))
        connection.execute(
            relay_envelopes.insert().values(
                account_id=account_id,
                recipient=envelope.recipient,
                key_id=envelope.key_id,
                sealed=envelope.sealed,
                # A batch keeps the order it was given in: the last key of a batch is the newest.
                created_at=now + dt.timedelta(microseconds=order),
            )
        )


def envelopes_for(connection: Connection, account_id: uuid.UUID, recipient: str) -> list[Envelope]:
    """A recipient's envelopes, oldest first (the last is the newest key)."""
    e = relay_envelopes.c
    rows = connection.execute(
        select(e.recipient, e.key_id, e.sealed)
        .where(e.account_id == account_id, e.recipient == recipient)
        .order_by(e.created_at, e.key_id)
    )
    return [Envelope(r.recipient, r.key_id, bytes(r.sealed)) for r in rows]


def join_device(
    connection: Connection,
    account_id: uuid.UUID,
    device_id: str,
    verify_key: str,
    *,
    join_token: bytes,
    via: Via,
) -> Enrolled:
    """Enrol a device that proved it knows the passphrase (or holds the recovery key).

    The token is derived apart from the key that opens the envelopes, so the relay
    checking it learns nothing that opens them.
    """
    k = relay_keyrings.c
    row = connection.execute(
        select(k.join_verifier, k.recovery_verifier, k.account_card).where(k.account_id == account_id)
    ).first()
    if row is None:
        raise NotFoundError("unknown account or wrong passphrase")
    if via == "code":
        return _join_by_code(
            connection, account_id, device_id, verify_key, token=join_token, card=bytes(row.account_card)
        )
    expected = row.join_verifier if via == "passphrase" else row.recovery_verifier
    presented = hashlib.sha256(join_token).hexdigest()
    if expected is None or not hmac.compare_digest(presented, str(expected)):
        raise NotFoundError("unknown account or wrong passphrase")
    add_device(connection, account_id, device_id, verify_key)
    return Enrolled(envelopes_for(connection, account_id, via), bytes(row.account_card))


def _join_by_code(
    connection: Connection, account_id: uuid.UUID, device_id: str, verify_key: str, *, token: bytes, card: bytes
) -> Enrolled:
    """Enrol by a one-time code: its envelopes are handed out once, within their lifetime."""
    recipient = invitation_recipient(token)
    found = envelopes_for(connection, account_id, recipient)
    e = relay_envelopes.c
    created = connection.scalar(
        select(e.created_at).where(e.account_id == account_id, e.recipient == recipient).limit(1)
    )
    connection.execute(delete(relay_envelopes).where(e.account_id == account_id, e.recipient == recipient))
    if not found or created is None or dt.datetime.now(dt.UTC) - created > INVITATION_LIFETIME:
        raise NotFoundError("unknown, used or expired enrolment code")
    add_device(connection, account_id, device_id, verify_key)
    return Enrolled(found, card)


def revoke_device(connection: Connection, account_id: uuid.UUID, by_device: str, device_id: str) -> None:
    """Revoke ``device_id``: its requests are refused from now on and its envelopes dropped."""
    if device_id == by_device:
        raise ValidationError("a device cannot revoke itself; revoke it from another", field="device_id")
    d = relay_devices.c
    found = connection.execute(
        update(relay_devices)
        .where(d.account_id == account_id, d.device_id == device_id, d.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    if found.rowcount == 0:
        raise NotFoundError(f"no enrolled device {device_id}")
    e = relay_envelopes.c
    connection.execute(delete(relay_envelopes).where(e.account_id == account_id, e.recipient == f"device:{device_id}"))


def delete_relay_account(connection: Connection, account_id: uuid.UUID) -> None:
    """Everything the relay holds for the account, gone."""
    owned = (relay_snapshot_chunks, relay_snapshots, relay_envelopes, relay_keyrings, relay_sets, relay_devices)
    for table in owned:
        connection.execute(delete(table).where(table.c.account_id == account_id))
    connection.execute(delete(accounts).where(accounts.c.id == account_id))
