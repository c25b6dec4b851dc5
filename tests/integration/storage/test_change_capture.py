"""Change capture on both databases: every write to a synced table is logged, in the
same transaction, with only the columns it changed (docs/sync-protocol.md §2)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, select

from prism.errors import InsufficientHoldingsError
from prism.storage.annotations import Note, delete_row, new_tag, save_note, save_tag, save_tagging
from prism.storage.catalog import delete_portfolio, update_portfolio
from prism.storage.changes import history
from prism.storage.engine import Database
from prism.storage.ledger import EntryDetails, delete_transaction, transaction_history, update_transaction
from prism.storage.settings import delete_setting, put_setting
from prism.storage.tables import changes, notes, tags
from tests.builders import entry, make_book, record


def _log(connection: Connection, owner: uuid.UUID) -> list[Any]:
    c = changes.c
    return list(connection.execute(select(changes).where(c.owner_id == owner).order_by(c.hlc)).mappings())


async def test_a_transaction_logs_insert_update_and_delete(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    buy = entry(p, "buy", "2024-01-02", asset_id=a, quantity="2", price="10.50")
    await record(db, book.owner, buy)
    changed = entry(p, "buy", "2024-01-02", asset_id=a, quantity="3", price="10.50", id=buy.id)
    await db.write(update_transaction, book.owner, changed, EntryDetails())
    await db.write(delete_transaction, book.owner, buy.id)
    trail = await db.read(transaction_history, book.owner, buy.id)
    assert [c.op for c in trail] == ["insert", "update", "delete"]
    assert trail[0].columns["price"] == "10.5"
    assert trail[0].columns["date"] == "2024-01-02"
    assert trail[0].columns["asset_id"] == str(a)
    assert "id" not in trail[0].columns
    assert trail[1].columns == {"quantity": "3"}  # only what changed
    assert set(trail[2].columns) == {"deleted_at"}
    assert [c.hlc for c in trail] == sorted({c.hlc for c in trail})
    assert len({c.device_id for c in trail}) == 1


async def test_a_refused_write_logs_nothing(db: Database) -> None:
    book = await make_book(db)
    before = await db.read(_log, book.owner)
    with pytest.raises(InsufficientHoldingsError):
        await record(
            db,
            book.owner,
            entry(book.portfolios[0], "deposit", "2024-01-01", amount="5"),
            entry(book.portfolios[0], "sell", "2024-01-02", asset_id=book.assets[0], quantity="1", price="1"),
        )
    assert await db.read(_log, book.owner) == before


async def test_every_synced_table_is_captured(db: Database) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"))
    owner, p, q, a = book.owner, *book.portfolios, book.assets[0]

    def annotate(connection: Connection) -> None:
        update_portfolio(connection, owner, p, "Renamed", "EUR")
        update_portfolio(connection, owner, p, "Renamed", "EUR")  # no change: nothing logged
        delete_portfolio(connection, owner, q)
        put_setting(connection, owner, "ui.theme", "string", "dark")
        delete_setting(connection, owner, "ui.theme")
        note = save_note(connection, owner, Note(uuid.uuid4(), "remember", entity_type=None))
        tag = save_tag(connection, owner, new_tag(owner, "Core"))
        save_tagging(connection, owner, tag.id, "asset", a)
        delete_row(connection, tags, owner, tag.id)
        delete_row(connection, notes, owner, note.id)

    await db.write(annotate)
    log = await db.read(_log, owner)
    tables = {(row["table_name"], row["op"]) for row in log}
    assert {
        ("portfolios", "insert"),
        ("assets", "insert"),
        ("portfolios", "update"),
        ("portfolios", "delete"),
        ("settings", "insert"),
        ("settings", "delete"),
        ("notes", "insert"),
        ("notes", "delete"),
        ("tags", "insert"),
        ("tags", "delete"),
        ("taggings", "insert"),
        ("taggings", "delete"),
    } <= tables
    renames = [row for row in log if row["table_name"] == "portfolios" and row["op"] == "update"]
    assert [row["columns"] for row in renames] == [{"name": "Renamed"}]
    assert await db.read(history, owner, "settings", "ui.theme")


async def test_clock_stamps_are_unique_and_increasing_across_writes(db: Database) -> None:
    book = await make_book(db)
    deposits = [entry(book.portfolios[0], "deposit", "2024-01-01", amount=str(n + 1)) for n in range(20)]
    for deposit in deposits:
        await record(db, book.owner, deposit)
    log = await db.read(_log, book.owner)
    stamps = [row["hlc"] for row in log]
    assert stamps == sorted(set(stamps))
