"""Merge rules on two devices: the later write wins per column, deletes are writes,
duplicates and reordering change nothing, losers go to the conflicts log."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from prism.config import DatabaseSettings
from prism.errors import ConflictError, ValidationError
from prism.migrations import downgrade, upgrade
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings, recompute_cash, recompute_holdings
from prism.storage.ledger import (
    EntryDetails,
    delete_transaction,
    get_transaction,
    list_transactions,
    update_transaction,
)
from prism.storage.projection import run_maintenance
from prism.storage.settings import get_setting, put_setting
from prism.storage.tables import changes, maintenance_tasks, sync_conflicts, sync_pending
from prism.sync.codec import WireChange
from prism.sync.conflicts import list_conflicts, restore_conflict
from prism.sync.merge import apply_changes, changes_since, rebuild_stale
from tests.builders import entry, record

OWNER = uuid.uuid4()


@pytest.fixture
async def pair(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    devices = []
    for name in ("laptop", "phone"):
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        database = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
        await database.write(lambda c: create_account(c, "me", account_id=OWNER))
        devices.append(database)
    yield devices[0], devices[1]
    for database in devices:
        await database.dispose()


async def _send(source: Database, target: Database) -> None:
    await target.write(apply_changes, OWNER, await source.read(changes_since, OWNER))


async def test_the_later_edit_wins_on_both_devices(pair: tuple[Database, Database]) -> None:
    laptop, phone = pair
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    deposit = entry(portfolio.id, "deposit", "2024-01-01", amount="100")
    await record(laptop, OWNER, deposit)
    await _send(laptop, phone)
    await laptop.write(update_transaction, OWNER, deposit, EntryDetails(note="laptop, first"))
    await phone.write(update_transaction, OWNER, deposit, EntryDetails(note="phone, second"))
    await _send(laptop, phone)
    await _send(phone, laptop)
    for device in pair:
        stored = await device.read(get_transaction, OWNER, deposit.id)
        assert stored.details.note == "phone, second"
    conflicts = await phone.read(lambda c: c.execute(select(sync_conflicts.c.value)).scalars().all())
    assert conflicts == ["laptop, first"]


async def test_a_delete_and_an_edit_merge_by_the_same_rule(pair: tuple[Database, Database]) -> None:
    laptop, phone = pair
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    deposit = entry(portfolio.id, "deposit", "2024-01-01", amount="100")
    await record(laptop, OWNER, deposit)
    await _send(laptop, phone)
    await laptop.write(delete_transaction, OWNER, deposit.id)
    await phone.write(update_transaction, OWNER, deposit, EntryDetails(note="edited after"))
    await _send(laptop, phone)
    await _send(phone, laptop)
    for device in pair:
        assert await device.read(list_transactions, OWNER) == []  # still deleted: the edit did not revive it
        assert [b.balance for b in await device.read(read_cash, OWNER)] == []


async def test_duplicated_and_reordered_delivery_changes_nothing(pair: tuple[Database, Database]) -> None:
    laptop, phone = pair
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    await record(laptop, OWNER, *[entry(portfolio.id, "deposit", "2024-01-01", amount=str(n)) for n in range(1, 6)])
    await laptop.write(put_setting, OWNER, "ui.theme", "string", "dark")
    log = await laptop.read(changes_since, OWNER)
    shuffled = log * 2
    random.Random(7).shuffle(shuffled)
    report = await phone.write(apply_changes, OWNER, shuffled)
    assert report.applied == len(log)
    assert report.duplicates == len(log)
    assert report.pending == 0
    again = await phone.write(apply_changes, OWNER, log)
    assert again.applied == 0
    assert (await phone.read(get_setting, OWNER, "ui.theme")).value == "dark"
    assert await phone.read(read_cash, OWNER) == await laptop.read(read_cash, OWNER)


async def test_a_row_waits_for_what_it_refers_to(pair: tuple[Database, Database]) -> None:
    laptop, phone = pair
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    await record(laptop, OWNER, entry(portfolio.id, "deposit", "2024-01-01", amount="5"))
    portfolio_change, deposit_change = await laptop.read(changes_since, OWNER)
    early = await phone.write(apply_changes, OWNER, [deposit_change])
    assert early.pending == 1
    assert await phone.read(list_transactions, OWNER) == []
    late = await phone.write(apply_changes, OWNER, [portfolio_change])
    assert late.pending == 0
    assert len(await phone.read(list_transactions, OWNER)) == 1


async def test_changes_from_an_implausible_clock_apply_nothing(pair: tuple[Database, Database]) -> None:
    _, phone = pair
    future = WireChange(
        (2**47) << 16,
        "ffffffffffffffff",
        "settings",
        "ui.theme",
        "insert",
        {"value_type": "string", "value": '"x"', "deleted_at": None},
    )
    with pytest.raises(ValidationError):
        await phone.write(apply_changes, OWNER, [future])
    assert await phone.read(changes_since, OWNER) == []


async def test_a_lost_edit_can_be_restored_and_then_wins_everywhere(pair: tuple[Database, Database]) -> None:
    laptop, phone = pair
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    deposit = entry(portfolio.id, "deposit", "2024-01-01", amount="100")
    await record(laptop, OWNER, deposit)
    await _send(laptop, phone)
    await laptop.write(update_transaction, OWNER, deposit, EntryDetails(note="mine"))
    await phone.write(update_transaction, OWNER, deposit, EntryDetails(note="theirs"))
    await _send(laptop, phone)
    [lost] = await phone.read(list_conflicts, OWNER)
    assert (lost.column, lost.value) == ("note", "mine")
    await phone.write(restore_conflict, OWNER, lost.id)
    assert await phone.read(list_conflicts, OWNER) == []
    await _send(phone, laptop)
    for device in pair:
        assert (await device.read(get_transaction, OWNER, deposit.id)).details.note == "mine"
    with pytest.raises(ConflictError):
        await phone.write(restore_conflict, OWNER, lost.id)


async def _book(laptop: Database) -> list[WireChange]:
    """A portfolio, an asset, a deposit, a buy and a setting on the laptop: its log."""
    portfolio = await laptop.write(lambda c: create_portfolio(c, OWNER, "Broker", "EUR"))
    asset = new_asset(OWNER, name="World ETF", kind="etf", currency="EUR", isin="IE00B4L5Y983")
    await laptop.write(lambda c: save_asset(c, OWNER, asset))
    await record(
        laptop,
        OWNER,
        entry(portfolio.id, "deposit", "2024-01-01", amount="1000"),
        entry(portfolio.id, "buy", "2024-01-02", asset_id=asset.id, quantity="3", price="100.5"),
    )
    await laptop.write(put_setting, OWNER, "ui.theme", "string", "dark")
    return await laptop.read(changes_since, OWNER)


async def test_rows_held_back_across_merges_appear_on_either_database(
    pair: tuple[Database, Database], db: Database
) -> None:
    laptop, _ = pair
    log = await _book(laptop)
    await db.write(lambda c: create_account(c, "me", account_id=OWNER))
    asset_change = next(change for change in log if change.table == "assets")
    first = await db.write(apply_changes, OWNER, [change for change in log if change is not asset_change])
    assert first.pending == 1  # the buy waits for its asset
    assert len(await db.read(list_transactions, OWNER)) == 1
    late = await db.write(apply_changes, OWNER, [asset_change])
    assert (late.applied, late.pending) == (1, 0)
    stored = [(t.entry, t.details) for t in await db.read(list_transactions, OWNER)]
    assert stored == [(t.entry, t.details) for t in await laptop.read(list_transactions, OWNER)]
    # The buy appeared in a merge that only brought its asset: holdings must include it.
    assert await db.read(read_holdings, OWNER) == await laptop.read(read_holdings, OWNER)
    assert await db.read(read_cash, OWNER) == await laptop.read(read_cash, OWNER)
    assert (await db.read(get_setting, OWNER, "ui.theme")).value == "dark"
    assert await db.read(lambda c: c.execute(select(sync_pending)).all()) == []
    again = await db.write(apply_changes, OWNER, log)
    assert (again.applied, again.duplicates, again.pending) == (0, len(log), 0)


async def test_a_losing_edit_is_logged_on_either_database(pair: tuple[Database, Database], db: Database) -> None:
    laptop, _ = pair
    await _book(laptop)
    await db.write(lambda c: create_account(c, "me", account_id=OWNER))
    await db.write(apply_changes, OWNER, await laptop.read(changes_since, OWNER))
    deposit = next(t.entry for t in await laptop.read(list_transactions, OWNER) if t.entry.type.value == "deposit")
    await laptop.write(update_transaction, OWNER, deposit, EntryDetails(note="there, first"))
    await db.write(update_transaction, OWNER, deposit, EntryDetails(note="here, second"))
    report = await db.write(apply_changes, OWNER, await laptop.read(changes_since, OWNER))
    assert (report.applied, report.conflicts) == (1, 1)
    assert (await db.read(get_transaction, OWNER, deposit.id)).details.note == "here, second"
    assert [c.value for c in await db.read(list_conflicts, OWNER)] == ["there, first"]


async def test_rows_held_back_before_the_pending_table_existed_are_found(
    pair: tuple[Database, Database], sqlite_template: Path, tmp_path: Path
) -> None:
    laptop, _ = pair
    log = await _book(laptop)
    path = tmp_path / "older.db"
    shutil.copyfile(sqlite_template, path)
    older = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
    try:
        await older.write(lambda c: create_account(c, "me", account_id=OWNER))
        await downgrade(older, "0007")
        buy = next(c for c in log if c.table == "transactions" and c.columns["type"] == "buy")
        row = {"owner_id": OWNER, "hlc": buy.hlc, "device_id": buy.device_id, "table_name": buy.table}
        await older.write(
            lambda c: c.execute(changes.insert().values(**row, row_id=buy.row_id, op=buy.op, columns=buy.columns))
        )
        await upgrade(older)
        held = await older.read(lambda c: c.execute(select(sync_pending.c.table_name, sync_pending.c.row_id)).all())
        assert [tuple(r) for r in held] == [("transactions", buy.row_id)]
        report = await older.write(apply_changes, OWNER, log)
        assert (report.duplicates, report.pending) == (1, 0)
        assert await older.read(read_holdings, OWNER) == await laptop.read(read_holdings, OWNER)
    finally:
        await older.dispose()


async def _stale_marks(database: Database) -> list[str]:
    return list(await database.read(lambda c: c.execute(select(maintenance_tasks.c.task)).scalars().all()))


async def _assert_projection_current(database: Database) -> None:
    assert await database.read(read_holdings, OWNER) == await database.read(recompute_holdings, OWNER)
    assert await database.read(read_cash, OWNER) == await database.read(recompute_cash, OWNER)


async def test_a_merge_without_rebuild_marks_the_projection_stale_until_rebuilt(
    pair: tuple[Database, Database], db: Database
) -> None:
    laptop, _ = pair
    log = await _book(laptop)
    await db.write(lambda c: create_account(c, "me", account_id=OWNER))
    half = len(log) // 2
    await db.write(apply_changes, OWNER, log[:half], rebuild=False)
    await db.write(apply_changes, OWNER, log[half:], rebuild=False)
    assert await _stale_marks(db) == [f"rebuild-positions:{OWNER}"]
    assert await db.read(read_holdings, OWNER) != await db.read(recompute_holdings, OWNER)
    assert await db.write(rebuild_stale, OWNER)
    assert await _stale_marks(db) == []
    await _assert_projection_current(db)
    assert await db.read(read_holdings, OWNER) == await laptop.read(read_holdings, OWNER)
    assert not await db.write(rebuild_stale, OWNER)  # nothing stale: nothing to do


async def test_a_merge_that_rebuilds_settles_an_earlier_stale_mark(
    pair: tuple[Database, Database], db: Database
) -> None:
    laptop, _ = pair
    log = await _book(laptop)
    await db.write(lambda c: create_account(c, "me", account_id=OWNER))
    settings_only = [change for change in log if change.table == "settings"]
    await db.write(apply_changes, OWNER, [c for c in log if c.table != "settings"], rebuild=False)
    await db.write(apply_changes, OWNER, settings_only)  # touches nothing projected, still rebuilds
    assert await _stale_marks(db) == []
    await _assert_projection_current(db)


async def test_a_stale_mark_left_by_a_crash_is_healed_by_maintenance(
    pair: tuple[Database, Database], db: Database
) -> None:
    laptop, _ = pair
    log = await _book(laptop)
    await db.write(lambda c: create_account(c, "me", account_id=OWNER))
    await db.write(apply_changes, OWNER, log, rebuild=False)  # the process dies before rebuild_stale
    await db.write(run_maintenance)  # what every start runs after upgrading
    assert await _stale_marks(db) == []
    await _assert_projection_current(db)
    assert await db.read(read_cash, OWNER) == await laptop.read(read_cash, OWNER)
