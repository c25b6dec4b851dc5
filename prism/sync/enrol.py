"""Setting a device up for sync (docs/sync-protocol.md §8): the first device of a new
account, another device joining with the passphrase, or a new device recovering the
account with the recovery key when every device is lost.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import NamedTuple

import msgspec
import nacl.signing
from sqlalchemy import Connection, delete, func, select

from prism.client.relay import RelayClient, RelayIdentity
from prism.config import SyncSettings
from prism.errors import ChangeSetRejectedError, ConflictError, ValidationError
from prism.storage.catalog import create_account, device_account, ensure_device_account
from prism.storage.changes import new_device_id
from prism.storage.engine import Database
from prism.storage.integration_tables import webhook_attempts, webhook_deliveries, webhooks
from prism.storage.tables import accounts, api_tokens, changes, clock_states, sync_links
from prism.sync.envelopes import (
    AccountCard,
    invitation_secrets,
    open_account_card,
    open_envelope,
    passphrase_secrets,
    recovery_secrets,
    seal_account_card,
)
from prism.sync.key_file import KeyFile
from prism.sync.keyring import check_passphrase, read_invitation, seal_to_recipients
from prism.sync.keys import (
    AccountKey,
    DeviceKeys,
    KdfParams,
    join_verifier,
    new_account_key,
    new_kdf_params,
    save_device_keys,
    seal_card,
)
from prism.sync.link import create_link, device_id_of
from prism.sync.recovery import format_recovery_key, new_recovery_key, parse_recovery_key

__all__ = ["Created", "create_sync_account", "join_sync_account"]


class Created(NamedTuple):
    """A new sync account: this device's keys, and the recovery key to write down."""

    keys: DeviceKeys
    recovery_key: str


async def create_sync_account(
    database: Database,
    relay: RelayClient,
    *,
    relay_url: str,
    passphrase: str,
    settings: SyncSettings,
    keys_path: Path | KeyFile,
) -> Created:
    """Make this device the first of a new sync account: data key, relay account,
    envelopes for this device, the passphrase and a new recovery key.

    Everything the device logged so far is pushed by the next sync.
    """
    check_passphrase(passphrase)
    owner = await database.write(ensure_device_account)
    if await database.read(_linked, owner):
        raise ConflictError("this device is already linked to a relay")
    device_id = await database.write(device_id_of, owner)
    signing = nacl.signing.SigningKey.generate()
    account_id = await relay.create_account(device_id, signing.verify_key)
    params = new_kdf_params(settings.kdf_ops, settings.kdf_mem_kib)
    passphrase_key, token = await asyncio.to_thread(passphrase_secrets, passphrase, params)
    recovery = new_recovery_key()
    recovery_key, recovery_token = recovery_secrets(recovery)
    account_key = new_account_key(owner)
    keys = _keep_keys(
        relay,
        keys_path,
        {account_key.key_id: account_key},
        account_id=account_id,
        device_id=device_id,
        signing=signing,
        card=AccountCard(bytes(passphrase_key.public_key), bytes(recovery_key.public_key)),
    )
    await relay.put_keyring(
        kdf=msgspec.to_builtins(params),
        join_verifier=join_verifier(token),
        recovery_verifier=join_verifier(recovery_token),
        account_card=seal_account_card(keys, AccountCard(keys.passphrase_public, keys.recovery_public)),
    )
    await relay.put_envelopes(seal_to_recipients(keys, account_key, []))
    await relay.put_card(seal_card(keys))
    await database.write(create_link, owner, relay_url, account_id)
    return Created(keys, format_recovery_key(recovery))


