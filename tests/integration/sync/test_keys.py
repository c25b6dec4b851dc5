"""Sync keys against a relay on SQLite and PostgreSQL: recovery when every device is
lost, revocation with key rotation, passphrase changes, weak passphrases, account
deletion, and a stolen relay database that opens nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from prism.client.errors import NotFound, RequestRejectedError
from prism.config import DatabaseSettings
from prism.domain.ids import new_id
from prism.errors import ValidationError
from prism.storage.annotations import Note, list_notes, save_note
from prism.storage.engine import open_database
from prism.storage.holdings import read_cash
from prism.storage.tables import relay_envelopes
from prism.sync.engine import SyncEngine
from prism.sync.enrol import create_sync_account, join_sync_account
from prism.sync.keyring import change_passphrase, invite_device, read_invitation, revoke_and_rotate
from prism.sync.keys import DeviceKeys
from prism.sync.recovery import format_recovery_key
from tests.builders import entry, make_book, record
from tests.integration.sync.conftest import FAST_KDF, PASSPHRASE, Device, DeviceFactory, Relay
from tests.integration.sync.test_engine import _create, _join, _sync
from tests.integration.sync.test_relay_privacy import _relay_text


async def _notes(device: Device, keys: DeviceKeys) -> list[str]:
    return sorted(note.body for note in await device.database.read(list_notes, keys.owner_id))


async def test_the_recovery_key_restores_everything_on_a_fresh_device(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, replacement = await make_device("laptop"), await make_device("replacement")
    book = await make_book(laptop.database)
    await record(laptop.database, book.owner, entry(book.portfolios[0], "deposit", "2024-01-02", amount="1234.5"))
    created = await _create(relay, laptop)
    await _sync(relay, laptop, created.keys)
    # The laptop is lost; only the written-down recovery key is left.
    async with relay.client() as client:
        keys = await join_sync_account(
            replacement.database,
            client,
            relay_url=relay.url,
            account_id=created.keys.account_id,
            recovery_key=created.recovery_key.lower(),
            keys_path=replacement.keys_path,
        )
    await _sync(relay, replacement, keys)
    assert await replacement.database.read(read_cash, book.owner) == await laptop.database.read(read_cash, book.owner)
    assert keys.passphrase_public == created.keys.passphrase_public  # learnt from the account card
    with pytest.raises(ValidationError):
        async with relay.client() as client:
            await join_sync_account(
                (await make_device("other")).database,
                client,
                relay_url=relay.url,
                account_id=created.keys.account_id,
                recovery_key="AAAA-" * 13 + "AAAA",
                keys_path=replacement.keys_path.with_name("other.keys"),
            )


async def test_a_revoked_device_can_neither_sync_nor_read_what_follows(
    relay: Relay, make_device: DeviceFactory
) -> None:
    laptop, phone, stolen = await make_device("laptop"), await make_device("phone"), await make_device("stolen")
    book = await make_book(laptop.database)
    keys = (await _create(relay, laptop)).keys
    await _sync(relay, laptop, keys)
    phone_keys = await _join(relay, phone, keys.account_id)
    stolen_keys = await _join(relay, stolen, keys.account_id)
    for device, device_keys in ((phone, phone_keys), (stolen, stolen_keys), (laptop, keys)):
        await _sync(relay, device, device_keys)

    async with relay.client() as client:
        client.identity = None
        engine = SyncEngine(laptop.database, keys, client)  # sets the identity
        keys = await revoke_and_rotate(engine.relay, keys, laptop.keys_path, stolen_keys.device_id)
    await laptop.database.write(save_note, book.owner, Note(new_id(), "after the theft"))
    await _sync(relay, laptop, keys)

    with pytest.raises(NotFound) as refused:  # a RequestRejectedError, like every 4xx
        await _sync(relay, stolen, stolen_keys)
    assert refused.value.status == 404
    async with relay.client() as client:  # a stolen device cannot read the new sets either
        sets = [s.body for s in (await SyncEngine(laptop.database, keys, client).relay.pull(0)).items]
    assert keys.key_id not in stolen_keys.data_keys
    assert any(keys.key_id.encode() in body for body in sets)

    await _sync(relay, phone, phone_keys)  # the phone learns the new key and keeps converging
    assert await _notes(phone, phone_keys) == ["after the theft"]
    await phone.database.write(save_note, book.owner, Note(new_id(), "from the phone"))
    async with relay.client() as client:
        phone_engine = SyncEngine(phone.database, phone_keys, client, keys_path=phone.keys_path)
        await phone_engine.sync_once()
        assert phone_engine.keys.key_id == keys.key_id  # it seals with the new key from now on
    await _sync(relay, laptop, keys)
    assert await _notes(laptop, keys) == ["after the theft", "from the phone"]


async def test_a_new_passphrase_keeps_every_device_working(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone, tablet = await make_device("laptop"), await make_device("phone"), await make_device("tablet")
    await make_book(laptop.database)
    keys = (await _create(relay, laptop)).keys
    await _sync(relay, laptop, keys)
    phone_keys = await _join(relay, phone, keys.account_id)
    new_passphrase = "quartz lantern meadow 2049 violet"
    async with relay.client() as client:
        SyncEngine(laptop.database, keys, client)
        keys = await change_passphrase(client, keys, laptop.keys_path, new_passphrase, FAST_KDF)
    await _sync(relay, laptop, keys)
    await _sync(relay, phone, phone_keys)
    with pytest.raises(RequestRejectedError):
        await _join(relay, tablet, keys.account_id, passphrase=PASSPHRASE)  # the old one no longer opens
    tablet_keys = await _join(relay, tablet, keys.account_id, passphrase=new_passphrase)
    await _sync(relay, tablet, tablet_keys)
    assert tablet_keys.data_keys == keys.data_keys


async def test_a_weak_passphrase_is_refused_at_setup(relay: Relay, make_device: DeviceFactory) -> None:
    laptop = await make_device("laptop")
    async with relay.client() as client:
        with pytest.raises(ValidationError) as refused:
            await create_sync_account(
                laptop.database,
                client,
                relay_url=relay.url,
                passphrase="password123",
                settings=FAST_KDF,
                keys_path=laptop.keys_path,
            )
    assert refused.value.field == "passphrase"
    assert not laptop.keys_path.exists()


async def test_deleting_the_account_leaves_the_relay_nothing(relay: Relay, make_device: DeviceFactory) -> None:
    laptop = await make_device("laptop")
    book = await make_book(laptop.database)
    await laptop.database.write(save_note, book.owner, Note(new_id(), "soon gone"))
    keys = (await _create(relay, laptop)).keys
    await _sync(relay, laptop, keys)
    async with relay.client() as client:
        await SyncEngine(laptop.database, keys, client).upload_snapshot()  # snapshots go too
        await client.delete_account()
    assert str(keys.account_id).encode() not in await _relay_text(relay)
    with pytest.raises(RequestRejectedError):
        await _sync(relay, laptop, keys)
    assert await _notes(laptop, keys) == ["soon gone"]  # the device keeps its own data


async def test_a_stolen_relay_database_holds_no_key_and_no_secret(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    await make_book(laptop.database)
    created = await _create(relay, laptop)
    await _sync(relay, laptop, created.keys)
    phone_keys = await _join(relay, phone, created.keys.account_id)
    stolen = await _relay_text(relay)
    secrets = [*created.keys.data_keys.values(), created.keys.signing_seed, phone_keys.signing_seed]
    secrets += [PASSPHRASE.encode(), created.recovery_key.replace("-", "").encode()]
    assert all(secret not in stolen for secret in secrets)
    database = open_database(DatabaseSettings(url=relay.database_url, pool_size=1))
    try:
        count = await database.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM relay_envelopes").scalar())
    finally:
        await database.dispose()
    assert count == 3  # the first device, the passphrase, the recovery key: sealed boxes only


async def _join_by_code(relay: Relay, device: Device, code: str) -> DeviceKeys:
    async with relay.client() as client:
        return await join_sync_account(
            device.database,
            client,
            relay_url=relay.url,
            account_id=read_invitation(code)[0],
            code=code,
            keys_path=device.keys_path,
        )


async def test_a_one_time_code_enrols_a_device_once(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone, other = await make_device("laptop"), await make_device("phone"), await make_device("other")
    book = await make_book(laptop.database)
    await laptop.database.write(save_note, book.owner, Note(new_id(), "by code"))
    keys = (await _create(relay, laptop)).keys
    await _sync(relay, laptop, keys)
    async with relay.client() as client:
        SyncEngine(laptop.database, keys, client)
        code = await invite_device(client, keys)
    account, secret = read_invitation(code)
    assert account == keys.account_id
    assert len(secret) * 8 >= 100
    phone_keys = await _join_by_code(relay, phone, code)
    await _sync(relay, phone, phone_keys)
    assert await _notes(phone, phone_keys) == ["by code"]
    with pytest.raises(RequestRejectedError) as replayed:
        await _join_by_code(relay, other, code)  # used once already
    assert replayed.value.status == 404
    forged = format_recovery_key(keys.account_id.bytes + bytes(16))
    with pytest.raises(RequestRejectedError):
        await _join_by_code(relay, other, forged)


async def test_an_expired_code_enrols_nobody(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    await make_book(laptop.database)
    keys = (await _create(relay, laptop)).keys
    async with relay.client() as client:
        SyncEngine(laptop.database, keys, client)
        code = await invite_device(client, keys)
    database = open_database(DatabaseSettings(url=relay.database_url, pool_size=1))
    try:
        await database.write(
            lambda c: c.execute(
                update(relay_envelopes)
                .where(relay_envelopes.c.recipient.startswith("invite:"))
                .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
            )
        )
    finally:
        await database.dispose()
    with pytest.raises(RequestRejectedError):
        await _join_by_code(relay, phone, code)
