"""The demo ledger is realistic, deterministic, obeys every ledger rule, and trades at the lake's market."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from prism.cli import main
from prism.config import LakeSettings
from prism.demo import create_demo_book, demo_assets
from prism.demo_lake import lake_has_prices
from prism.demo_market import APPLE_SPLIT, DemoMarket, generate_market
from prism.domain.holdings import CostMethod
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.catalog import Asset, device_account, list_assets
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings, recompute_cash, recompute_holdings
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, open_lake
from prism.storage.ledger import list_transactions


async def test_demo_projection_equals_recomputation(db: Database) -> None:
    book = await db.write(create_demo_book, scale=0.1)
    assert book.entries > 1000
    for method in CostMethod:
        assert await db.read(read_holdings, book.owner_id, method=method) == await db.read(
            recompute_holdings, book.owner_id, method=method
        )
    assert await db.read(read_cash, book.owner_id) == await db.read(recompute_cash, book.owner_id)
    held = await db.read(read_holdings, book.owner_id)
    assert all(h.consistent for h in held)
    assert all(h.market_value is not None for h in held)


async def test_the_same_seed_gives_the_same_portfolio(db: Database) -> None:
    first = await db.write(create_demo_book, scale=0.05, seed=7)
    second = await db.write(create_demo_book, scale=0.05, seed=7)
    mine = await db.read(read_holdings, first.owner_id)
    theirs = await db.read(read_holdings, second.owner_id)
    # Asset ids are derived per account, so compare the figures (currency onwards).
    assert mine
    assert sorted(h[2:] for h in mine) == sorted(h[2:] for h in theirs)


async def _ledger(db: Database, owner: uuid.UUID) -> tuple[list[LedgerEntry], dict[uuid.UUID, Asset]]:
    stored = await db.read(list_transactions, owner)
    assets = {asset.id: asset for asset in await db.read(list_assets, owner)}
    return [t.entry for t in stored], assets


def _rate(market: DemoMarket, base: str, currency: str, day: dt.date) -> Decimal:
    """Units of ``base`` for one of ``currency`` on ``day``, from the market's EUR rates."""

    def per_euro(code: str) -> Decimal:
        return Decimal(1) if code == "EUR" else market.fx_rate(f"EUR{code}", day)

    return (per_euro(base) / per_euro(currency)).quantize(Decimal("0.000001"))


async def test_the_ledger_trades_at_the_markets_close_and_fx_rate_of_the_day(db: Database) -> None:
    book = await db.write(create_demo_book, scale=0.1, seed=7)
    market = generate_market(demo_assets(book.assets, 7), seed=7)
    entries, assets = await _ledger(db, book.owner_id)
    bases = {book.portfolios["US Account"]: "USD"}
    trades = [e for e in entries if e.type in {TransactionType.BUY, TransactionType.SELL}]
    assert len(trades) > 300
    foreign = set()
    for entry in trades:
        assert entry.asset_id is not None
        isin = assets[entry.asset_id].isin
        assert isin is not None
        assert entry.price == market.close(isin, entry.date)
        base = bases.get(entry.portfolio_id, "EUR")
        if entry.currency != base:
            foreign.add(entry.currency)
            assert entry.fx_rate == _rate(market, base, entry.currency, entry.date)
    assert "USD" in foreign
    dividends = [e for e in entries if e.type is TransactionType.DIVIDEND]
    assert dividends
    for entry in dividends:  # paid on a day the asset traded, so its close is known
        assert entry.asset_id is not None
        assert market.close(str(assets[entry.asset_id].isin), entry.date) is not None
    (split,) = [e for e in entries if e.type is TransactionType.SPLIT]
    assert split.date == APPLE_SPLIT
    assert [e.date for e in entries] == sorted(e.date for e in entries)


async def test_the_demo_command_fills_a_folder_lake_at_the_ledgers_prices(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    command = ["--data-dir", str(tmp_path), "--database-url", database_url, "demo", "--scale", "0.05", "--seed", "7"]
    result = await asyncio.to_thread(CliRunner().invoke, main, [*command, "--no-serve"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "wrote the market into the lake" in result.output
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        prices = lake.query(f"SELECT count(*), count(DISTINCT isin), min(date), max(date) FROM {lake.scan(PRICES)}")
        assert prices.to_pylist() == [
            {
                "count_star()": prices["count_star()"][0].as_py(),
                "count(DISTINCT isin)": 1000,
                "min(date)": dt.date(2016, 1, 4),
                "max(date)": dt.date(2025, 12, 31),
            }
        ]
        assert prices["count_star()"][0].as_py() > 2_400_000
        fx = lake.query(f"SELECT pair, count(*) AS n FROM {lake.scan(FX)} GROUP BY pair ORDER BY pair").to_pylist()
        assert [row["pair"] for row in fx] == ["EURCHF", "EURGBP", "EURUSD"]
        funds = lake.query(f"SELECT count(DISTINCT fund_isin) AS n FROM {lake.scan(ETF_HOLDINGS)}").to_pylist()
        assert funds == [{"n": 50}]
        # The ledger the command recorded traded at the closes the lake now holds.
        owner = await db.read(device_account)
        assert owner is not None
        entries, assets = await _ledger(db, owner)
        closes = {
            (row["isin"], row["date"]): row["close"]
            for row in lake.query(
                f"SELECT isin, date, close FROM {lake.scan(PRICES)} WHERE isin IN (SELECT unnest($isins))",
                {"isins": [a.isin for a in assets.values()]},
            ).to_pylist()
        }
        trades = [e for e in entries if e.type in {TransactionType.BUY, TransactionType.SELL}]
        assert trades
        for entry in trades:
            assert entry.asset_id is not None
            assert entry.price == closes[(assets[entry.asset_id].isin, entry.date)]
        version = lake.manifest(PRICES).version
        again = await asyncio.to_thread(CliRunner().invoke, main, [*command, "--no-serve"], env={"COLUMNS": "200"})
        assert again.exit_code == 0, again.output
        assert "already holds prices" in again.output
        assert lake.manifest(PRICES).version == version
    finally:
        lake.close()


async def test_the_demo_command_without_market_leaves_the_lake_empty(database_url: str, tmp_path: Path) -> None:
    command = ["--data-dir", str(tmp_path), "--database-url", database_url, "demo", "--scale", "0.02"]
    result = await asyncio.to_thread(CliRunner().invoke, main, [*command, "--no-market", "--no-serve"])
    assert result.exit_code == 0, result.output
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        assert not lake_has_prices(lake)
    finally:
        lake.close()
