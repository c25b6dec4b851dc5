"""Devices syncing through a relay on SQLite and PostgreSQL: set up, join, push, pull."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from prism.client.errors import RequestRejectedError
from prism.client.relay import RelayClient
from prism.storage.catalog import list_portfolios
from prism.storage.holdings import read_cash, read_holdings
from prism.sync.engine import SyncEngine
from prism.sync.enrol import Created, create_sync_account, join_sync_account
from prism.sync.keys import DeviceKeys
from tests.builders import entry, make_book, record
from tests.integration.sync.conftest import FAST_KDF, PASSPHRASE, Device, DeviceFactory, Relay


async def _first(relay: Relay, device: Device) -> DeviceKeys:
    return (await _create(relay, device)).keys


async def _create(relay: Relay, device: Device) -> Created:
    async with relay.client() as client:
        return await create_sync_account(
            device.database,
            client,
            relay_url=relay.url,
            passphrase=PASSPHRASE,
            settings=FAST_KDF,
            keys_path=device.keys_path,
        )


async def _join(relay: Relay, device: Device, account: uuid.UUID, passphrase: str = PASSPHRASE) -> DeviceKeys:
    async with relay.client() as client:
        return await join_sync_account(
            device.database,
            client,
            relay_url=relay.url,
            account_id=account,
            passphrase=passphrase,
            keys_path=device.keys_path,
        )


async def _sync(relay: Relay, device: Device, keys: DeviceKeys) -> None:
    async with relay.client() as client:
        await SyncEngine(device.database, keys, client).sync_once()


async def test_a_second_device_joins_with_the_passphrase_and_gets_everything(
    relay: Relay, make_device: DeviceFactory
) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    book = await make_book(laptop.database)
    owner = book.owner
    await record(
        laptop.database,
        owner,
        entry(book.portfolios[0], "deposit", "2024-03-01", amount="100"),
        entry(book.portfolios[0], "buy", "2024-03-02", asset_id=book.assets[0], quantity="3", price="10"),
    )
    laptop_keys = await _first(relay, laptop)
    await _sync(relay, laptop, laptop_keys)

    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    assert phone_keys.owner_id == owner
    seen: list[tuple[int, int]] = []
    async with relay.client() as client:
        await SyncEngine(phone.database, phone_keys, client).sync_once(progress=lambda *at: seen.append(at))
    assert seen
    assert seen[-1][0] == seen[-1][1]  # the progress bar ends full: the cursor reached the relay's head

    assert await phone.database.read(read_holdings, owner) == await laptop.database.read(read_holdings, owner)
    assert await phone.database.read(read_cash, owner) == await laptop.database.read(read_cash, owner)
    names = [p.name for p in await phone.database.read(list_portfolios, owner)]
    assert names == [p.name for p in await laptop.database.read(list_portfolios, owner)]


async def test_a_wrong_passphrase_cannot_join(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    keys = await _first(relay, laptop)
    with pytest.raises(RequestRejectedError) as refused:
        await _join(relay, phone, keys.account_id, passphrase="not the passphrase at all")
    assert refused.value.status == 404
    assert not phone.keys_path.exists()


async def test_watch_outlives_an_unreachable_relay_and_backs_off(relay: Relay, make_device: DeviceFactory) -> None:
    laptop = await make_device("laptop")
    await make_book(laptop.database)
    keys = await _first(relay, laptop)
    async with RelayClient("http://127.0.0.1:9") as unreachable:  # nothing listens on port 9
        engine = SyncEngine(laptop.database, keys, unreachable, wait_seconds=1)
        stop = asyncio.Event()
        watching = asyncio.create_task(engine.watch(stop))
        await asyncio.sleep(1.5)
        assert not watching.done()  # still trying, not crashed
        stop.set()
        await asyncio.wait_for(watching, timeout=5)
