"""Recording many entries at once keeps every rule of a single write, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, func, select

from prism.domain.ledger import LedgerEntry
from prism.storage.changes import history
from prism.storage.engine import Database
from prism.storage.holdings import read_holdings
from prism.storage.ledger import EntryDetails
from prism.storage.ledger_bulk import BulkRowError, add_entries, begin_bulk, finish_bulk
from prism.storage.projection import rebuild_owner
from prism.storage.tables import changes, transactions
from tests.builders import Book, entry, make_book, record


def _ledger(book: Book) -> list[LedgerEntry]:
    p, (world, apple) = book.portfolios[0], book.assets
    return [
        entry(p, "deposit", "2024-01-02", amount="5000"),
        entry(p, "buy", "2024-01-03", asset_id=world, quantity="10", price="80", fee="1"),
        entry(p, "buy", "2024-02-01", asset_id=world, quantity="10", price="90"),
        entry(p, "buy", "2024-02-05", asset_id=apple, quantity="3", price="150.5"),
        entry(p, "sell", "2024-03-01", asset_id=world, quantity="15", price="100", fee="2", tax="3"),
        entry(p, "split", "2024-03-04", asset_id=apple, ratio="4"),
        entry(p, "dividend", "2024-03-10", asset_id=apple, amount="4.2", tax="0.63"),
        entry(p, "sell", "2024-04-01", asset_id=apple, quantity="12", price="40"),
    ]


def _bulk(connection: Connection, owner: uuid.UUID, entries: list[LedgerEntry], chunk: int = 3) -> int:
    bulk = begin_bulk(connection, owner)
    for start in range(0, len(entries), chunk):
        add_entries(connection, bulk, [(e, EntryDetails(source="test")) for e in entries[start : start + chunk]])
    return finish_bulk(connection, bulk)


def _figures(connection: Connection, owner: uuid.UUID) -> list[tuple[str, str, str, str]]:
    found = read_holdings(connection, owner, include_closed=True)
    return sorted((str(h.quantity), str(h.cost_basis), str(h.realized_gain), str(h.dividends)) for h in found)


async def test_bulk_gives_the_same_ledger_and_holdings_as_single_writes(db: Database) -> None:
    one, many = await make_book(db), await make_book(db)
    await record(db, one.owner, *_ledger(one))
    assert await db.write(_bulk, many.owner, _ledger(many)) == 8
    assert await db.read(_figures, many.owner) == await db.read(_figures, one.owner)

    def counts(connection: Connection, owner: uuid.UUID) -> tuple[int, int]:
        rows = connection.scalar(select(func.count()).select_from(transactions).where(transactions.c.owner_id == owner))
        logged = connection.scalar(select(func.count()).select_from(changes).where(changes.c.owner_id == owner))
        return int(rows or 0), int(logged or 0)

    assert await db.read(counts, many.owner) == await db.read(counts, one.owner)


async def test_every_bulk_row_is_captured_for_sync(db: Database) -> None:
    book = await make_book(db)
    entries = _ledger(book)
    await db.write(_bulk, book.owner, entries)
    logged = [await db.read(history, book.owner, "transactions", e.id) for e in entries]
    assert all(len(changes_of) == 1 and changes_of[0].op == "insert" for changes_of in logged)
    stamps = [changes_of[0].hlc for changes_of in logged]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert logged[1][0].columns["quantity"] == "10"


async def test_a_bulk_oversell_records_nothing_and_names_the_row(db: Database) -> None:
    book = await make_book(db)
    p, world = book.portfolios[0], book.assets[0]
    entries = [
        entry(p, "buy", "2024-01-03", asset_id=world, quantity="10", price="80"),
        entry(p, "sell", "2024-01-02", asset_id=world, quantity="5", price="80"),  # before the buy
    ]
    with pytest.raises(BulkRowError) as raised:
        await db.write(_bulk, book.owner, entries)
    assert (raised.value.row, raised.value.field, raised.value.code) == (1, "quantity", "insufficient-holdings")

    def stored(connection: Connection) -> int:
        query = select(func.count()).select_from(transactions).where(transactions.c.owner_id == book.owner)
        return int(connection.scalar(query) or 0)

    assert await db.read(stored) == 0


async def test_a_bulk_row_naming_an_unknown_asset_is_refused(db: Database) -> None:
    book = await make_book(db)
    p = book.portfolios[0]
    entries = [
        entry(p, "deposit", "2024-01-02", amount="10"),
        entry(p, "buy", "2024-01-03", asset_id=uuid.uuid4(), quantity="1", price="1"),
    ]
    with pytest.raises(BulkRowError) as raised:
        await db.write(_bulk, book.owner, entries)
    assert (raised.value.row, raised.value.field) == (1, "asset_id")


async def test_a_second_split_on_the_same_day_is_refused_within_one_bulk(db: Database) -> None:
    book = await make_book(db)
    p, apple = book.portfolios[0], book.assets[1]
    entries = [entry(p, "split", "2024-03-04", asset_id=apple, ratio="2") for _ in range(2)]
    with pytest.raises(BulkRowError) as raised:
        await db.write(_bulk, book.owner, entries)
    assert raised.value.row == 1


async def test_a_bulk_row_is_logged_with_the_columns_a_single_write_logs(db: Database) -> None:
    one, many = await make_book(db), await make_book(db)
    await record(db, one.owner, *_ledger(one))
    await db.write(_bulk, many.owner, _ledger(many))

    def logged(connection: Connection, owner: uuid.UUID) -> list[dict[str, object]]:
        c = changes.c
        rows = connection.execute(select(c.columns).where(c.owner_id == owner, c.table_name == "transactions"))
        ignored = {"id", "portfolio_id", "asset_id", "entry_order", "source", "external_id", "note"}
        return sorted(({k: v for k, v in columns.items() if k not in ignored} for (columns,) in rows), key=str)

    assert await db.read(logged, many.owner) == await db.read(logged, one.owner)


async def test_bulk_entries_after_a_stored_ledger_fold_onto_it_as_a_rebuild_would(db: Database) -> None:
    book = await make_book(db)
    entries = _ledger(book)
    await record(db, book.owner, *entries[:3])
    assert await db.write(_bulk, book.owner, entries[3:]) == 5
    folded = await db.read(_figures, book.owner)
    await db.write(rebuild_owner, book.owner)
    assert await db.read(_figures, book.owner) == folded


async def test_bulk_entries_before_stored_ones_are_judged_by_a_rebuild(db: Database) -> None:
    book = await make_book(db)
    entries = _ledger(book)
    await record(db, book.owner, entries[0], entries[2])
    assert await db.write(_bulk, book.owner, [entries[1]]) == 1  # dated between the two stored
    folded = await db.read(_figures, book.owner)
    await db.write(rebuild_owner, book.owner)
    assert await db.read(_figures, book.owner) == folded
