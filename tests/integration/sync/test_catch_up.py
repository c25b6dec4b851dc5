"""During a catch-up the projection is only marked stale between pages; a local write
in that window must still be judged against the true holdings."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from prism.config import DatabaseSettings
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_holdings
from prism.sync.merge import apply_changes, changes_since
from tests.builders import ISINS, entry, record

OWNER = uuid.uuid4()


@pytest.fixture
async def devices(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    opened = []
    for name in ("laptop", "phone"):
        shutil.copyfile(sqlite_template, tmp_path / f"{name}.db")
        database = open_database(DatabaseSettings(url=f"sqlite:///{tmp_path / f'{name}.db'}"))
        await database.write(lambda c: create_account(c, "me", account_id=OWNER))
        opened.append(database)
    yield opened[0], opened[1]
    for database in opened:
        await database.dispose()


def _setup(connection: Connection) -> tuple[uuid.UUID, uuid.UUID]:
    portfolio = create_portfolio(connection, OWNER, "Broker", "EUR")
    asset = save_asset(connection, OWNER, new_asset(OWNER, name="ETF", kind="etf", currency="EUR", isin=ISINS[0]))
    return portfolio.id, asset.id


async def test_a_local_sell_mid_catch_up_sees_the_merged_buy(devices: tuple[Database, Database]) -> None:
    laptop, phone = devices
    portfolio, asset = await laptop.write(_setup)
    await record(laptop, OWNER, entry(portfolio, "buy", "2024-01-02", asset_id=asset, quantity="10", price="5"))
    log = await laptop.read(changes_since, OWNER)
    await phone.write(apply_changes, OWNER, log, rebuild=False)  # one page of a catch-up: projection stale
    await record(phone, OWNER, entry(portfolio, "sell", "2024-02-01", asset_id=asset, quantity="4", price="6"))
    (held,) = await phone.read(read_holdings, OWNER)
    assert held.quantity == 6
