"""A realistic account to export (the demo at small scale, plus every other user table
with awkward values and tombstones), and a second empty database of the same backend."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection

from prism.config import DatabaseSettings
from prism.demo import create_demo_book
from prism.domain.ids import new_id
from prism.storage.annotations import (
    AlertCondition,
    AlertRule,
    EntityType,
    Note,
    delete_row,
    new_tag,
    save_alert_rule,
    save_note,
    save_tag,
    save_tagging,
)
from prism.storage.catalog import new_asset, save_asset
from prism.storage.engine import Database, open_database
from prism.storage.ledger import EntryDetails, delete_transaction, record_transaction
from prism.storage.settings import delete_setting, put_setting
from prism.storage.tables import notes, tags
from tests.builders import entry
from tests.conftest import _admin, _database_url


def populate(connection: Connection) -> uuid.UUID:
    """The demo's ledger and one of everything else, awkward values and tombstones included."""
    book = create_demo_book(connection, scale=0.02, seed=11)
    owner = book.owner_id
    broker = book.portfolios["Broker"]
    odd = new_asset(
        owner,
        name='Odd, "quoted"\nname; ünïcödé',
        kind="stock",
        currency="EUR",
        isin="NL0010273215",
        ticker="",
        metadata={"z": 1, "a": {"nested": [1, "two", None]}, "weight": "0.123456789012345678"},
    )
    save_asset(connection, owner, odd)
    detailed = entry(
        broker, "buy", "2024-03-01", asset_id=odd.id, quantity="0.000000000123456789", price="123456789.987654321",
        fee="0.01", tax="0",
    )  # fmt: skip
    record_transaction(connection, owner, detailed, EntryDetails("broker-x", "ext-1", 'a "note",\r\nwith lines'))
    empty_note = entry(broker, "deposit", "2024-03-02", amount="1", currency="EUR")
    record_transaction(connection, owner, empty_note, EntryDetails("", "", ""))
    gone = entry(broker, "deposit", "2024-03-03", amount="5", currency="EUR")
    record_transaction(connection, owner, gone, EntryDetails(note="deleted later"))
    delete_transaction(connection, owner, gone.id)
    note = save_note(connection, owner, Note(new_id(), 'body, with "quotes"', "", EntityType.ASSET, odd.id))
    scrap = save_note(connection, owner, Note(new_id(), "scrap"))
    delete_row(connection, notes, owner, scrap.id)
    tag = save_tag(connection, owner, new_tag(owner, "Dividend, growth", "#00ff00"))
    old_tag = save_tag(connection, owner, new_tag(owner, "old"))
    save_tagging(connection, owner, tag.id, EntityType.ASSET, odd.id)
    save_tagging(connection, owner, tag.id, EntityType.TRANSACTION, detailed.id)
    save_tagging(connection, owner, old_tag.id, EntityType.PORTFOLIO, broker)
    delete_row(connection, tags, owner, old_tag.id)  # its tagging becomes a tombstone too
    rule = AlertRule(new_id(), AlertCondition.PRICE_ABOVE, Decimal("1E+3"), asset_id=odd.id, currency="EUR")
    save_alert_rule(connection, owner, rule)
    save_alert_rule(connection, owner, AlertRule(new_id(), AlertCondition.VALUE_BELOW, Decimal("0.5"),
                                                 portfolio_id=broker, enabled=False, note=note.body))  # fmt: skip
    put_setting(connection, owner, "ui.theme", "string", "dark")
    put_setting(connection, owner, "ui.a_b", "string", "")
    put_setting(connection, owner, "ui.a-b", "string", "-")
    put_setting(connection, owner, "ui.a.b", "string", ".")
    put_setting(connection, owner, "ui.gone", "string", "x")
    delete_setting(connection, owner, "ui.gone")
    return owner


def _populated(url: str) -> uuid.UUID:
    async def run() -> uuid.UUID:
        database = open_database(DatabaseSettings(url=url, pool_size=1))
        try:
            return await database.write(populate)
        finally:
            await database.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="session")
def populated_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, uuid.UUID]:
    """A migrated SQLite file holding the populated account, copied for each test; its owner."""
    path = tmp_path_factory.mktemp("populated") / "prism.db"
    shutil.copyfile(sqlite_template, path)
    return path, _populated(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def populated_postgres(postgres_server_url: str, postgres_template: str) -> tuple[str, uuid.UUID]:
    """A PostgreSQL database holding the populated account, the template of each test's; its owner."""
    name = f"prism_populated_{uuid.uuid4().hex[:8]}"
    _admin(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    return name, _populated(_database_url(postgres_server_url, name))


@pytest.fixture
def source_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, uuid.UUID]]:
    """URL of a new database of the current backend holding the populated account; its owner.

    Populating takes seconds (the demo ledger goes through change capture row by row), so
    it happens once per backend and each test gets its own copy of the result.
    """
    if backend == "sqlite":
        template, owner = request.getfixturevalue("populated_sqlite")
        path = tmp_path / "prism.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}", owner
        return
    server: str = request.getfixturevalue("postgres_server_url")
    template_name, owner = request.getfixturevalue("populated_postgres")
    name = f"prism_source_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield _database_url(server, name), owner
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def source(source_url: tuple[str, uuid.UUID]) -> AsyncIterator[tuple[Database, uuid.UUID]]:
    """An open database of the current backend holding the populated account, and its owner."""
    url, owner = source_url
    database = open_database(DatabaseSettings(url=url, pool_size=2))
    yield database, owner
    await database.dispose()


def _fresh_url(backend: str, request: pytest.FixtureRequest, path: Path) -> Iterator[str]:
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    template: str = request.getfixturevalue("postgres_template")
    name = f"prism_restore_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _database_url(server, name)
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def second_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another new, migrated, empty database of the current backend."""
    yield from _fresh_url(backend, request, tmp_path / "restored.db")


@pytest.fixture
async def target(second_database_url: str) -> AsyncIterator[Database]:
    """An open, migrated, empty database of the current backend."""
    database = open_database(DatabaseSettings(url=second_database_url, pool_size=2))
    yield database
    await database.dispose()


@pytest.fixture
def peer_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A third new, migrated, empty database of the current backend."""
    yield from _fresh_url(backend, request, tmp_path / "peer.db")


@pytest.fixture
async def peer(peer_database_url: str) -> AsyncIterator[Database]:
    """A third empty database of the current backend: another device."""
    database = open_database(DatabaseSettings(url=peer_database_url, pool_size=2))
    yield database
    await database.dispose()
