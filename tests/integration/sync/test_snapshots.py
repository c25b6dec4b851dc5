"""Snapshots and compaction through a real relay, on SQLite and PostgreSQL
(docs/sync-protocol.md §10): a device joining after compaction, or lagging behind it,
bootstraps from the snapshot plus the tail and converges; the relay really drops the
sets the snapshot covers; a bad chunk applies nothing.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest
from sqlalchemy import Connection, func, select

from prism.client.errors import RequestRejectedError
from prism.errors import ChangeSetRejectedError, ConflictError, InsufficientHoldingsError
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.tables import changes
from prism.sync.engine import SyncEngine, schema_version
from prism.sync.keys import DeviceKeys
from prism.sync.link import apply_page, read_link
from prism.sync.snapshot import peer_verify_keys, restore_snapshot, take_snapshot
from tests.integration.sync.conftest import Device, DeviceFactory, Relay
from tests.integration.sync.test_convergence import _act, _rows
from tests.integration.sync.test_engine import _first, _join, _sync


async def _edit(device: Device, owner: uuid.UUID, rounds: int, seed: int) -> None:
    plan = ["portfolio", "asset", "deposit", "buy", "buy", "sell", "edit", "edit", "delete", "setting", "split"]
    for n in range(rounds):
        with contextlib.suppress(InsufficientHoldingsError, ConflictError):
            await device.database.write(_act, owner, plan[(n + seed) % len(plan)], n + seed, (n * 7 + seed) % 50 + 1)


async def _same(one: Device, other: Device, owner: uuid.UUID) -> None:
    assert await other.database.read(_rows, owner) == await one.database.read(_rows, owner)
    holdings = await one.database.read(read_holdings, owner, include_closed=True)
    assert await other.database.read(read_holdings, owner, include_closed=True) == holdings
    assert await other.database.read(read_cash, owner) == await one.database.read(read_cash, owner)


async def _compact(relay: Relay, device: Device, keys: DeviceKeys) -> int:
    async with relay.client() as client:
        return (await SyncEngine(device.database, keys, client).upload_snapshot()).covers_seq


def _log_size(connection: Connection, owner: uuid.UUID) -> int:
    return int(connection.scalar(select(func.count()).select_from(changes).where(changes.c.owner_id == owner)) or 0)


async def test_a_device_joining_after_compaction_gets_the_same_state_from_snapshot_and_tail(
    relay: Relay, make_device: DeviceFactory
) -> None:
    laptop, phone, tablet = await make_device("laptop"), await make_device("phone"), await make_device("tablet")
    laptop_keys = await _first(relay, laptop)
    owner = laptop_keys.owner_id
    await _edit(laptop, owner, 40, 0)
    await _sync(relay, laptop, laptop_keys)
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    await _sync(relay, phone, phone_keys)
    await _edit(phone, owner, 30, 5)  # edits of the same rows from a second device
    await _sync(relay, phone, phone_keys)
    await _edit(laptop, owner, 20, 7)
    await _sync(relay, laptop, laptop_keys)
    async with relay.client() as client:
        engine = SyncEngine(laptop.database, laptop_keys, client)
        before = await client.storage()
        uploaded = await engine.upload_snapshot()
        after = await client.storage()
    covers = uploaded.covers_seq
    assert covers >= 3
    assert uploaded.dropped_sets == covers - 1
    assert (before.sets, after.sets) == (covers, 1)  # only the set at covers_seq stays
    assert after.snapshot_chunks == uploaded.chunks
    await _edit(laptop, owner, 15, 11)  # the tail after the snapshot
    await _sync(relay, laptop, laptop_keys)
    await _sync(relay, phone, phone_keys)

    tablet_keys = await _join(relay, tablet, laptop_keys.account_id)
    async with relay.client() as client:
        report = await SyncEngine(tablet.database, tablet_keys, client).sync_once()
        with pytest.raises(RequestRejectedError) as gone:
            await client.pull(0)
        assert gone.value.status == 410
        assert (await client.pull(covers - 1)).items[0].seq == covers
    assert report.restored_changes > 0
    assert report.pulled_sets >= 1  # the tail
    # The compacted log is smaller than the history it replaces, and merges the same.
    assert await tablet.database.read(_log_size, owner) < await laptop.database.read(_log_size, owner)
    await _same(laptop, tablet, owner)
    await _same(laptop, phone, owner)
    assert (await tablet.database.read(read_link, owner)).relay_cursor >= covers


async def test_a_lagging_device_below_the_snapshot_bootstraps_and_converges(
    relay: Relay, make_device: DeviceFactory
) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    laptop_keys = await _first(relay, laptop)
    owner = laptop_keys.owner_id
    await _edit(laptop, owner, 10, 0)
    await _sync(relay, laptop, laptop_keys)
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    await _sync(relay, phone, phone_keys)
    lagging_at = (await phone.database.read(read_link, owner)).relay_cursor
    await _edit(phone, owner, 12, 3)  # offline edits the phone has not pushed yet
    for seed in (20, 40, 60):
        await _edit(laptop, owner, 15, seed)
        await _sync(relay, laptop, laptop_keys)
    covers = await _compact(relay, laptop, laptop_keys)
    assert covers > lagging_at + 1

    async with relay.client() as client:
        report = await SyncEngine(phone.database, phone_keys, client).sync_once()
    assert report.restored_changes > 0
    assert report.pushed_sets >= 1
    await _sync(relay, laptop, laptop_keys)
    await _same(laptop, phone, owner)


async def _snapshot_of(device: Device, keys: DeviceKeys) -> tuple[uuid.UUID, int, list[bytes]]:
    snapshot_id = uuid.uuid4()
    covers, _count, sealed = await device.database.read(
        take_snapshot, keys.owner_id, keys, schema_version(), snapshot_id
    )
    return snapshot_id, covers, sealed


@pytest.mark.parametrize("bad", ["tampered", "other_snapshot", "other_account", "reordered", "truncated"])
async def test_a_bad_chunk_is_rejected_and_nothing_of_the_snapshot_applies(
    relay: Relay, make_device: DeviceFactory, bad: str
) -> None:
    laptop, phone, stranger = await make_device("laptop"), await make_device("phone"), await make_device("stranger")
    laptop_keys = await _first(relay, laptop)
    owner = laptop_keys.owner_id
    await _edit(laptop, owner, 200, 0)  # enough for several chunks
    await _sync(relay, laptop, laptop_keys)
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    async with relay.client() as client:
        await SyncEngine(phone.database, phone_keys, client).refresh_peers()
    snapshot_id, covers, sealed = await _snapshot_of(laptop, laptop_keys)
    assert len(sealed) >= 1
    if bad == "tampered":
        body = bytearray(sealed[0])
        body[-100] ^= 1
        sealed[0] = bytes(body)
    elif bad == "other_snapshot":
        sealed[0] = (await _snapshot_of(laptop, laptop_keys))[2][0]
    elif bad == "other_account":
        stranger_keys = await _first(relay, stranger)
        await _edit(stranger, stranger_keys.owner_id, 5, 0)
        await _sync(relay, stranger, stranger_keys)
        sealed[0] = (await _snapshot_of(stranger, stranger_keys))[2][0]
    elif bad == "reordered":
        sealed.reverse()
        if len(sealed) == 1:
            sealed.append(sealed[0])
    else:
        sealed = sealed[:-1] or [sealed[0][:-50]]
    verify_keys = await phone.database.read(peer_verify_keys, owner)
    with pytest.raises(ChangeSetRejectedError):
        await phone.database.write(restore_snapshot, owner, phone_keys, snapshot_id, covers, sealed, verify_keys)
    assert await phone.database.read(_log_size, owner) == 0
    assert (await phone.database.read(read_link, owner)).relay_cursor == 0


async def test_a_snapshot_chunk_is_never_a_change_set(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    laptop_keys = await _first(relay, laptop)
    owner = laptop_keys.owner_id
    await _edit(laptop, owner, 20, 0)
    await _sync(relay, laptop, laptop_keys)
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    async with relay.client() as client:
        await SyncEngine(phone.database, phone_keys, client).refresh_peers()
        _snapshot_id, _covers, sealed = await _snapshot_of(laptop, laptop_keys)
        report = await phone.database.write(apply_page, owner, phone_keys, [(1, sealed[0])])
        assert report.rejected
        assert await phone.database.read(_log_size, owner) == 0
        client.identity = SyncEngine(laptop.database, laptop_keys, client).relay.identity
        with pytest.raises(RequestRejectedError) as refused:
            await client.push(sealed[0])
        assert refused.value.status == 422


async def test_an_interrupted_upload_leaves_no_snapshot_and_compacts_nothing(
    relay: Relay, make_device: DeviceFactory
) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    laptop_keys = await _first(relay, laptop)
    owner = laptop_keys.owner_id
    await _edit(laptop, owner, 200, 0)
    await _sync(relay, laptop, laptop_keys)
    snapshot_id, covers, sealed = await _snapshot_of(laptop, laptop_keys)
    async with relay.client() as client:
        SyncEngine(laptop.database, laptop_keys, client)  # signs the client's requests
        before = await client.storage()
        await client.put_snapshot_chunk(snapshot_id, 0, sealed[0])
        await client.put_snapshot_chunk(snapshot_id, 0, sealed[0])  # a retried chunk is filed once
        # Killed here: never completed. Completing with a chunk missing is refused.
        with pytest.raises(RequestRejectedError) as refused:
            await client.complete_snapshot(snapshot_id, covers_seq=covers, chunks=len(sealed) + 1)
        assert refused.value.status == 422
        with pytest.raises(RequestRejectedError) as beyond:
            await client.complete_snapshot(snapshot_id, covers_seq=covers + 5, chunks=1)
        assert beyond.value.status == 422
        assert await client.latest_snapshot() is None
        assert (await client.storage()).sets == before.sets
        assert len((await client.pull(0)).items) == before.sets
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    async with relay.client() as client:
        report = await SyncEngine(phone.database, phone_keys, client).sync_once()
    assert report.restored_changes == 0  # no snapshot: the full history instead
    await _same(laptop, phone, owner)


async def test_a_snapshot_waits_for_unpushed_changes(relay: Relay, make_device: DeviceFactory) -> None:
    laptop = await make_device("laptop")
    keys = await _first(relay, laptop)
    await _edit(laptop, keys.owner_id, 5, 0)
    with pytest.raises(ConflictError):
        await _snapshot_of(laptop, keys)
