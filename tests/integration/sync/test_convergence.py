"""Devices that exchange their change logs converge: same rows, same holdings.

Three to five device databases of one account make random edits (portfolios, shared
assets, deposits, buys, sells, splits, edits, deletes, a contested setting) and exchange logs
in random pairs, in shuffled order, with duplicates, some exchanges never happening
(partitions). After a final exchange every device must hold identical synced rows and
identical holdings and cash.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select

from prism.config import DatabaseSettings
from prism.errors import ConflictError, InsufficientHoldingsError
from prism.storage.catalog import (
    create_account,
    create_portfolio,
    list_assets,
    list_portfolios,
    new_asset,
    save_asset,
)
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.ledger import (
    EntryDetails,
    delete_transaction,
    list_transactions,
    record_transaction,
    update_transaction,
)
from prism.storage.settings import put_setting
from prism.storage.tables import SYNCED_TABLES
from prism.sync.merge import apply_changes, changes_since
from tests.builders import ISINS, entry

ACTIONS = ["portfolio", "asset", "deposit", "buy", "buy", "sell", "split", "edit", "delete", "setting", "sync", "sync"]
steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 4), st.integers(0, 4), st.integers(1, 50)),
    min_size=5,
    max_size=40,
)


def _act(connection: Connection, owner: uuid.UUID, action: str, pick: int, amount: int) -> None:
    portfolios = list_portfolios(connection, owner)
    if action == "portfolio" or not portfolios:
        create_portfolio(connection, owner, f"P{pick}", "EUR")
        return
    if action == "asset":
        isin = ISINS[pick % 3]
        save_asset(
            connection, owner, new_asset(owner, name=f"Asset {isin} v{amount}", kind="etf", currency="EUR", isin=isin)
        )
        return
    portfolio = portfolios[pick % len(portfolios)].id
    if action == "setting":
        put_setting(connection, owner, "ui.theme", "string", f"theme-{amount}")
        return
    assets = [a.id for a in list_assets(connection, owner)]
    if action == "deposit" or not assets:
        record_transaction(
            connection, owner, entry(portfolio, "deposit", f"2024-01-{amount % 28 + 1:02d}", amount=str(amount))
        )
        return
    asset = assets[pick % len(assets)]
    day = f"2024-02-{amount % 28 + 1:02d}"
    if action == "split":
        ratio = "2" if amount % 2 else "0.5"
        record_transaction(connection, owner, entry(portfolio, "split", day, asset_id=asset, ratio=ratio))
        return
    if action in ("buy", "sell"):
        record_transaction(
            connection,
            owner,
            entry(portfolio, action, day, asset_id=asset, quantity=str(amount % 7 + 1), price=str(amount)),
        )
        return
    existing = list_transactions(connection, owner)
    if not existing:
        return
    target = existing[pick % len(existing)]
    if action == "delete":
        delete_transaction(connection, owner, target.entry.id)
    else:
        update_transaction(connection, owner, target.entry, EntryDetails(note=f"note {amount}"))


def _rows(connection: Connection, owner: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in SYNCED_TABLES:
        columns = [c for c in table.columns if c.name not in {"created_at", "updated_at"}]
        rows = connection.execute(select(*columns).where(table.c.owner_id == owner)).all()
        found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


async def _exchange(source: Database, target: Database, owner: uuid.UUID, rng: random.Random) -> None:
    log = await source.read(changes_since, owner)
    delivered = log + rng.sample(log, k=len(log) // 3)  # duplicates
    rng.shuffle(delivered)  # reordering
    await target.write(apply_changes, owner, delivered)


async def _scenario(template: Path, folder: Path, devices: int, plan: list[tuple[str, int, int, int]]) -> None:
    owner = uuid.uuid4()
    rng = random.Random(len(plan))
    databases = []
    for n in range(devices):
        path = folder / f"device-{n}.db"
        shutil.copyfile(template, path)
        database = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
        await database.write(lambda c: create_account(c, "me", account_id=owner))
        databases.append(database)
    try:
        for action, who, other, amount in plan:
            device = databases[who % devices]
            if action == "sync":
                await _exchange(device, databases[other % devices], owner, rng)
                continue
            with contextlib.suppress(InsufficientHoldingsError, ConflictError):
                await device.write(_act, owner, action, other, amount)
        for _ in range(2):  # the final exchange: everyone hears everyone
            for source in databases:
                for target in databases:
                    if source is not target:
                        await _exchange(source, target, owner, rng)
        first = databases[0]
        expected_rows = await first.read(_rows, owner)
        expected_holdings = await first.read(read_holdings, owner, include_closed=True)
        expected_cash = await first.read(read_cash, owner)
        for other_device in databases[1:]:
            assert await other_device.read(_rows, owner) == expected_rows
            assert await other_device.read(read_holdings, owner, include_closed=True) == expected_holdings
            assert await other_device.read(read_cash, owner) == expected_cash
    finally:
        for database in databases:
            await database.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=st.integers(3, 5), plan=steps)
def test_devices_converge_after_exchanging_logs(
    sqlite_template: Path, tmp_path_factory: Any, devices: int, plan: list[tuple[str, int, int, int]]
) -> None:
    folder = tmp_path_factory.mktemp("devices")
    asyncio.run(_scenario(sqlite_template, folder, devices, plan))
