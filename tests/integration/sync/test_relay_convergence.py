"""Devices converge through a real relay, on SQLite and on PostgreSQL.

Three to five devices of one sync account (the first creates it, the others join with
the passphrase) make random edits (inserts, updates, deletes, sells, splits, a contested
setting). At random moments some of them sync (the rest are partitioned away): each
pushes through the relay, then receives a random subset of the relay's sets,
duplicated and reordered, as a flaky network might deliver them. After a final
exchange in order, every device holds identical synced rows and identical holdings.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism.config import DatabaseSettings
from prism.errors import ConflictError, InsufficientHoldingsError
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings
from prism.sync.engine import SyncEngine
from prism.sync.enrol import create_sync_account, join_sync_account
from prism.sync.keys import DeviceKeys
from prism.sync.link import apply_page
from tests.integration.sync.conftest import FAST_KDF, PASSPHRASE, Relay
from tests.integration.sync.test_convergence import _act, _rows

ACTIONS = ["portfolio", "asset", "deposit", "buy", "buy", "sell", "split", "edit", "delete", "setting", "sync", "sync"]
steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 4), st.integers(0, 4), st.integers(1, 50)),
    min_size=5,
    max_size=30,
)


async def _enrol(relay: Relay, databases: list[Database], folder: Path) -> list[DeviceKeys]:
    keys = []
    async with relay.client() as client:
        first = await create_sync_account(
            databases[0],
            client,
            relay_url=relay.url,
            passphrase=PASSPHRASE,
            settings=FAST_KDF,
            keys_path=folder / "keys-0",
        )
    keys.append(first.keys)
    for n, database in enumerate(databases[1:], start=1):
        async with relay.client() as client:
            keys.append(
                await join_sync_account(
                    database,
                    client,
                    relay_url=relay.url,
                    account_id=first.keys.account_id,
                    passphrase=PASSPHRASE,
                    keys_path=folder / f"keys-{n}",
                )
            )
    return keys


async def _flaky_exchange(relay: Relay, database: Database, keys: DeviceKeys, rng: random.Random) -> None:
    """Push, then receive some of the relay's sets, duplicated and out of order."""
    async with relay.client() as client:
        engine = SyncEngine(database, keys, client)
        await engine.push()
        await engine.refresh_peers()
        page = await client.pull(0)
        items = [(item.seq, item.body) for item in page.items]
        delivered = rng.sample(items, k=rng.randint(0, len(items)))
        delivered += rng.sample(items, k=len(items) // 3)
        rng.shuffle(delivered)
        await database.write(apply_page, keys.owner_id, keys, delivered)


async def _final_exchange(relay: Relay, database: Database, keys: DeviceKeys) -> None:
    async with relay.client() as client:
        engine = SyncEngine(database, keys, client)
        await engine.push()
        await engine.refresh_peers()
        page = await client.pull(0)
        await database.write(apply_page, keys.owner_id, keys, [(item.seq, item.body) for item in page.items])


async def _scenario(relay: Relay, template: Path, folder: Path, count: int, plan: list[Any]) -> None:
    rng = random.Random(len(plan) * 31 + count)
    databases = []
    for n in range(count):
        path = folder / f"device-{n}.db"
        shutil.copyfile(template, path)
        databases.append(open_database(DatabaseSettings(url=f"sqlite:///{path}")))
    try:
        keys = await _enrol(relay, databases, folder)
        owner = keys[0].owner_id
        for action, who, other, amount in plan:
            n = who % count
            if action == "sync":
                for m in {n, other % count}:  # the others are partitioned away
                    await _flaky_exchange(relay, databases[m], keys[m], rng)
                continue
            with contextlib.suppress(InsufficientHoldingsError, ConflictError):
                await databases[n].write(_act, owner, action, other, amount)
        for _ in range(2):
            for database, device_keys in zip(databases, keys, strict=True):
                await _final_exchange(relay, database, device_keys)
        expected = await databases[0].read(_rows, owner)
        holdings = await databases[0].read(read_holdings, owner, include_closed=True)
        cash = await databases[0].read(read_cash, owner)
        for database in databases[1:]:
            assert await database.read(_rows, owner) == expected
            assert await database.read(read_holdings, owner, include_closed=True) == holdings
            assert await database.read(read_cash, owner) == cash
    finally:
        for database in databases:
            await database.dispose()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=st.integers(3, 5), plan=steps)
def test_devices_converge_through_the_relay_under_partitions_and_flaky_delivery(
    relay: Relay, sqlite_template: Path, tmp_path_factory: Any, devices: int, plan: list[tuple[str, int, int, int]]
) -> None:
    folder = tmp_path_factory.mktemp("devices")
    asyncio.run(_scenario(relay, sqlite_template, folder, devices, plan))