async def join_sync_account(
    database: Database,
    relay: RelayClient,
    *,
    relay_url: str,
    account_id: uuid.UUID,
    passphrase: str | None = None,
    recovery_key: str | None = None,
    code: str | None = None,
    keys_path: Path | KeyFile,
) -> DeviceKeys:
    """Enrol this device, which must hold no portfolio data yet, in an existing account,
    with a one-time code from an enrolled device, the passphrase, or (when every device
    is lost) the recovery key."""
    await database.read(_check_joinable)
    if code is not None:
        code_account, secret = read_invitation(code)
        if code_account != account_id:
            raise ValidationError("this code is for another account", field="code")
        private, token = invitation_secrets(secret)
        via = "code"
    elif recovery_key is not None:
        private, token = recovery_secrets(parse_recovery_key(recovery_key))
        via = "recovery"
    elif passphrase is not None:
        try:
            params = msgspec.convert(await relay.kdf(account_id), KdfParams)
        except msgspec.ValidationError:
            raise ChangeSetRejectedError("the relay answered malformed key-derivation parameters") from None
        private, token = await asyncio.to_thread(passphrase_secrets, passphrase, params)
        via = "passphrase"
    else:
        raise ValidationError("a passphrase or a recovery key is needed", field="passphrase")
    device_id = new_device_id()
    signing = nacl.signing.SigningKey.generate()
    joined = await relay.join(account_id, device_id, signing.verify_key, token, via=via)
    if not joined.envelopes:
        raise ChangeSetRejectedError("the relay holds no keys for this way in")
    opened = {e.key_id: open_envelope(private, account_id, e.sealed) for e in joined.envelopes}
    keys = _keep_keys(relay, keys_path, opened, account_id=account_id, device_id=device_id, signing=signing)
    card = open_account_card(joined.account_card, keys)
    keys = msgspec.structs.replace(keys, passphrase_public=card.passphrase_public, recovery_public=card.recovery_public)
    save_device_keys(keys_path, keys)
    await relay.put_card(seal_card(keys))
    await database.write(_adopt, keys, relay_url)
    return keys


def _linked(connection: Connection, owner_id: uuid.UUID) -> bool:
    return connection.scalar(select(sync_links.c.owner_id).where(sync_links.c.owner_id == owner_id)) is not None


def _check_joinable(connection: Connection) -> None:
    owner = device_account(connection)
    if owner is None:
        return
    if _linked(connection, owner):
        raise ConflictError("this device is already linked to a relay")
    logged = connection.scalar(select(func.count()).select_from(changes).where(changes.c.owner_id == owner))
    if logged:
        raise ConflictError("this device already holds portfolio data; join with an empty device database")


def _forget_local_account(connection: Connection, local: uuid.UUID) -> None:
    """Drop the empty local account and what hangs off it (tokens and webhooks made on this
    device before it joined serve an account that is going away)."""
    deliveries = select(webhook_deliveries.c.id).where(webhook_deliveries.c.owner_id == local)
    connection.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(deliveries)))
    connection.execute(delete(webhook_deliveries).where(webhook_deliveries.c.owner_id == local))
    connection.execute(delete(webhooks).where(webhooks.c.owner_id == local))
    connection.execute(delete(api_tokens).where(api_tokens.c.owner_id == local))
    connection.execute(delete(clock_states).where(clock_states.c.owner_id == local))
    connection.execute(delete(accounts).where(accounts.c.id == local))


def _adopt(connection: Connection, keys: DeviceKeys, relay_url: str) -> None:
    """Make the device serve the joined account (replacing its empty local one)."""
    _check_joinable(connection)
    local = device_account(connection)
    if local is not None and local != keys.owner_id:
        _forget_local_account(connection, local)
    if local != keys.owner_id:
        create_account(connection, "Device owner", account_id=keys.owner_id)
    connection.execute(delete(clock_states).where(clock_states.c.owner_id == keys.owner_id))
    connection.execute(clock_states.insert().values(owner_id=keys.owner_id, device_id=keys.device_id, last_hlc=0))
    create_link(connection, keys.owner_id, relay_url, keys.account_id)


def _keep_keys(
    relay: RelayClient,
    keys_path: Path | KeyFile,
    data_keys: dict[str, AccountKey],
    *,
    account_id: uuid.UUID,
    device_id: str,
    signing: nacl.signing.SigningKey,
    card: AccountCard | None = None,
) -> DeviceKeys:
    """The device's keys, saved before anything depends on them; the relay client signs with them.

    The newest data key (the last given) seals from now on.
    """
    newest = list(data_keys.values())[-1]
    keys = DeviceKeys(
        owner_id=newest.owner_id,
        account_id=account_id,
        device_id=device_id,
        signing_seed=bytes(signing),
        key_id=newest.key_id,
        data_keys={key_id: key.data_key for key_id, key in data_keys.items()},
        passphrase_public=card.passphrase_public if card else b"",
        recovery_public=card.recovery_public if card else b"",
    )
    save_device_keys(keys_path, keys)
    relay.identity = RelayIdentity(account_id, device_id, signing)
    return keys
