"""Migrations: the same revisions on SQLite and PostgreSQL, both ways, keeping data."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import textwrap
import uuid
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from prism.config import DatabaseSettings
from prism.errors import MigrationError
from prism.migrations import alembic_config, current_revision, downgrade, head_revision, upgrade, upgrade_device
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_holdings, recompute_holdings
from prism.storage.tables import accounts, assets, metadata, portfolios, transactions

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def _schema_diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata))


async def _tables(database: Database) -> set[str]:
    return set(await database.read(lambda c: inspect(c).get_table_names()))


async def test_empty_to_head_to_base_to_head(empty_database_url: str) -> None:
    database = open_database(DatabaseSettings(url=empty_database_url))
    try:
        await upgrade(database)
        assert await current_revision(database) == head_revision()
        assert await database.read(_schema_diff) == []
        await downgrade(database, "base")
        assert await current_revision(database) is None
        assert await _tables(database) <= {"alembic_version"}
        await upgrade(database)
        assert await current_revision(database) == head_revision()
        assert {"transactions", "positions"} <= await _tables(database)
    finally:
        await database.dispose()


def _write_ledger_at_0001(c: Connection) -> uuid.UUID:
    """Rows as revision 0001 knows them (no projection tables yet)."""
    owner, portfolio, asset = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stamps = {"created_at": NOW, "updated_at": NOW}
    c.execute(accounts.insert().values(id=owner, name="old", created_at=NOW))
    c.execute(portfolios.insert().values(owner_id=owner, id=portfolio, name="Main", base_currency="EUR", **stamps))
    c.execute(
        assets.insert().values(
            owner_id=owner,
            id=asset,
            isin="IE00B4L5Y983",
            name="World",
            kind="etf",
            currency="EUR",
            metadata={},
            **stamps,
        )
    )
    trades = [("buy", "3.5", "80.125"), ("buy", "1", "90"), ("sell", "2", "95")]
    for order, (kind, quantity, price) in enumerate(trades):
        c.execute(
            transactions.insert().values(
                owner_id=owner,
                id=uuid.uuid4(),
                portfolio_id=portfolio,
                type=kind,
                date=dt.date(2024, 1, 1 + order),
                entry_order=order,
                asset_id=asset,
                quantity=Decimal(quantity),
                price=Decimal(price),
                fee=Decimal(0),
                tax=Decimal(0),
                currency="EUR",
                **stamps,
            )
        )
    return owner


def _transaction_ids(c: Connection, owner: uuid.UUID) -> list[uuid.UUID]:
    return list(c.execute(select(transactions.c.id).where(transactions.c.owner_id == owner)).scalars())


async def test_data_written_at_0001_survives_the_upgrade_and_gets_a_projection(empty_database_url: str) -> None:
    database = open_database(DatabaseSettings(url=empty_database_url))
    try:
        await upgrade(database, "0001")
        owner = await database.write(_write_ledger_at_0001)
        await upgrade(database, "0002")
        assert len(await database.read(_transaction_ids, owner)) == 3
        [holding] = await database.read(read_holdings, owner)
        assert [holding] == await database.read(recompute_holdings, owner)
        assert holding.quantity == Decimal("2.5")
        assert holding.realized_gain == Decimal("29.75")  # 190 - 2 x 80.125
        await downgrade(database, "0001")
        await upgrade(database)
        assert await database.read(read_holdings, owner) == [holding]
    finally:
        await database.dispose()


FAILING_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("portfolios", sa.Column("doomed", sa.Integer(), nullable=True))
    op.execute("UPDATE portfolios SET name = 'mangled'")
    raise RuntimeError("simulated failure halfway through an upgrade")


def downgrade():
    pass
"""


def _failing_config(tmp_path: Path) -> object:
    versions = tmp_path / "extra_versions"
    versions.mkdir()
    (versions / "0999_fails.py").write_text(textwrap.dedent(FAILING_REVISION.format(head=head_revision())))
    return alembic_config([versions])


async def test_a_failing_device_upgrade_restores_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "device.db"
    settings = DatabaseSettings(url=f"sqlite:///{path}")
    database = open_database(settings)
    await upgrade(database)
    owner = await database.write(_write_ledger_at_0001)
    await database.dispose()

    with pytest.raises(MigrationError, match="simulated failure"):
        await upgrade_device(settings, config=_failing_config(tmp_path))  # type: ignore[arg-type]

    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert raw.execute("SELECT name FROM portfolios").fetchall() == [("Main",)]
        assert "doomed" not in {row[1] for row in raw.execute("PRAGMA table_info(portfolios)")}
    copies = list(tmp_path.glob("device.db.before-upgrade-*"))
    assert len(copies) == 1
    database = open_database(settings)
    assert len(await database.read(_transaction_ids, owner)) == 3
    await database.dispose()


async def test_a_failing_upgrade_changes_nothing_on_either_database(database_url: str, tmp_path: Path) -> None:
    database = open_database(DatabaseSettings(url=database_url))
    try:
        owner = await database.write(_write_ledger_at_0001)
        with pytest.raises(MigrationError):
            await upgrade(database, config=_failing_config(tmp_path))  # type: ignore[arg-type]
        assert await current_revision(database) == head_revision()
        query = select(portfolios.c.name).where(portfolios.c.owner_id == owner)
        names = await database.read(lambda c: c.execute(query).scalars().all())
        columns = await database.read(lambda c: {col["name"] for col in inspect(c).get_columns("portfolios")})
        assert names == ["Main"]
        assert "doomed" not in columns
    finally:
        await database.dispose()


async def test_device_upgrade_of_a_current_database_makes_no_copy(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'fresh.db'}")
    assert await upgrade_device(settings) is None  # new file: nothing to protect
    assert await upgrade_device(settings) is None  # already at head
    assert list(tmp_path.glob("*.before-upgrade-*")) == []


async def test_replicas_starting_together_migrate_once(empty_database_url: str) -> None:
    replicas = [open_database(DatabaseSettings(url=empty_database_url, pool_size=1)) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(replica) for replica in replicas))
        assert await current_revision(replicas[0]) == head_revision()
        assert await replicas[0].read(_schema_diff) == []
    finally:
        for replica in replicas:
            await replica.dispose()
