"""A device's key operations (docs/sync-protocol.md §8): seal a data key to every
recipient, learn keys other devices made, change the passphrase, revoke a device and
rotate to a new data key. The relay only ever receives sealed boxes and public keys.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from pathlib import Path

import msgspec
import nacl.public
import zxcvbn

from prism.client.relay import EnvelopeEntry, RelayClient
from prism.config import SyncSettings
from prism.errors import ChangeSetRejectedError, ValidationError
from prism.sync.envelopes import (
    PASSPHRASE,
    RECOVERY,
    AccountCard,
    device_box_key,
    device_public,
    device_recipient,
    invitation_recipient,
    invitation_secrets,
    open_envelope,
    passphrase_secrets,
    seal_account_card,
    seal_envelope,
)
from prism.sync.key_file import KeyFile
from prism.sync.keys import AccountKey, DeviceKeys, join_verifier, new_account_key, new_kdf_params, open_card
from prism.sync.keys import save_device_keys as save_keys
from prism.sync.recovery import format_recovery_key, parse_recovery_key

__all__ = [
    "MIN_LENGTH",
    "MIN_STRENGTH",
    "change_passphrase",
    "invite_device",
    "read_invitation",
    "check_passphrase",
    "learn_keys",
    "revoke_and_rotate",
    "seal_to_recipients",
]

log = logging.getLogger(__name__)
#: zxcvbn's score (0-4) a new passphrase must reach: "safely unguessable" against offline attack.
MIN_STRENGTH = 3
MIN_LENGTH = 10


def check_passphrase(passphrase: str) -> None:
    """Refuse a passphrase an offline attacker with the relay's data could guess."""
    found = zxcvbn.zxcvbn(passphrase[:200])
    if len(passphrase) < MIN_LENGTH or found["score"] < MIN_STRENGTH:
        advice = found["feedback"]["warning"] or " ".join(found["feedback"]["suggestions"]) or "make it longer"
        raise ValidationError(f"too easy to guess: {advice}", field="passphrase")


def _recipients(keys: DeviceKeys, devices: list[tuple[str, str]]) -> dict[str, nacl.public.PublicKey]:
    found = {device_recipient(device_id): device_public(verify_key) for device_id, verify_key in devices}
    found[device_recipient(keys.device_id)] = device_box_key(keys).public_key
    if keys.passphrase_public:
        found[PASSPHRASE] = nacl.public.PublicKey(keys.passphrase_public)
    if keys.recovery_public:
        found[RECOVERY] = nacl.public.PublicKey(keys.recovery_public)
    return found


def seal_to_recipients(
    keys: DeviceKeys, account_key: AccountKey, devices: list[tuple[str, str]]
) -> list[EnvelopeEntry]:
    """Envelopes of ``account_key`` for this device, ``devices`` (id, verify key), passphrase and recovery."""
    return [
        EnvelopeEntry(recipient, account_key.key_id, seal_envelope(public, keys.account_id, account_key))
        for recipient, public in _recipients(keys, devices).items()
    ]


def _seal_all(keys: DeviceKeys, recipient: str, public: nacl.public.PublicKey) -> list[EnvelopeEntry]:
    """Every data key of ``keys`` sealed to one recipient, the current key last (whoever
    opens them seals with the last)."""
    order = [k for k in keys.data_keys if k != keys.key_id] + [keys.key_id]
    return [
        EnvelopeEntry(
            recipient,
            key_id,
            seal_envelope(public, keys.account_id, AccountKey(keys.owner_id, key_id, keys.data_keys[key_id])),
        )
        for key_id in order
    ]


async def _verified_devices(relay: RelayClient, keys: DeviceKeys) -> list[tuple[str, str]]:
    """The account's other live devices whose cards open under our keys."""
    found = []
    for device in await relay.devices():
        if device.device_id == keys.device_id or device.revoked or device.card is None:
            continue
        try:
            if open_card(device.card, keys) == (device.device_id, device.verify_key):
                found.append((device.device_id, device.verify_key))
        except ChangeSetRejectedError:
            log.warning("device %s has a card no holder of the data key made; not sealing to it", device.device_id)
    return found


async def learn_keys(relay: RelayClient, keys: DeviceKeys, keys_path: Path | KeyFile | None) -> DeviceKeys:
    """Open envelopes sealed to this device since it last looked; the newest key seals from now on."""
    private = device_box_key(keys)
    known = dict(keys.data_keys)
    newest = keys.key_id
    for envelope in await relay.envelopes():
        if envelope.key_id not in known:
            opened = open_envelope(private, keys.account_id, envelope.sealed)
            known[opened.key_id] = opened.data_key
        newest = envelope.key_id
    if known == keys.data_keys and newest == keys.key_id:
        return keys
    updated = msgspec.structs.replace(keys, data_keys=known, key_id=newest)
    if keys_path is not None:
        save_keys(keys_path, updated)
    return updated


async def invite_device(relay: RelayClient, keys: DeviceKeys) -> str:
    """A one-time enrolment code for a new device: the account id and 128 random bits.

    Every data key is sealed to the code's X25519 key and left at the relay under the
    hash of the code's token; the first device to present the token within the code's
    lifetime gets them, once. Neither the relay nor anyone watching can open them.
    """
    secret = secrets.token_bytes(16)
    private, token = invitation_secrets(secret)
    await relay.put_envelopes(_seal_all(keys, invitation_recipient(token), private.public_key))
    return format_recovery_key(keys.account_id.bytes + secret)


def read_invitation(code: str) -> tuple[uuid.UUID, bytes]:
    """The account id and secret of an enrolment code (typos caught by its checksum)."""
    raw = parse_recovery_key(code)
    return uuid.UUID(bytes=raw[:16]), raw[16:]


async def change_passphrase(
    relay: RelayClient, keys: DeviceKeys, keys_path: Path | KeyFile, passphrase: str, settings: SyncSettings
) -> DeviceKeys:
    """A new passphrase for the account; the data keys and every device stay as they are."""
    check_passphrase(passphrase)
    params = new_kdf_params(settings.kdf_ops, settings.kdf_mem_kib)
    private, token = await asyncio.to_thread(passphrase_secrets, passphrase, params)
    updated = msgspec.structs.replace(keys, passphrase_public=bytes(private.public_key))
    await relay.put_envelopes(_seal_all(keys, PASSPHRASE, private.public_key))
    card = seal_account_card(updated, AccountCard(updated.passphrase_public, updated.recovery_public))
    await relay.put_keyring(
        kdf=msgspec.to_builtins(params), join_verifier=join_verifier(token), recovery_verifier=None, account_card=card
    )
    save_keys(keys_path, updated)
    return updated


async def revoke_and_rotate(
    relay: RelayClient, keys: DeviceKeys, keys_path: Path | KeyFile, device_id: str
) -> DeviceKeys:
    """Revoke ``device_id`` and seal a new data key to everyone else: it cannot read what follows."""
    await relay.revoke(device_id)
    fresh = new_account_key(keys.owner_id)
    others = [d for d in await _verified_devices(relay, keys) if d[0] != device_id]
    await relay.put_envelopes(seal_to_recipients(keys, fresh, others))
    updated = msgspec.structs.replace(
        keys, key_id=fresh.key_id, data_keys={**keys.data_keys, fresh.key_id: fresh.data_key}
    )
    save_keys(keys_path, updated)
    return updated
