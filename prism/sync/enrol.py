"""Setting a device up for sync (docs/sync-protocol.md §8): the first device of a new
account, or another device joining with the passphrase.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import msgspec
import nacl.signing
from sqlalchemy import Connection, delete, func, select

from prism.client.relay import RelayClient, RelayIdentity
from prism.config import SyncSettings
from prism.errors import ChangeSetRejectedError, ConflictError, ValidationError
from prism.storage.catalog import create_account, device_account, ensure_device_account
from prism.storage.changes import new_device_id
from prism.storage.engine import Database
from prism.storage.tables import accounts, changes, clock_states, sync_links
from prism.sync.keys import (
    MIN_PASSPHRASE,
    AccountKey,
    DeviceKeys,
    KdfParams,
    derive_passphrase_keys,
    join_verifier,
    new_account_key,
    new_kdf_params,
    save_device_keys,
    seal_card,
    unwrap_account_key,
    wrap_account_key,
)
from prism.sync.link import create_link, device_id_of

__all__ = ["create_sync_account", "join_sync_account"]


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(f"must be at least {MIN_PASSPHRASE} characters", field="passphrase")


async def create_sync_account(
    database: Database, relay: RelayClient, *, relay_url: str, passphrase: str, settings: SyncSettings, keys_path: Path
) -> DeviceKeys:
    """Make this device the first of a new sync account: keys, relay account, wrapped key.

    Everything the device logged so far is pushed by the next sync.
    """
    _check_passphrase(passphrase)
    owner = await database.write(ensure_device_account)
    if await database.read(_linked, owner):
        raise ConflictError("this device is already linked to a relay")
    device_id = await database.write(device_id_of, owner)
    signing = nacl.signing.SigningKey.generate()
    account_id = await relay.create_account(device_id, signing.verify_key)
    account_key = new_account_key(owner)
    keys = _keep_keys(relay, keys_path, account_key, account_id=account_id, device_id=device_id, signing=signing)
    params = new_kdf_params(settings.kdf_ops, settings.kdf_mem_kib)
    wrap_key, token = await asyncio.to_thread(derive_passphrase_keys, passphrase, params)
    await relay.put_keyring(
        key_id=account_key.key_id,
        kdf=msgspec.to_builtins(params),
        wrapped=wrap_account_key(account_key, wrap_key, account_id),
        join_verifier=join_verifier(token),
    )
    await relay.put_card(seal_card(keys))
    await database.write(create_link, owner, relay_url, account_id)
    return keys


async def join_sync_account(
    database: Database, relay: RelayClient, *, relay_url: str, account_id: uuid.UUID, passphrase: str, keys_path: Path
) -> DeviceKeys:
    """Enrol this device, which must hold no portfolio data yet, in an existing account."""
    await database.read(_check_joinable)
    try:
        params = msgspec.convert(await relay.kdf(account_id), KdfParams)
    except msgspec.ValidationError:
        raise ChangeSetRejectedError("the relay answered malformed key-derivation parameters") from None
    wrap_key, token = await asyncio.to_thread(derive_passphrase_keys, passphrase, params)
    device_id = new_device_id()
    signing = nacl.signing.SigningKey.generate()
    entry = await relay.join(account_id, device_id, signing.verify_key, token)
    account_key = unwrap_account_key(entry.wrapped, wrap_key, account_id)
    keys = _keep_keys(relay, keys_path, account_key, account_id=account_id, device_id=device_id, signing=signing)
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


def _adopt(connection: Connection, keys: DeviceKeys, relay_url: str) -> None:
    """Make the device serve the joined account (replacing its empty local one)."""
    _check_joinable(connection)
    local = device_account(connection)
    if local is not None and local != keys.owner_id:
        connection.execute(delete(clock_states).where(clock_states.c.owner_id == local))
        connection.execute(delete(accounts).where(accounts.c.id == local))
    if local != keys.owner_id:
        create_account(connection, "Device owner", account_id=keys.owner_id)
    connection.execute(delete(clock_states).where(clock_states.c.owner_id == keys.owner_id))
    connection.execute(clock_states.insert().values(owner_id=keys.owner_id, device_id=keys.device_id, last_hlc=0))
    create_link(connection, keys.owner_id, relay_url, keys.account_id)


def _keep_keys(
    relay: RelayClient,
    keys_path: Path,
    account_key: AccountKey,
    *,
    account_id: uuid.UUID,
    device_id: str,
    signing: nacl.signing.SigningKey,
) -> DeviceKeys:
    """The device's keys, saved before anything depends on them; the relay client signs with them."""
    keys = DeviceKeys(
        owner_id=account_key.owner_id,
        account_id=account_id,
        device_id=device_id,
        signing_seed=bytes(signing),
        key_id=account_key.key_id,
        data_keys={account_key.key_id: account_key.data_key},
    )
    save_device_keys(keys_path, keys)
    relay.identity = RelayIdentity(account_id, device_id, signing)
    return keys
