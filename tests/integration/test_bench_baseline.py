"""The analytics benchmark's pandas baseline computes what Prism computes (SQLite, lake in a folder).

The benchmark's ratios mean something only if ``bench/baseline_pandas.py`` gives Prism's
figures. Here both run on the value-history worked example and on a book with
transfers between a euro and a dollar portfolio, foreign cash converted directly,
inversely and across (GBP into USD through EUR), a split, deliveries, and an asset
valued at its trade price for want of closes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from prism.analytics.history import performance, value_history
from prism.config import DatabaseSettings, LakeSettings
from prism.storage.engine import Database, open_database
from prism.storage.lake import FX, PRICES, Lake, open_lake, write_rows
from tests.builders import D, entry, make_book, record
from tests.integration.lake.test_value_history import closes, day, worked_example

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import baseline_pandas
from bench.analytics import export_ledger, export_market

CENT = Decimal("0.01")


@pytest.fixture
async def sqlite_db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "prism.db"
    shutil.copyfile(sqlite_template, path)
    database = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
    yield database
    await database.dispose()


@pytest.fixture
def folder_lake(tmp_path: Path) -> Iterator[Lake]:
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    yield lake
    lake.close()


def cents(value: Decimal | float) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


async def baseline_of(db: Database, lake: Lake, owner: uuid.UUID, folder: Path) -> baseline_pandas.Result:
    folder.mkdir()
    await export_ledger(db, owner, folder)
    export_market(lake, folder)
    return baseline_pandas.compute(baseline_pandas.load(folder))


async def assert_same_as_prism(
    db: Database, lake: Lake, owner: uuid.UUID, named: dict[str, uuid.UUID | None], found: baseline_pandas.Result
) -> None:
    lock = Path(lake.settings.url).parent / "lake.lock"
    for name, portfolio in named.items():
        history = await value_history(db, lake, lock, owner, portfolio)
        series = found.values[found.values.portfolio == name]
        theirs = [
            (row.date.date(), cents(row.value), cents(row.inflow), cents(row.outflow)) for row in series.itertuples()
        ]
        assert theirs == [(d.date, cents(d.value), cents(d.inflow), cents(d.outflow)) for d in history.days], name
        mine = await performance(db, lake, lock, owner, portfolio)
        figures = found.performance[name]
        assert abs(float(mine.ttwror) - float(figures["ttwror"] or 0)) <= 1e-9, name
        assert abs(float(mine.max_drawdown) - float(figures["max_drawdown"] or 0)) <= 1e-9, name
        assert abs(float(mine.volatility) - float(figures["volatility"] or 0)) <= 1e-9, name
        assert (mine.irr is None) == (figures["irr"] is None), name
        if mine.irr is not None:
            assert abs(float(mine.irr) - float(figures["irr"] or 0)) <= 1e-9, name


async def test_the_baseline_values_the_worked_example_like_prism(
    sqlite_db: Database, folder_lake: Lake, tmp_path: Path
) -> None:
    owner, p = await worked_example(sqlite_db, folder_lake)
    found = await baseline_of(sqlite_db, folder_lake, owner, tmp_path / "csv")
    p0 = found.values[found.values.portfolio == "P0"]
    assert [cents(v) for v in p0.value] == [D(2000), D(2050), D(1939), D(1971), D(1976)]  # worked by hand
    await assert_same_as_prism(sqlite_db, folder_lake, owner, {"P0": p, "all": None}, found)


async def test_the_baseline_follows_transfers_currencies_and_splits_like_prism(
    sqlite_db: Database, folder_lake: Lake, tmp_path: Path
) -> None:
    book = await make_book(sqlite_db, portfolios=("EUR", "USD"), assets=2, asset_currency="USD")
    euros, dollars = book.portfolios
    unpriced, u = book.assets  # the first has no closes at all: its trade price values it
    write_rows(folder_lake, PRICES, closes("US0378331005", "USD", {1: "50", 2: "60", 3: "30", 5: "32"}))
    fx = {"EURUSD": {1: "1.25", 3: "1.6"}, "EURGBP": {1: "0.85", 4: "0.9"}}
    write_rows(
        folder_lake,
        FX,
        pa.table(
            {
                "pair": [pair for pair, rates in fx.items() for _ in rates],
                "date": [day(n) for rates in fx.values() for n in rates],
                "rate": [D(rate) for rates in fx.values() for rate in rates.values()],
            }
        ),
    )
    usd = {"currency": "USD"}
    await record(
        sqlite_db,
        book.owner,
        entry(euros, "deposit", day(1), amount="1000"),
        entry(euros, "delivery_in", day(1), **usd, asset_id=u, quantity="10", price="50", fx_rate="0.8"),
        entry(euros, "buy", day(2), **usd, asset_id=unpriced, quantity="3", price="20", fee="1", fx_rate="0.8"),
        entry(euros, "transfer", day(2), asset_id=u, quantity="4", target_portfolio_id=dollars, fx_rate="1.25"),
        entry(dollars, "split", day(3), **usd, asset_id=u, ratio="2"),
        entry(euros, "transfer", day(3), amount="200", target_portfolio_id=dollars),
        entry(dollars, "deposit", day(4), currency="GBP", amount="100", fx_rate="1.3"),
        entry(dollars, "withdrawal", day(5), **usd, amount="50"),
        entry(euros, "delivery_out", day(5), **usd, asset_id=u, quantity="2", price="32", fx_rate="0.7"),
        entry(euros, "sell", day(6), **usd, asset_id=unpriced, quantity="1", price="25", fx_rate="0.7"),
    )
    found = await baseline_of(sqlite_db, folder_lake, book.owner, tmp_path / "csv")
    assert set(found.values.portfolio) == {"P0", "P1", "all"}
    assert found.values.date.max().date() == dt.date(2024, 1, 6)
    await assert_same_as_prism(sqlite_db, folder_lake, book.owner, {"P0": euros, "P1": dollars, "all": None}, found)
