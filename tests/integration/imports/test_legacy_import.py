"""``prism import legacy``: a folder with every format, on both databases and a folder lake."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from prism.config import LakeSettings
from prism.domain.ids import asset_id
from prism.domain.ledger import TransactionType
from prism.imports.legacy import LegacyReport, import_legacy
from prism.storage.catalog import create_account, delete_asset, list_assets, list_portfolios
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, Lake, open_lake
from prism.storage.ledger import TransactionFilter, delete_transaction, list_transactions
from prism.storage.settings import list_settings
from tests.fixtures.legacy import (
    APPLE,
    ASML,
    MICROSOFT,
    MSCI_WORLD,
    SAP,
    SP500,
    TESLA,
    XTRACKERS_WORLD,
    legacy_folder,
    write_etf_caches,
    write_holdings_old,
    write_universe,
)

AS_OF = dt.date(2025, 10, 1)


async def _import(db: Database, lake: Lake, tmp_path: Path, owner: uuid.UUID, **options: Any) -> LegacyReport:
    return await import_legacy(db, lake, tmp_path / "lake.lock", tmp_path / "legacy", owner_id=owner, **options)


def _by_path(report: LegacyReport) -> dict[str, Any]:
    return {entry.path: entry for entry in report.files}


def _compositions(lake: Lake) -> list[tuple[str, dt.date, str | None, str | None, Decimal, str | None]]:
    rows = lake.query(
        f"SELECT fund_isin, as_of, constituent_isin, constituent_name, weight, country FROM {lake.scan(ETF_HOLDINGS)} "
        "ORDER BY fund_isin, weight DESC"
    )
    return [tuple(row.values()) for row in rows.to_pylist()]  # type: ignore[misc]


async def _state(db: Database, owner: uuid.UUID) -> tuple[Any, ...]:
    assets = await db.read(list_assets, owner)
    entries = await db.read(list_transactions, owner)
    portfolios = await db.read(list_portfolios, owner)
    return (
        sorted((a.isin, a.name, a.kind.value, a.ticker, sorted(a.metadata.items())) for a in assets),
        [(t.entry.id, t.entry.quantity, t.entry.price) for t in entries],
        portfolios,
    )


async def test_a_legacy_folder_imports_positions_assets_and_compositions_once(db: Database, tmp_path: Path) -> None:
    legacy_folder(tmp_path / "legacy")
    owner = await db.write(create_account, "Legacy user")
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        report = await _import(db, lake, tmp_path, owner, as_of=AS_OF)
        files = _by_path(report)
        assert files["config/asset_universe.csv"].imported == 6
        assert files["config/asset_universe.csv"].skipped == 2
        assert files[".env"].imported == 0
        assert "secrets are not imported" in files[".env"].notes[0]
        assert "backup" in files["config/asset_universe.csv.backup.20250101_120000"].notes[0]

        portfolios = {p.name: p for p in await db.read(list_portfolios, owner)}
        assert sorted(portfolios) == ["Imported", "Imported statements", "Main Portfolio"]
        assert portfolios["Imported"].base_currency == "EUR"
        opened = await db.read(list_transactions, owner, TransactionFilter(portfolio_id=portfolios["Imported"].id))
        positions = {
            t.entry.asset_id: (t.entry.type, t.entry.date, t.entry.quantity, t.entry.price, t.entry.currency)
            for t in opened
        }
        delivery = TransactionType.DELIVERY_IN
        assert positions == {
            asset_id(owner, TESLA): (delivery, AS_OF, Decimal(2), Decimal(0), "EUR"),
            asset_id(owner, MSCI_WORLD): (delivery, AS_OF, Decimal("12.345678"), Decimal("81.25"), "EUR"),
            asset_id(owner, APPLE): (delivery, AS_OF, Decimal("0.184071"), Decimal("190.5"), "EUR"),
            asset_id(owner, ASML): (delivery, AS_OF, Decimal(3), Decimal(0), "EUR"),
        }
        assert {t.details.source for t in opened} == {"legacy:calculated_holdings"}

        history = await db.read(
            list_transactions, owner, TransactionFilter(portfolio_id=portfolios["Imported statements"].id)
        )
        T = TransactionType
        apple = asset_id(owner, APPLE)
        assert [
            (t.entry.date, t.entry.type, t.entry.asset_id, t.entry.quantity, t.entry.price, t.entry.amount, t.entry.fee)
            for t in history
        ] == [
            (dt.date(2025, 10, 1), T.DEPOSIT, None, None, None, Decimal("2000.00"), Decimal(0)),
            (dt.date(2025, 10, 2), T.BUY, apple, Decimal(2), Decimal(150), None, Decimal(1)),
            (dt.date(2025, 10, 31), T.INTEREST, None, None, None, Decimal("3.12"), Decimal(0)),
            (dt.date(2025, 11, 5), T.DIVIDEND, apple, None, None, Decimal("0.48"), Decimal(0)),
            (dt.date(2025, 11, 10), T.DEPOSIT, None, None, None, Decimal("1.50"), Decimal(0)),
            (dt.date(2025, 11, 10), T.DEPOSIT, None, None, None, Decimal("1.50"), Decimal(0)),
            (dt.date(2025, 11, 15), T.SELL, apple, Decimal(1), Decimal(160), None, Decimal(1)),
            (dt.date(2025, 11, 20), T.WITHDRAWAL, None, None, None, Decimal("100.00"), Decimal(0)),
        ]
        main = await db.read(list_transactions, owner, TransactionFilter(portfolio_id=portfolios["Main Portfolio"].id))
        sap, microsoft = asset_id(owner, SAP), asset_id(owner, MICROSOFT)
        assert [(e.date, e.type, e.asset_id, e.quantity, e.price, e.amount) for e in (t.entry for t in main)] == [
            (dt.date(2025, 1, 2), T.DEPOSIT, None, None, None, Decimal(500)),
            (dt.date(2025, 1, 3), T.BUY, sap, Decimal(10), Decimal("120.05"), None),
            (dt.date(2025, 2, 3), T.SELL, sap, Decimal(4), Decimal(130), None),
            (dt.date(2025, 5, 15), T.DIVIDEND, sap, None, None, Decimal("15.2")),
            (dt.date(2025, 6, 1), T.INTEREST, None, None, None, Decimal("2.5")),
            (dt.date(2025, 6, 2), T.FEE, None, None, None, Decimal(1)),
            (AS_OF, T.DELIVERY_IN, microsoft, Decimal("0.3"), Decimal(350), None),
        ]
        stored_settings = {setting.key: setting.value for setting in await db.read(list_settings, owner)}
        assert stored_settings["hive_contribution_enabled"] is True
        assert "tr_session_token" not in stored_settings
        assert "only euro portfolios" in "\n".join(files["app/prism.db"].notes)

        trades = files["data/statements/trades.csv"]
        assert trades.skipped == 3  # the corrupted quantity, an oversold SAP, a bad check digit
        assert any("corrupted quantity" in note for note in trades.notes)

        assets = {a.isin: a for a in await db.read(list_assets, owner)}
        assert SP500 not in assets  # enrichment fills known assets only
        assert assets[SAP].name == "SAP SE"  # the universe said "Not Found"
        assert assets[SAP].metadata["country"] == "Germany"
        assert assets[APPLE].name == "Apple, Inc."  # enrichment never overwrites
        assert assets[APPLE].ticker == "AAPL"
        assert assets[APPLE].metadata["sector"] == "Technology"
        assert assets[MSCI_WORLD].kind.value == "etf"

        holdings = _compositions(lake)
        assert holdings == [
            (MSCI_WORLD, AS_OF, APPLE, "APPLE INC", Decimal("0.605"), None),
            (MSCI_WORLD, AS_OF, ASML, "ASML Holding", Decimal("0.3025"), None),
            (MSCI_WORLD, AS_OF, None, "UNKNOWN CO", Decimal("0.0525"), None),
            (MSCI_WORLD, AS_OF, None, "USD CASH", Decimal("0.04"), None),
            (XTRACKERS_WORLD, dt.date(2025, 10, 2), APPLE, "Apple", Decimal("0.505"), "VEREINIGTE STAATEN"),
            (
                XTRACKERS_WORLD,
                dt.date(2025, 10, 2),
                "GB0009895292",
                "AstraZeneca",
                Decimal("0.495"),
                "GRO\u1e9eBRITANNIEN",
            ),  # DuckDB upper-cases ß as ẞ
        ]
        version = lake.manifest(ETF_HOLDINGS).version
        before = await _state(db, owner)

        again = await _import(db, lake, tmp_path, owner, as_of=AS_OF)
        assert again.imported == 0
        assert await _state(db, owner) == before
        assert lake.manifest(ETF_HOLDINGS).version == version
        assert _compositions(lake) == holdings
    finally:
        lake.close()


async def test_a_dry_run_reports_the_import_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    legacy_folder(tmp_path / "legacy")
    owner = await db.write(create_account, "Legacy user")
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        report = await _import(db, lake, tmp_path, owner, as_of=AS_OF, dry_run=True)
        files = _by_path(report)
        assert files["data/working/calculated_holdings.csv"].imported == 3
        assert files[f"data/working/cache/etf_holdings/{MSCI_WORLD}.csv"].imported == 4
        assert await db.read(list_assets, owner) == []
        assert await db.read(list_transactions, owner) == []
        assert await db.read(list_portfolios, owner) == []
        assert _compositions(lake) == []
    finally:
        lake.close()


def test_the_command_imports_a_folder_and_shows_the_report(tmp_path: Path) -> None:
    from prism.cli import main

    legacy_folder(tmp_path / "legacy")
    url = f"sqlite:///{tmp_path / 'prism.db'}"
    args = ["--data-dir", str(tmp_path), "--database-url", url, "import", "legacy", str(tmp_path / "legacy")]
    first = CliRunner().invoke(main, [*args, "--as-of", "2025-10-01"], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "Imported" in first.output
    assert "asset_universe.csv" in first.output
    assert "secrets are not imported" in first.output
    second = CliRunner().invoke(main, [*args, "--as-of", "2025-10-01", "--json"], env={"COLUMNS": "200"})
    assert second.exit_code == 0, second.output
    assert '"imported": 0,' in second.output


async def test_opening_positions_default_to_the_file_date_and_deleted_imports_stay_deleted(
    db: Database, tmp_path: Path
) -> None:
    holdings = write_holdings_old(tmp_path / "legacy" / "data" / "working" / "calculated_holdings.csv")
    write_universe(tmp_path / "legacy" / "config" / "asset_universe.csv")
    stamp = dt.datetime(2024, 3, 15, 12, tzinfo=dt.UTC).timestamp()
    os.utime(holdings, (stamp, stamp))
    owner = await db.write(create_account, "Legacy user")
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        await _import(db, lake, tmp_path, owner)
        (opened,) = await db.read(list_transactions, owner)
        assert (opened.entry.asset_id, opened.entry.date) == (asset_id(owner, TESLA), dt.date(2024, 3, 15))
        await db.write(delete_transaction, owner, opened.entry.id)
        await db.write(delete_asset, owner, asset_id(owner, TESLA))

        again = await _import(db, lake, tmp_path, owner)
        assert again.imported == 0
        assert await db.read(list_transactions, owner) == []
        assert TESLA not in {a.isin for a in await db.read(list_assets, owner)}
        assert "deleted in Prism: left deleted" in "\n".join(_by_path(again)["config/asset_universe.csv"].notes)
    finally:
        lake.close()


async def test_compositions_land_once_in_a_folder_or_s3_lake(db: Database, lake: Lake, tmp_path: Path) -> None:
    write_universe(tmp_path / "legacy" / "config" / "asset_universe.csv")
    write_etf_caches(tmp_path / "legacy" / "cache")
    owner = await db.write(create_account, "Legacy user")
    first = await _import(db, lake, tmp_path, owner)
    assert _by_path(first)[f"cache/{XTRACKERS_WORLD}.csv"].imported == 2
    stored = _compositions(lake)
    assert [(fund, weight) for fund, _, _, _, weight, _ in stored] == [
        (MSCI_WORLD, Decimal("0.605")),
        (MSCI_WORLD, Decimal("0.3025")),
        (MSCI_WORLD, Decimal("0.0525")),
        (MSCI_WORLD, Decimal("0.04")),
        (XTRACKERS_WORLD, Decimal("0.505")),
        (XTRACKERS_WORLD, Decimal("0.495")),
    ]
    version = lake.manifest(ETF_HOLDINGS).version
    second = await _import(db, lake, tmp_path, owner)
    assert second.imported == 0
    assert lake.manifest(ETF_HOLDINGS).version == version
    assert _compositions(lake) == stored
